"""The models every page shares, and their run on the sidebar text (attention and hidden states), which the
Attention page draws and the corpus pages search from. Never mutate a model: all sessions and pages read the
same object.

Models are kept while their weights fit a memory budget together (``XRAY_MODEL_MEMORY_MB``, default 40% of the
machine's memory): loading one more unloads the least recently used first, and a model too big for the budget
alone is refused before anything is unloaded. In public mode only the models on the allow-list load.
"""

from __future__ import annotations

import streamlit as st

from components.deploy import current_policy, deployment_settings
from xray.deploy import MemoryBoundCache, model_memory_budget
from xray.focus import Word, piece_of_word
from xray.models.loading import LoadedModel, ModelTooLargeError, load_model, weights_bytes
from xray.techniques.attention import AttentionResult, compute_attention
from xray.text import prepare_text
from xray.words import token_spans


def _load(name: str) -> LoadedModel:
    policy = current_policy()
    return load_model(name, max_parameters=policy.max_parameters if policy else None)


_models: MemoryBoundCache[LoadedModel] = MemoryBoundCache(
    model_memory_budget(deployment_settings()), _load, weights_bytes
)


def shared_model(name: str) -> tuple[LoadedModel, list[str]]:
    """The model ``name``, loaded once for every session, and the models unloaded to make room for it.

    Raises ModelLoadError (a ValueError) with a message for the user: in public mode the same short refusal for
    every model off the list or over its budget, whatever the reason."""
    policy = current_policy()
    if policy is not None:
        policy.check_model(name)
    try:
        loaded, unloaded = _models.get(name)
    except ModelTooLargeError:
        if policy is not None:
            raise policy.refusal() from None
        raise
    if policy is not None and loaded.parameters > policy.max_parameters:  # loaded earlier, under another budget
        raise policy.refusal()
    return loaded, unloaded


def loaded_model(name: str) -> LoadedModel:
    """The model ``name`` from the server's memory-bounded model pool (:func:`shared_model`), loaded on first use.
    Not a Streamlit cache: the pool decides what stays in memory."""
    return shared_model(name)[0]


def borrowed_model(name: str) -> LoadedModel:
    """The model ``name`` from the pool where it is loaded already, else loaded for the caller alone and never kept:
    for a page that needs a model's name, revision and sizes but may never run it (the Which units page's
    random-weights control held 90 MB of MiniLM in the pool for a page that only offered to score it). The same
    public-mode refusal as :func:`shared_model`."""
    policy = current_policy()
    if policy is not None:
        policy.check_model(name)
    if name in _models.names():
        return loaded_model(name)
    return _load(name)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_attention(model_name: str, text: str, text_b: str | None) -> AttentionResult:
    """The model's attention and hidden states on the sidebar text (and its optional second text)."""
    return compute_attention(loaded_model(model_name), text, text_b)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_focus_position(model_name: str, text: str, focus: Word) -> int:
    """The position of the focus word's first piece among the tokens the model reads (as :func:`cached_attention`
    gives them). Raises ValueError where the tokenizer cannot map pieces to characters or the input was cut first."""
    loaded = loaded_model(model_name)
    if not loaded.tokenizer.is_fast:
        raise ValueError(f"{model_name} has no fast tokenizer, so its pieces cannot be matched to the focus word.")
    return piece_of_word(token_spans(loaded.tokenizer, prepare_text(text).text, loaded.max_length), focus)
