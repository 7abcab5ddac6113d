"""Cached access to models and results, keyed by model name and inputs.

Models are shared resources (``st.cache_resource``) and must never be mutated; results are
plain data (``st.cache_data``), recomputed only when the model name or an input changes.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from xray.attention import AttentionResult, compute_attention
from xray.attention_stats import HeadStatistics, attention_rollout, head_statistics
from xray.bertviz_html import head_view_html, model_view_html
from xray.loading import LoadedModel, load_model
from xray.neuron_view import NeuronView, build_neuron_model, neuron_view_html


@st.cache_resource(show_spinner=False, max_entries=3)
def cached_model(name: str) -> LoadedModel:
    return load_model(name)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_attention(model_name: str, text: str, text_b: str | None) -> AttentionResult:
    return compute_attention(cached_model(model_name), text, text_b)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_head_view(model_name: str, text: str, text_b: str | None, layer: int, max_tokens: int) -> str:
    return head_view_html(cached_attention(model_name, text, text_b), layer=layer, max_tokens=max_tokens)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_model_view(model_name: str, text: str, text_b: str | None, layers: tuple[int, ...], max_tokens: int) -> str:
    return model_view_html(cached_attention(model_name, text, text_b), layers=list(layers), max_tokens=max_tokens)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_statistics(model_name: str, text: str, text_b: str | None, block: str) -> HeadStatistics:
    chosen = cached_attention(model_name, text, text_b).blocks[block]
    return head_statistics(chosen.attentions, chosen.key_special_mask)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_rollout(model_name: str, text: str, text_b: str | None) -> np.ndarray:
    return attention_rollout(cached_attention(model_name, text, text_b).main.attentions)


@st.cache_resource(show_spinner=False, max_entries=2)
def cached_neuron_model(model_name: str) -> torch.nn.Module:
    return build_neuron_model(cached_model(model_name))


@st.cache_data(show_spinner=False, max_entries=16)
def cached_neuron_view(model_name: str, text: str, text_b: str | None, layer: int, max_tokens: int) -> NeuronView:
    loaded = cached_model(model_name)
    return neuron_view_html(loaded, cached_neuron_model(model_name), text, text_b, max_tokens=max_tokens, layer=layer)
