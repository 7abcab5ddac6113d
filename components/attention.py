"""The Attention page's cached computations: attention, bertviz views, head statistics, rollout, neuron view.

Results are keyed by the model name and the inputs; the model itself comes from :mod:`components.model`.
"""

from __future__ import annotations

import streamlit as st
import torch

from components.model import cached_attention, loaded_model
from xray.rendering.bertviz_html import head_view_html, model_view_html
from xray.rendering.neuron_view import NeuronView, build_neuron_model, neuron_view_html
from xray.techniques.attention import HeadStatistics, Rollout, head_statistics, rollout


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
def cached_rollout(model_name: str, text: str, text_b: str | None) -> Rollout:
    return rollout(cached_attention(model_name, text, text_b))


@st.cache_resource(show_spinner=False, max_entries=2)
def cached_neuron_model(model_name: str) -> torch.nn.Module:
    return build_neuron_model(loaded_model(model_name))


@st.cache_data(show_spinner=False, max_entries=16)
def cached_neuron_view(model_name: str, text: str, text_b: str | None, layer: int, max_tokens: int) -> NeuronView:
    loaded = loaded_model(model_name)
    return neuron_view_html(loaded, cached_neuron_model(model_name), text, text_b, max_tokens=max_tokens, layer=layer)
