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
    text = check_text(page.classifier, page.selection.text).text
with user_errors("timing the classifier"), st.spinner("Timing the classifier…"):
    seconds = cached_seconds_per_text(page.spec, text)
compiled = is_compiled()
st.caption(
    f"Estimated time: about {estimate_seconds(seconds, max_evals, compiled=compiled):,.0f} s: about "
    f"{max_evals * DISTINCT_SHARE:,.0f} distinct masked texts at {seconds * 1000:.1f} ms each on "
    f"{page.classifier.loaded.device.type}"
    + ("." if compiled else f", plus about {COMPILE_SECONDS:,.0f} s to compile shap's code on its first run.")
)
with user_errors("computing SHAP values"):
    explanation = cached_shap(page.spec, page.selection.text, max_evals)
show_notices(explanation.notices)

index = explanation.predicted_class if page.class_choice is None else page.class_choice
names = page.class_names
explained = names[index]
settings = (explained, f"{explanation.max_evals}_evals")
prediction_metrics(names, explanation.output, index)[0].metric(
    "Base value (all tokens hidden)", f"{explanation.base_values[index]:.3f}"
)
if explanation.additivity_holds:
    st.success(f"Additivity holds: {explanation.additivity_check(index)}", icon="✅")
else:
    st.warning(
        f"Additivity is off: {explanation.additivity_check(index)} The explainer saw a different text or model output.",
        icon="⚠️",
    )

st.subheader(f"Tokens for and against “{explained}”")
st.caption("Red tokens raise the probability, blue ones lower it. Click a token to show its value.")
st.iframe(shap_text_html(explanation, index), height=text_plot_height(explanation))
labels, values = explanation.strongest(index)
chart = signed_bars(labels, values, f"Strongest tokens for {explained}", "SHAP value")
chart_with_downloads(chart, file_stem("shap_strongest_tokens", *settings), "shap.chart")
st.caption(
    f"{explanation.max_evals:,} evaluations ({explanation.evaluations:,} distinct texts), {explanation.seconds:.1f} s."
)

with st.expander("Probabilities and downloads"):
    probabilities_table(names, explanation.output, **{"base value": explanation.base_values})
    row = download_row()
    download("Values (CSV)", explanation.table().to_csv(index=False), "shap_values.csv", "text/csv", "shap.csv", row)
    download("Explanation (JSON)", explanation.to_json, "shap_values.json", "application/json", "shap.json", row)
    html_download(
        standalone_html(explanation, index),
        "Text plot (HTML)",
        f"{file_stem('shap_text_plot', *settings)}.html",
        "shap.html",
    )
