"""LIME: which words of the text push the classifier towards a class, by a local linear surrogate."""

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
from components.lime_explain import cached_lime
from components.navigation import PageInfo
from xray.rendering.charts import signed_bars
from xray.rendering.export import file_stem
from xray.rendering.highlight import highlighted_text_html
from xray.techniques.lime_explain import MAX_SEED, expected_distinct_texts
from xray.text import prepare_text
from xray.translation import _, number

PAGE = PageInfo(
    title="LIME",
    icon="🍋",
    caption=(
        "LIME (Ribeiro et al. 2016) deletes random sets of words from the text, asks the classifier about each "
        "shortened text, and fits a weighted linear model on which words were kept. A word's weight is how much "
        "keeping it raises the class probability, near this text; the fit (R²) says whether a linear model over "
        "words can describe the classifier here at all."
    ),
    question=(
        "Which words would a simple linear model of the classifier, fitted around this text, point to, and how well "
        "does that linear model fit?"
    ),
    uses_layer=False,
)

page = start_classifier_page(PAGE, "lime", controls=3)
names = page.class_names
class_index = page.class_choice
num_samples = page.controls[0].slider(
    _("Samples"),
    500,
    10_000,
    5_000,
    step=500,
    key="lime.samples",
    bind="query-params",
    help=_("Perturbed texts the classifier scores. More samples give steadier weights and take longer."),
)
num_features = page.controls[1].slider(
    _("Words in the explanation"),
    1,
    30,
    10,
    key="lime.features",
    bind="query-params",
    help=_("Up to 6, lime picks words by forward selection; above, by the weights of a model on all words."),
)
seed = page.controls[2].number_input(
    _("Seed"),
    0,
    MAX_SEED,
    0,
    key="lime.seed",
    bind="query-params",
    help=_("The same seed draws the same perturbed texts, so the weights repeat exactly."),
)

with user_errors(_("checking the text")):
    text = prepare_text(page.selection.text).text
with user_errors(_("timing the classifier")), st.spinner(_("Timing the classifier…")):
    seconds = cached_seconds_per_text(page.spec, text)
distinct = expected_distinct_texts(text, num_samples)
st.caption(
    _(
        "Estimated time: at most about {seconds} s: {samples} samples hold about {texts} distinct texts (repeats are "
        "classified once), at {milliseconds} ms each on {device} for a text this long; most are shorter."
    ).format(
        seconds=number(seconds * distinct, 0),
        samples=number(num_samples, 0),
        texts=number(distinct, 0),
        milliseconds=number(seconds * 1000, 1),
        device=page.classifier.loaded.device.type,
    )
)
with user_errors(_("running LIME")):
    result = cached_lime(page.spec, page.selection.text, class_index, num_samples, num_features, int(seed))
show_notices(result.notices)

explained = names[result.class_index]
settings = (explained, f"{result.num_samples}_samples", f"seed_{result.seed}")
stem = file_stem("lime", *settings)
prediction_metrics(names, result.probabilities, result.class_index)[0].metric(
    _("Surrogate fit (weighted R²)"), number(result.score)
)
if result.poor_fit:
    st.warning(result.fit_summary(), icon="⚠️")
else:
    st.caption(result.fit_summary())

st.subheader(_("Words for and against “{name}”").format(name=explained))
towards, against = _("towards {name}").format(name=explained), _("against {name}").format(name=explained)
st.html(highlighted_text_html(result.text, result.spans, towards=towards, against=against))
title = _("LIME weights for {name}").format(name=explained)
chart = signed_bars(result.words, result.weights, title, _("weight"), towards=towards, against=against)
chart_with_downloads(chart, file_stem("lime_weights", *settings), "lime.chart")
st.caption(
    _("{samples} samples ({texts} distinct texts), seed {seed}, {seconds} s.").format(
        samples=number(result.num_samples, 0),
        texts=number(result.distinct_texts, 0),
        seed=result.seed,
        seconds=number(result.seconds, 1),
    )
)

with st.expander(_("Probabilities and downloads")):
    probabilities_table(names, result.probabilities)
    row = download_row()
    download(_("Weights (CSV)"), result.table().to_csv(index=False), f"{stem}.csv", "text/csv", "lime.csv", row)
    download(_("Explanation (JSON)"), result.to_json, f"{stem}.json", "application/json", "lime.json", row)
    html_download(result.html, _("lime's own page (HTML)"), f"{stem}.html", "lime.html")
    st.caption(_("lime's page needs no network: its JavaScript (about 1.2 MB) is inside the file."))
