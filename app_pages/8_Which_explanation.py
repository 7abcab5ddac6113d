"""Which explanation to trust: SHAP, LIME, gradients and attention compared word by word on one input."""

from __future__ import annotations

import streamlit as st

from components.classifier import start_classifier_page
from components.compare import cached_comparison
from components.downloads import chart_with_downloads, download, download_row
from components.feedback import show_notices, user_errors
from components.navigation import PageInfo
from xray.rendering.charts import agreement_heatmap, faithfulness_curves, word_scores_heatmap
from xray.rendering.export import file_stem
from xray.techniques.compare import RANDOM, method_label
from xray.translation import N_, _, number

PAGE = PageInfo(
    title="Which explanation to trust?",
    label="Which explanation",
    icon="⚖️",
    caption=(
        "SHAP, LIME, integrated gradients, gradient × input and attention each claim to show which words drive the "
        "prediction. Here they are aligned on the same words, checked against each other (do they rank the words "
        "alike?) and against the classifier itself (does removing a method's top words really change the "
        "prediction?)."
    ),
    question=(
        "Do SHAP, LIME, gradients and attention agree, and which of them is faithful to the classifier? Rank "
        "agreement and deletion curves (comprehensiveness, sufficiency) against a random baseline."
    ),
    uses_layer=False,
)

page = start_classifier_page(PAGE, "compare", controls=2, class_label=N_("Class"))
drop = _("probability drop")  # the curves' y axis
names = page.class_names
class_index = page.class_choice
max_evals = page.controls[0].slider(
    _("SHAP evaluations"), 100, 3000, 500, step=100, key="compare.shap_evals", bind="query-params"
)
num_samples = page.controls[1].slider(
    _("LIME samples"), 500, 10_000, 2000, step=500, key="compare.lime_samples", bind="query-params"
)
with user_errors(_("comparing the explanations")):
    comparison = cached_comparison(page.spec, page.selection.text, class_index, max_evals, num_samples)
show_notices(comparison.notices)
explained = names[comparison.class_index]
settings = (explained, f"shap_{max_evals}_evals", f"lime_{num_samples}_samples")
st.subheader(
    _("Words for and against “{name}” (p = {probability})").format(
        name=explained, probability=number(comparison.probability)
    )
)
scores_chart = word_scores_heatmap(comparison.words, comparison.scores)
chart_with_downloads(scores_chart, file_stem("word_scores", *settings), "compare.scores_chart")
st.caption(
    _("Red words push towards the class, blue against it. Attention is never negative: it cannot say 'against'.")
)

st.subheader(_("Do the methods agree?"))
agreement = agreement_heatmap(list(comparison.scores), comparison.agreement)
chart_with_downloads(agreement, file_stem("rank_agreement", *settings), "compare.agreement_chart")
st.caption(
    _(
        "1 means two methods rank the words identically, 0 unrelated, −1 reversed. An empty cell: one method gave "
        "every word the same score."
    )
)

st.subheader(_("Are they faithful to the classifier?"))
curves = st.columns(2)
comprehensive = faithfulness_curves(
    comparison.fractions, comparison.comprehensiveness, _("Remove the top words"), drop, dashed=RANDOM
)
sufficient = faithfulness_curves(
    comparison.fractions, comparison.sufficiency, _("Keep only the top words"), drop, dashed=RANDOM
)
with curves[0]:
    chart_with_downloads(comprehensive, file_stem("comprehensiveness", *settings), "compare.comprehensiveness_chart")
with curves[1]:
    chart_with_downloads(sufficient, file_stem("sufficiency", *settings), "compare.sufficiency_chart")
aopc = comparison.aopc_table()
aopc = aopc.assign(method=aopc["method"].map(method_label)).rename(
    columns={
        "method": _("method"),
        "comprehensiveness AOPC (higher is better)": _("comprehensiveness AOPC (higher is better)"),
        "sufficiency AOPC (lower is better)": _("sufficiency AOPC (lower is better)"),
    }
)
st.dataframe(
    aopc,
    hide_index=True,
    column_config={column: st.column_config.NumberColumn(format="%.4f") for column in aopc.columns[1:]},
)
reading = _(
    "**How to read this.** Removing the words a faithful method ranks highest should make the probability of "
    "*{name}* fall a lot (left: higher curves are better), and keeping only those words should leave it almost "
    "unchanged (right: lower curves are better). A method whose curves are no better than the dashed random order "
    "explains this prediction no better than chance."
).format(name=explained)
caution = _("Removing words makes texts the classifier never saw, so treat small differences with care.")
st.markdown(f"{reading} {comparison.verdict()} {caution}")

row = download_row()
download(
    _("Word scores (CSV)"), comparison.table().to_csv(index=False), "word_scores.csv", "text/csv", "compare.csv", row
)
download(_("Comparison (JSON)"), comparison.to_json, "comparison.json", "application/json", "compare.json", row)
