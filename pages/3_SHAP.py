"""SHAP: each token's share of the classifier's probability, by shap's Partition explainer."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from components.classifier_picker import class_picker, classifier_sidebar
from components.downloads import chart_downloads, download, download_row, html_download
from components.feedback import show_notices, user_errors
from components.loaders import cached_seconds_per_text, cached_shap
from components.page import start_page
from xray.charts import signed_bars
from xray.shap_explain import (
    BFLOAT16_TOLERANCE,
    FLOAT32_TOLERANCE,
    check_text,
    explanation_json,
    shap_text_html,
    standalone_html,
    strongest_tokens,
    text_plot_height,
    values_table,
)

selection = start_page(
    "SHAP",
    "🧮",
    (
        "SHAP hides groups of tokens (as [MASK], or “...” where the tokenizer has no mask token) and shares the change "
        "in the class probability between them. shap's Partition explainer splits the text along a hierarchy of its "
        "tokens, so the values are Owen values: Shapley values where groups of neighbouring tokens act together. "
        "They add up: the base value (every token hidden) plus all the values is the probability of the full text."
    ),
)
choice, classifier = classifier_sidebar(selection)

names = classifier.class_names
controls = st.columns(2)
with controls[0]:
    class_choice = class_picker(names, "shap.class")
max_evals = controls[1].slider(
    "Model evaluations (max_evals)",
    100,
    3000,
    500,
    step=100,
    key="shap.max_evals",
    bind="query-params",
    help="Masked texts shap may ask the classifier about. More evaluations split the token hierarchy further, "
    "down to single tokens; fewer leave groups of tokens sharing one value.",
)

with user_errors("checking the text"):
    text = check_text(classifier, selection.text).text
with user_errors("timing the classifier"), st.spinner("Timing the classifier…"):
    seconds = cached_seconds_per_text(classifier, choice, text)
st.caption(
    f"Estimated time: at most about {seconds * max_evals:,.0f} s for {max_evals:,} evaluations at "
    f"{seconds * 1000:.1f} ms each on {classifier.loaded.device.type}; repeated masked texts run once, usually "
    "about half of them. The first run also compiles shap's code (a few seconds)."
)
with user_errors("computing SHAP values"):
    explanation = cached_shap(classifier, choice, selection.text, max_evals)
show_notices(explanation.notices)

index = explanation.predicted_class if class_choice is None else class_choice
explained = names[index]
stem = "shap_" + re.sub(r"\W+", "_", explained).strip("_")
base, total = explanation.base_values[index], explanation.values[:, index].sum()
summary = st.columns(3)
predicted = explanation.predicted_class
summary[0].metric("Predicted class", f"{names[predicted]} ({explanation.output[predicted]:.0%})")
summary[1].metric("Explained class", f"{explained} ({explanation.output[index]:.0%})")
summary[2].metric("Base value (all tokens hidden)", f"{base:.3f}")

gap = float(explanation.additivity_gap.max())
tolerance = BFLOAT16_TOLERANCE if choice.bf16 else FLOAT32_TOLERANCE
check = (
    f"base value {base:.4f} + sum of SHAP values {total:+.4f} = {base + total:.4f}; the classifier gives "
    f"{explanation.output[index]:.4f} for “{explained}” (largest gap over all classes {gap:.1e}, "
    f"tolerance {tolerance:.0e} in {'bfloat16' if choice.bf16 else 'float32'})."
)
if gap <= tolerance:
    st.success(f"Additivity holds: {check}", icon="✅")
else:
    st.warning(f"Additivity is off: {check} The explainer saw a different text or model output.", icon="⚠️")

st.subheader(f"Tokens for and against “{explained}”")
st.caption("Red tokens raise the probability, blue ones lower it. Click a token to show its value.")
st.iframe(shap_text_html(explanation, index), height=text_plot_height(explanation))
labels, values = strongest_tokens(explanation, index)
chart = signed_bars(labels, values, f"Strongest tokens for {explained}", "SHAP value")
st.altair_chart(chart, width="content")
chart_downloads(chart, stem, "shap.chart")
st.caption(
    f"{explanation.max_evals:,} evaluations ({explanation.evaluations:,} distinct texts), {explanation.seconds:.1f} s."
)

with st.expander("Probabilities and downloads"):
    st.dataframe(
        pd.DataFrame({"class": names, "probability": explanation.output, "base value": explanation.base_values}),
        column_config={"probability": st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=1.0)},
        hide_index=True,
    )
    row = download_row()
    download(
        "Values (CSV)", values_table(explanation).to_csv(index=False), "shap_values.csv", "text/csv", "shap.csv", row
    )
    download(
        "Explanation (JSON)",
        lambda: explanation_json(explanation, classifier.name),
        "shap_values.json",
        "application/json",
        "shap.json",
        row,
    )
    html_download(standalone_html(explanation, index), "Text plot (HTML)", f"{stem}.html", "shap.html")
