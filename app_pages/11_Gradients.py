"""Gradients: integrated gradients, gradient × input and the gradient norm of the class probability, per word."""

from __future__ import annotations

import streamlit as st

from components.classifier import prediction_metrics, probabilities_table, start_classifier_page
from components.downloads import chart_with_downloads, download, download_row
from components.feedback import show_notices, user_errors
from components.gradients import cached_gradients
from components.navigation import PageInfo
from xray.rendering.charts import signed_bars
from xray.rendering.export import file_stem
from xray.rendering.highlight import highlighted_text_html
from xray.techniques.gradients import COMPLETENESS_TOLERANCE, DEFAULT_STEPS, SIGNED_METHODS, signed
from xray.text import position_labels
from xray.translation import _, number

PAGE = PageInfo(
    title="Gradients",
    icon="📈",
    caption=(
        "Gradient methods ask the classifier's own derivatives which pieces matter, with captum. Integrated "
        "gradients (Sundararajan et al. 2017) add up the gradient along the path from a blank text (every piece a "
        "mask token) to yours, so the attributions sum to the change in the class probability; gradient × input "
        "takes the gradient at your text only; the gradient norm says how sensitive the class is to each piece, "
        "not in which direction."
    ),
    question=(
        "What do the classifier's gradients say about each word? Integrated gradients, which add up to the change "
        "in probability, beside gradient × input and the gradient norm."
    ),
    uses_layer=False,
)

page = start_classifier_page(PAGE, "gradients", controls=2)
steps = page.controls[0].slider(
    _("Steps"),
    10,
    300,
    DEFAULT_STEPS,
    step=10,
    key="gradients.steps",
    bind="query-params",
    help=_("Points on the path from the blank text to yours. More steps close the completeness gap and take longer."),
)
batch = page.controls[1].number_input(
    _("Internal batch size"),
    1,
    300,
    DEFAULT_STEPS,
    key="gradients.batch",
    bind="query-params",
    help=_("Path points sent through the model at once: larger is faster, smaller needs less memory."),
)

with user_errors(_("computing the gradients")):
    result = cached_gradients(page.spec, page.selection.text, page.class_choice, int(steps), int(batch))
show_notices(result.notices)
if page.spec.bf16:
    st.caption(_("Gradients are taken in float32: the bfloat16 setting applies to SHAP and LIME only."))

names = page.class_names
explained = names[result.class_index]
settings = (explained, f"{result.steps}_steps")
prediction_metrics(names, result.probabilities, result.class_index)[0].metric(
    _("Completeness gap"),
    signed(result.delta, 4),
    help=_(
        "captum's convergence delta: the sum of the integrated gradients minus f(text) − f(blank text). Within "
        "±{tolerance} the attributions add up."
    ).format(tolerance=number(COMPLETENESS_TOLERANCE)),
)
if result.complete:
    st.caption(result.verdict())
else:
    st.warning(result.verdict(), icon="⚠️")

labels = position_labels(result.words)
shown = {method: _(method) for method in result.word_values}  # the methods' names are N_-marked constants
for method, tab in zip(result.word_values, st.tabs(list(shown.values())), strict=True):
    with tab:
        if method in SIGNED_METHODS:
            towards, against = _("towards {name}").format(name=explained), _("against {name}").format(name=explained)
        else:
            towards, against = _("sensitivity of {name}").format(name=explained), None
        st.html(highlighted_text_html(result.text, result.word_spans_scored(method), towards=towards, against=against))
        title = _("{method} for {name}").format(method=shown[method], name=explained)
        chart = signed_bars(labels, result.word_values[method], title, shown[method], towards=towards, against=against)
        chart_with_downloads(chart, file_stem("gradients", method, *settings), f"gradients.chart.{method}")
st.caption(
    _(
        "Integrated gradients: {steps} steps in batches of {batch}, from a blank text (f = {baseline}); all three "
        "methods took {seconds} s on {device}. Word pieces are summed per word. The gradient norm is never negative."
    ).format(
        steps=result.steps,
        batch=result.internal_batch_size,
        baseline=number(result.baseline_probability, 4),
        seconds=number(result.seconds),
        device=page.classifier.loaded.device.type,
    )
)

with st.expander(_("Per piece, probabilities and downloads")):
    pieces = result.table()
    headers = {"position": _("position"), "token": _("token"), "start": _("start"), "end": _("end"), **shown}
    st.dataframe(pieces.rename(columns=headers), hide_index=True, width="stretch")
    probabilities_table(names, result.probabilities)
    stem = file_stem("gradients", *settings)
    row = download_row()
    words_csv = result.word_table().to_csv(index=False)
    download(_("Words (CSV)"), words_csv, f"{stem}_words.csv", "text/csv", "gradients.csv", row)
    pieces_csv = pieces.to_csv(index=False)
    download(_("Pieces (CSV)"), pieces_csv, f"{stem}_pieces.csv", "text/csv", "gradients.pieces", row)
    download(_("Explanation (JSON)"), result.to_json, f"{stem}.json", "application/json", "gradients.json", row)
