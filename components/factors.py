"""The Transformer factors page's cached computations: the model's dictionary and the sidebar sentence's codes."""

from __future__ import annotations

import streamlit as st

from components.model import cached_attention
from xray.store.activations import default_cache_root
from xray.techniques.factors import (
    FactorDictionary,
    SentenceFactors,
    dictionary_path,
    load_dictionary,
    sentence_factors,
)


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_dictionary(model_name: str) -> FactorDictionary | None:
    """The dictionary learned for ``model_name`` (shipped for the embedded model), or None where none exists."""
    path = dictionary_path(model_name, default_cache_root())
    return load_dictionary(path) if path.is_file() else None


@st.cache_data(show_spinner=False, max_entries=32)
def cached_sentence_factors(model_name: str, text: str, text_b: str | None) -> SentenceFactors:
    attention = cached_attention(model_name, text, text_b)
    return sentence_factors(cached_dictionary(model_name), attention.tokens, attention.hidden_states)
