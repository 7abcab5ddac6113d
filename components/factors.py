"""The Transformer factors page's cached computations: the model's dictionary, the sidebar sentence's codes, and
each factor's top contexts read from the activation store they were found in."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.corpus import StoreKey, activation_store, cached_builtin, cached_open_store
from components.model import cached_attention
from components.page import value_links
from components.sidebar import Selection
from xray.cache import default_cache_root
from xray.corpora.builtin import BUILTIN_CORPORA
from xray.factors.corpus import factor_summaries, sense_factors
from xray.factors.dictionary import FactorDictionary, TopContexts, find_dictionary
from xray.store.format import StoreError, read_manifest
from xray.store.rows import describe_rows
from xray.techniques.factors import SentenceFactors, sentence_factors
from xray.translation import _


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_dictionary(model_name: str) -> FactorDictionary | None:
    """The dictionary learned for ``model_name`` (shipped for the embedded model), or None where none exists."""
    return find_dictionary(model_name, default_cache_root())


@st.cache_data(show_spinner=False, max_entries=32)
def cached_sentence_factors(model_name: str, text: str, text_b: str | None) -> SentenceFactors:
    attention = cached_attention(model_name, text, text_b)
    return sentence_factors(cached_dictionary(model_name), attention.tokens, attention.hidden_states)


def context_store(selection: Selection, contexts: TopContexts) -> StoreKey | None:
    """The store the top contexts come from: opened if on disk, built (with progress) if its corpus is built in;
    None where it cannot be had, or where the store found orders its rows otherwise than when the contexts were
    found."""
    try:
        key = contexts.store, read_manifest(default_cache_root() / contexts.store).build_seconds
    except StoreError:  # not on disk (yet): rebuilt below where its corpus is built in
        if contexts.corpus not in BUILTIN_CORPORA:
            return None
        key = activation_store(selection, cached_builtin(contexts.corpus))
    return key if key[0] == contexts.store and cached_open_store(key).layout == contexts.layout else None


@st.cache_data(show_spinner=False, max_entries=64)
def cached_top_contexts(model_name: str, store: StoreKey, factor: int, level: int) -> pd.DataFrame:
    """The factor's strongest pieces at ``level``: code, then :func:`describe_rows`' columns."""
    dictionary = cached_dictionary(model_name)
    dictionary.check_factor(factor)
    rows, codes = dictionary.contexts.used(level, factor)
    table = describe_rows(cached_open_store(store), rows)
    table.insert(0, "code", codes.round(4))
    return table


@st.cache_data(show_spinner=False, max_entries=4)
def cached_factor_table(model_name: str, store: StoreKey | None) -> pd.DataFrame:
    """Every factor (see ``FactorDictionary.table``), with a one-line summary from its top contexts where the
    store they come from is at hand."""
    dictionary = cached_dictionary(model_name)
    table = dictionary.table()
    if store is not None:
        summaries = factor_summaries(dictionary, cached_open_store(store))
        table.insert(1, "summary", [summaries[factor] for factor in table["factor"]])
    return table


@st.cache_data(show_spinner=False, max_entries=16)
def cached_sense_factors(model_name: str, store: StoreKey, word: str) -> pd.DataFrame:
    return sense_factors(cached_dictionary(model_name), cached_open_store(store), word)


FACTOR = "factors.factor"


def factor_links(factors: list[int]) -> None:
    """One button per factor; a click shows that factor in the page's factor view (the number input ``FACTOR``)."""
    value_links(
        _("Open one of these factors in the factor view below"), factors, _("factor"), key="factors.open", target=FACTOR
    )
