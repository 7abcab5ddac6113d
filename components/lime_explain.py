"""The LIME page's cached explanation, keyed by the classifier's spec and LIME's parameters."""

from __future__ import annotations

import streamlit as st

from components.classifier import built_classifier
from components.feedback import heavy_job
from xray.models.classifiers import ClassifierSpec
from xray.techniques.lime_explain import LimeExplanation, explain_lime
from xray.translation import _


@st.cache_data(show_spinner=False, max_entries=16)
def cached_lime(
    spec: ClassifierSpec, text: str, class_index: int | None, num_samples: int, num_features: int, seed: int
) -> LimeExplanation:
    """LIME on the classifier ``spec`` names, with a progress bar while computing."""
    settings = {"class_index": class_index, "num_samples": num_samples, "num_features": num_features, "seed": seed}
    with heavy_job(_("Classifying LIME's perturbed texts")) as progress:
        return explain_lime(built_classifier(spec), text, progress=progress, **settings)
