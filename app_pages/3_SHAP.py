"""SHAP: each token's share of the classifier's probability, by shap's Partition explainer."""

from __future__ import annotations

import streamlit as st

from components.classifier import (
    cached_seconds_per_text,
    prediction_metrics,
    probabilities_table,
    start_classifier_page,
)
from components.downloads import chart_with_downloads, download, download_row, html_download
from components.feedback import show_notices, user_errors
from components.navigation import PageInfo
from components.shap_explain import cached_shap
from xray.rendering.charts import signed_bars
from xray.rendering.export import file_stem
from xray.techniques.shap_explain import (
    COMPILE_SECONDS,
    DISTINCT_SHARE,
    check_text,
    estimate_seconds,
    is_compiled,
    shap_text_html,
    standalone_html,
    text_plot_height,
)
from xray.translation import _, number

PAGE = PageInfo(
    title="SHAP",
    icon="🧮",
    caption=(
        "SHAP hides groups of tokens (as [MASK], or “...” where the tokenizer has no mask token) and shares the change "
        "in the class probability between them. shap's Partition explainer splits the text along a hierarchy of its "
        "tokens, so the values are Owen values: Shapley values where groups of neighbouring tokens act together. "
        "They add up: the base value (every token hidden) plus all the values is the probability of the full text."
    ),
    question=(
        "Which tokens made the classifier decide this? Owen values from shap's Partition explainer, which add up "
        "exactly to the predicted probability."
    ),
    uses_layer=False,
)

page = start_classifier_page(PAGE, "shap", controls=1)
max_evals = page.controls[0].slider(
    _("Model evaluations (max_evals)"),
    100,
    3000,
    500,
    step=100,
    key="shap.max_evals",
    bind="query-params",
    help=_(
        "Masked texts shap may ask the classifier about. More evaluations split the token hierarchy further, down "
        "to single tokens; fewer leave groups of tokens sharing one value."
    ),
)

with user_errors(_("checking the text")):
    text = check_text(page.classifier, page.selection.text).text
with user_errors(_("timing the classifier")), st.spinner(_("Timing the classifier…")):
    seconds = cached_seconds_per_text(page.spec, text)
compiled = is_compiled()
timing = {
    "seconds": number(estimate_seconds(seconds, max_evals, compiled=compiled), 0),
    "texts": number(max_evals * DISTINCT_SHARE, 0),
    "milliseconds": number(seconds * 1000, 1),
    "device": page.classifier.loaded.device.type,
}
if compiled:
    estimate = _(
        "Estimated time: about {seconds} s: about {texts} distinct masked texts at {milliseconds} ms each on {device}."
    ).format(**timing)
else:
    estimate = _(
        "Estimated time: about {seconds} s: about {texts} distinct masked texts at {milliseconds} ms each on "
        "{device}, plus about {compile} s to compile shap's code on its first run."
    ).format(**timing, compile=number(COMPILE_SECONDS, 0))
st.caption(estimate)
with user_errors(_("computing SHAP values")):
    explanation = cached_shap(page.spec, page.selection.text, max_evals)
show_notices(explanation.notices)

index = explanation.predicted_class if page.class_choice is None else page.class_choice
names = page.class_names
explained = names[index]
settings = (explained, f"{explanation.max_evals}_evals")
prediction_metrics(names, explanation.output, index)[0].metric(
    _("Base value (all tokens hidden)"), number(explanation.base_values[index], 3)
)
if explanation.additivity_holds:
    st.success(_("Additivity holds: {check}").format(check=explanation.additivity_check(index)), icon="✅")
else:
    st.warning(
        _("Additivity is off: {check} The explainer saw a different text or model output.").format(
            check=explanation.additivity_check(index)
        ),
        icon="⚠️",
    )

st.subheader(_("Tokens for and against “{name}”").format(name=explained))
st.caption(_("Red tokens raise the probability, blue ones lower it. Click a token to show its value."))
st.iframe(shap_text_html(explanation, index), height=text_plot_height(explanation))
labels, values = explanation.strongest(index)
chart = signed_bars(labels, values, _("Strongest tokens for {name}").format(name=explained), _("SHAP value"))
chart_with_downloads(chart, file_stem("shap_strongest_tokens", *settings), "shap.chart")
st.caption(
    _("{evaluations} evaluations ({texts} distinct texts), {seconds} s.").format(
        evaluations=number(explanation.max_evals, 0),
        texts=number(explanation.evaluations, 0),
        seconds=number(explanation.seconds, 1),
    )
)

with st.expander(_("Probabilities and downloads")):
    probabilities_table(names, explanation.output, **{_("base value"): explanation.base_values})
    row = download_row()
    values_csv = explanation.table().to_csv(index=False)
    download(_("Values (CSV)"), values_csv, "shap_values.csv", "text/csv", "shap.csv", row)
    download(_("Explanation (JSON)"), explanation.to_json, "shap_values.json", "application/json", "shap.json", row)
    html_download(
        standalone_html(explanation, index),
        _("Text plot (HTML)"),
        f"{file_stem('shap_text_plot', *settings)}.html",
        "shap.html",
    )
