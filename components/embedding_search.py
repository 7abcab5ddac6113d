"""The Embedding search page's cached computations: neighbours of a sidebar token or of a stored corpus word,
a word's occurrences in the corpus, and the model's own predictions at the token."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.corpus import StoreKey, cached_index, cached_open_store
from components.model import cached_attention, loaded_model
from xray.models.token_predictions import TokenPredictions, predict_token
from xray.techniques.embedding_search import NeighbourSearch, search_neighbours, stored_states, word_occurrences


@st.cache_data(show_spinner=False, max_entries=32)
def cached_token_search(
    model_name: str, text: str, text_b: str | None, position: int, store: StoreKey, level: int, k: int
) -> NeighbourSearch:
    """Neighbours of token ``position`` of the sidebar text (as the Attention page tokenizes it)."""
    attention = cached_attention(model_name, text, text_b)
    states = attention.hidden_states[:, position]
    return search_neighbours(
        cached_open_store(store), cached_index(store, level), attention.tokens[position], states, k
    )


@st.cache_data(show_spinner=False, max_entries=32)
def cached_word_search(store: StoreKey, row: int, query: str, level: int, k: int) -> NeighbourSearch:
    """Neighbours of stored piece ``row`` (itself left out)."""
    opened = cached_open_store(store)
    index = cached_index(store, level)
    return search_neighbours(opened, index, query, stored_states(opened, row), k, exclude_row=row)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_occurrences(store: StoreKey, word: str) -> pd.DataFrame:
    return word_occurrences(cached_open_store(store), word)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_predictions(model_name: str, text: str, position: int, k: int) -> TokenPredictions:
    return predict_token(loaded_model(model_name), text, position, k)
