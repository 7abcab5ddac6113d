"""The one cached model every page shares, and its run on the sidebar text (attention and hidden states), which
the Attention page draws and the corpus pages search from. Never mutate the model: all sessions and pages read
the same object."""

from __future__ import annotations

import streamlit as st

from xray.models.loading import LoadedModel, load_model
from xray.techniques.attention import AttentionResult, compute_attention


@st.cache_resource(show_spinner=False, max_entries=3)
def cached_model(name: str) -> LoadedModel:
    return load_model(name)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_attention(model_name: str, text: str, text_b: str | None) -> AttentionResult:
    """The model's attention and hidden states on the sidebar text (and its optional second text)."""
    return compute_attention(cached_model(model_name), text, text_b)
