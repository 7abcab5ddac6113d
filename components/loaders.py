"""Cached access to models and results, keyed by model name and inputs.

Models are shared resources (``st.cache_resource``) and must never be mutated; results are
plain data (``st.cache_data``), recomputed only when the model name or an input changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
import torch

from xray.attention import AttentionResult, compute_attention
from xray.attention_stats import HeadStatistics, attention_rollout, head_statistics
from xray.batching import Progress
from xray.bertviz_html import head_view_html, model_view_html
from xray.classifiers import Classifier, seconds_per_text
from xray.compare import Comparison, compare_explanations, method_word_scores
from xray.lime_explain import MAX_FEATURES, LimeExplanation, explain_lime, word_count
from xray.loading import LoadedModel, load_model
from xray.neuron_view import NeuronView, build_neuron_model, neuron_view_html

if TYPE_CHECKING:
    from components.classifier_picker import ClassifierChoice
    from xray.shap_explain import ShapExplanation


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


@st.cache_data(show_spinner=False, max_entries=64)
def cached_seconds_per_text(_classifier: Classifier, choice: ClassifierChoice, text: str) -> float:
    """Measured seconds per classifier call on texts as long as ``text``; ``choice`` keys the cache."""
    return seconds_per_text(_classifier, text)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_lime(
    _classifier: Classifier,
    choice: ClassifierChoice,
    text: str,
    class_index: int | None,
    num_samples: int,
    num_features: int,
    seed: int,
) -> LimeExplanation:
    """LIME on ``choice``'s classifier (the choice names its model), with a progress bar while computing."""
    with progress_bar("Classifying LIME's perturbed texts") as progress:
        return explain_lime(
            _classifier,
            text,
            class_index=class_index,
            num_samples=num_samples,
            num_features=num_features,
            seed=seed,
            progress=progress,
        )


@contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """A progress bar for the duration of the block; yields the ``progress(done, total)`` callback that moves it.

    Use it inside a cached function: a cache hit replays the elements a cached function drew,
    and fails on any element drawn on a block created outside the function.
    """
    bar = st.progress(0.0, text=f"{label}…")
    try:
        yield lambda done, total: bar.progress(done / total, text=f"{label}: {done:,} of {total:,}")
    finally:
        bar.empty()


@st.cache_data(show_spinner=False, max_entries=32)
def cached_shap(_classifier: Classifier, choice: ClassifierChoice, text: str, max_evals: int) -> ShapExplanation:
    """SHAP values of ``choice``'s classifier (the choice names its model), with a progress bar while computing."""
    from xray.shap_explain import explain_shap  # shap takes ~2 s to import: only the SHAP page pays for it

    with progress_bar("Classifying SHAP's masked texts") as progress:
        return explain_shap(_classifier, text, max_evals=max_evals, progress=progress)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_comparison(
    _classifier: Classifier,
    choice: ClassifierChoice,
    text: str,
    class_index: int | None,
    max_evals: int,
    num_samples: int,
) -> tuple[Comparison, tuple[str, ...]]:
    """SHAP, LIME (every word, seed 0) and attention compared for ``class_index`` (None: the predicted class);
    returns the comparison and the explainers' notices."""
    shap_explanation = cached_shap(_classifier, choice, text, max_evals)
    index = shap_explanation.predicted_class if class_index is None else class_index
    features = min(MAX_FEATURES, word_count(shap_explanation.text))
    lime_explanation = cached_lime(_classifier, choice, text, index, num_samples, features, 0)
    words, scores = method_word_scores(_classifier, shap_explanation, lime_explanation, index)
    with st.spinner("Removing and keeping each method's top words…"):
        comparison = compare_explanations(_classifier, shap_explanation.text, index, words, scores)
    return comparison, tuple(dict.fromkeys(shap_explanation.notices + lime_explanation.notices))
