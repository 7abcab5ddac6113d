"""The Projections page's cached computations: the projection, the cluster suggestion, the separation of the
labels at every level, and the classifier's prediction for each sampled text. The projection and the cluster
suggestion are also kept on disk under the store's folder, so a new session or a restarted server reads them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from components.classifier import built_classifier
from components.corpus import StoreKey, cached_open_store
from components.feedback import heavy_job
from components.model import cached_attention
from xray.models.classifiers import ClassifierSpec
from xray.techniques.projections import (
    Method,
    Projection,
    Unit,
    build_projection,
    pooled_vector,
    separation_by_level,
    stored_suggestion,
)
from xray.translation import _


def sentence_vector(model_name: str, text: str, level: int) -> np.ndarray:
    """(hidden,) the sidebar text's mean word-piece vector at ``level``, pooled as the store pools its texts."""
    attention = cached_attention(model_name, text, None)
    return pooled_vector(attention.hidden_states, attention.main.key_special_mask, level)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_projection(
    store: StoreKey,
    level: int,
    unit: Unit,
    method: Method,
    rows: tuple[int, ...],
    clusters: int,
    dimensions: int,
    query: tuple[str, str] | None,
) -> Projection:
    """query: (model name, sidebar text) to place the text's pooled vector among text-level points, or None."""
    vector = sentence_vector(*query, level) if query else None
    return build_projection(
        cached_open_store(store), level, unit, method, np.array(rows), clusters, dimensions=dimensions, query=vector
    )


@st.cache_data(show_spinner=False, max_entries=16)
def cached_cluster_suggestion(store: StoreKey, level: int, unit: Unit, rows: tuple[int, ...]) -> pd.DataFrame:
    return stored_suggestion(cached_open_store(store), level, unit, np.array(rows))


@st.cache_data(show_spinner=False, max_entries=16)
def cached_separation(store: StoreKey, unit: Unit, rows: tuple[int, ...], labels: tuple[str, ...]) -> pd.DataFrame:
    return separation_by_level(cached_open_store(store), np.array(rows), list(labels), unit)


@st.cache_data(show_spinner=False, max_entries=8)
def cached_predicted_classes(spec: ClassifierSpec, texts: tuple[str, ...]) -> list[str]:
    """The classifier's most likely class for each text."""
    classifier = built_classifier(spec)
    with heavy_job(_("Classifying the sampled texts")) as progress:
        probabilities = classifier.predict_proba(list(texts), progress)
    return [classifier.class_names[index] for index in probabilities.argmax(axis=1)]
