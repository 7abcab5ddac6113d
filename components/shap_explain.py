"""The SHAP page's cached explanation, keyed by the classifier's spec, the text and the evaluation budget."""

from __future__ import annotations

import streamlit as st

from components.classifier import built_classifier
from components.feedback import heavy_job
from xray.models.classifiers import ClassifierSpec
from xray.techniques.shap_explain import ShapExplanation, explain_shap
from xray.translation import _


@st.cache_data(show_spinner=False, max_entries=32)
def cached_shap(spec: ClassifierSpec, text: str, max_evals: int) -> ShapExplanation:
    """SHAP values of the classifier ``spec`` names, with a progress bar while computing."""
    with heavy_job(_("Classifying SHAP's masked texts")) as progress:
        return explain_shap(built_classifier(spec), text, max_evals=max_evals, progress=progress)
