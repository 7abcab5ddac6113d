"""The Gradients page's cached explanation, keyed by the classifier's spec, the text, the class and the steps."""

from __future__ import annotations

import streamlit as st

from components.classifier import built_classifier
from components.feedback import heavy_job
from xray.models.classifiers import ClassifierSpec
from xray.techniques.gradients import GradientExplanation, explain_gradients
from xray.translation import _


@st.cache_data(show_spinner=False, max_entries=32)
def cached_gradients(
    spec: ClassifierSpec, text: str, class_index: int | None, steps: int, internal_batch_size: int
) -> GradientExplanation:
    """Integrated gradients, gradient × input and the gradient norm on the classifier ``spec`` names."""
    with heavy_job(_("Integrating the gradients")):
        return explain_gradients(
            built_classifier(spec), text, class_index=class_index, steps=steps, internal_batch_size=internal_batch_size
        )
