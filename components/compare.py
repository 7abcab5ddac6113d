"""The comparison page's cached pipeline, keyed by the classifier's spec and the explainers' budgets."""

from __future__ import annotations

import streamlit as st

from components.classifier import built_classifier
from components.feedback import heavy_job
from xray.models.classifiers import ClassifierSpec
from xray.techniques.compare import ExplainerComparison, explain_and_compare
from xray.translation import _


@st.cache_data(show_spinner=False, max_entries=16)
def cached_comparison(
    spec: ClassifierSpec, text: str, class_index: int | None, max_evals: int, num_samples: int
) -> ExplainerComparison:
    """SHAP, LIME, gradients and attention compared on the classifier ``spec`` names, with a progress bar while
    computing."""
    budgets = {"class_index": class_index, "max_evals": max_evals, "num_samples": num_samples}
    job = _("Explaining with SHAP, then LIME and the gradients, then removing each method's top words")
    with heavy_job(job) as progress:
        return explain_and_compare(built_classifier(spec), text, progress=progress, **budgets)
