"""Which explanation to trust: SHAP, LIME and attention compared word by word on one input."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.classifier_picker import class_picker, classifier_sidebar
from components.downloads import chart_downloads, download, download_row
from components.feedback import show_notices, user_errors
from components.loaders import cached_comparison
from components.page import start_page
from xray.charts import agreement_heatmap, faithfulness_curves, word_scores_heatmap
from xray.compare import RANDOM

selection = start_page(
    "Which explanation to trust?",
    "⚖️",
    (
        "SHAP, LIME and attention each claim to show which words drive the prediction. Here they are aligned on the "
        "same words, checked against each other (do they rank the words alike?) and against the classifier itself "
        "(does removing a method's top words really change the prediction?)."
    ),
)
choice, classifier = classifier_sidebar(selection)
names = classifier.class_names
controls = st.columns(3)
with controls[0]:
    class_index = class_picker(names, "compare.class", "Class")
max_evals = controls[1].slider(
    "SHAP evaluations", 100, 3000, 500, step=100, key="compare.shap_evals", bind="query-params"
)
num_samples = controls[2].slider(
    "LIME samples", 500, 10_000, 2000, step=500, key="compare.lime_samples", bind="query-params"
)
with user_errors("comparing the explanations"):
    comparison, notices = cached_comparison(classifier, choice, selection.text, class_index, max_evals, num_samples)
show_notices(notices)
explained = names[comparison.class_index]
st.subheader(f"Words for and against “{explained}” (p = {comparison.probability:.2f})")
scores_chart = word_scores_heatmap(comparison.words, comparison.scores)
st.altair_chart(scores_chart, width="content")
chart_downloads(scores_chart, "word_scores", "compare.scores_chart")
st.caption("Red words push towards the class, blue against it. Attention is never negative: it cannot say 'against'.")

st.subheader("Do the methods agree?")
agreement = agreement_heatmap(list(comparison.scores), comparison.agreement)
st.altair_chart(agreement, width="content")
chart_downloads(agreement, "rank_agreement", "compare.agreement_chart")
st.caption(
    "1 means two methods rank the words identically, 0 unrelated, −1 reversed. An empty cell: one method gave every "
    "word the same score."
)

st.subheader("Are they faithful to the classifier?")
curves = st.columns(2)
comprehensive = faithfulness_curves(
    comparison.fractions, comparison.comprehensiveness, "Remove the top words", "probability drop", dashed=RANDOM
)
sufficient = faithfulness_curves(
    comparison.fractions, comparison.sufficiency, "Keep only the top words", "probability drop", dashed=RANDOM
)
with curves[0]:
    st.altair_chart(comprehensive, width="content")
    chart_downloads(comprehensive, "comprehensiveness", "compare.comprehensiveness_chart")
with curves[1]:
    st.altair_chart(sufficient, width="content")
    chart_downloads(sufficient, "sufficiency", "compare.sufficiency_chart")
aopc_by_method = comparison.aopc()
aopc = pd.DataFrame(
    [
        {
            "method": method,
            "comprehensiveness AOPC (higher is better)": values[0],
            "sufficiency AOPC (lower is better)": values[1],
        }
        for method, values in aopc_by_method.items()
    ]
)
st.dataframe(
    aopc,
    hide_index=True,
    column_config={column: st.column_config.NumberColumn(format="%.4f") for column in aopc.columns[1:]},
)
best = comparison.most_comprehensive()
verdict = f"Here **{best}** has the highest comprehensiveness" + (
    "." if aopc_by_method[best][0] > aopc_by_method[RANDOM][0] else ", yet no method beats the random order."
)
st.markdown(
    "**How to read this.** Removing the words a faithful method ranks highest should make the probability of "
    f"*{explained}* fall a lot (left: higher curves are better), and keeping only those words should leave it "
    "almost unchanged (right: lower curves are better). A method whose curves are no better than the dashed "
    f"random order explains this prediction no better than chance. {verdict} Removing words makes texts the "
    "classifier never saw, so treat small differences with care."
)

table = pd.DataFrame({"word": comparison.words, **comparison.scores})
row = download_row()
download("Word scores (CSV)", table.to_csv(index=False), "word_scores.csv", "text/csv", "compare.csv", row)
download(
    "Comparison (JSON)",
    lambda: comparison.to_json(explained),
    "comparison.json",
    "application/json",
    "compare.json",
    row,
)
