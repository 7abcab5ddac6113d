"""The one sidebar every page reads: model, layer, input text and an optional second text.

Each widget is bound to a URL query parameter of the same name (so a shared link opens the
same view) and keeps its value across pages for the whole session.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components.deploy import current_policy
from components.feedback import user_errors
from components.model import shared_model
from xray.models.loading import KNOWN_MODELS, LoadedModel

OTHER_MODEL = "Other: Hugging Face id or local folder"
MODEL_CHOICES = (*KNOWN_MODELS, OTHER_MODEL)
EXAMPLES: dict[str, str] = {
    "Coreference": "The animal didn't cross the street because it was too tired.",
    "Word sense (bank)": "She sat on the river bank and read a letter from her bank about the loan.",
    "Winograd schema": "The trophy didn't fit in the suitcase because it was too big.",
    "Subject-verb agreement": "The keys to the old wooden cabinet are on the kitchen table.",
    "Negation": "The film was not good, but the music was not bad at all.",
}
DEFAULT_TEXT = EXAMPLES["Coreference"]
IGNORED_LAYER = "This page explains the classifier's output and does not use the layer; other pages keep it."
# Bound to the URL and kept across pages: the query parameter is the widget key.
SHARED = {"bind": "query-params", "persist_state": "session"}


@dataclass(frozen=True)
class Selection:
    """What the user picked in the sidebar; every page reads it."""

    model_name: str
    model: LoadedModel
    layer: int
    text: str
    text_b: str | None


def model_summary(loaded: LoadedModel) -> str:
    """One line for the sidebar, e.g. ``encoder · 6 layers × 12 heads · width 384 · 22.7M parameters``."""
    head = "no task head" if loaded.task_head == "none" else f"{loaded.task_head} head"
    family = (
        loaded.family
        if loaded.facts.known
        else f"{loaded.family} (inferred: {loaded.model_type} is not in the family table)"
    )
    return (
        f"{family} · {loaded.num_layers} layers × {loaded.num_heads} heads · width {loaded.hidden_size} · "
        f"{loaded.parameters / 1e6:,.1f}M parameters · {head} · "
        f"{loaded.device.type} {str(loaded.dtype).removeprefix('torch.')}"
    )


def _use_example() -> None:
    example = st.session_state.get("example")
    if example:
        st.session_state["text"] = EXAMPLES[example]


def _model_name() -> str:
    """The model picked: in public mode one of the allow-list (no folder, no other id), else any."""
    policy = current_policy()
    choices = policy.allowed if policy is not None else MODEL_CHOICES
    if st.query_params.get("model") not in (None, *choices):
        st.query_params.pop("model")  # a link naming something else (or "Other" in public mode) opens the default
    choice = st.selectbox("Model", choices, key="model", **SHARED)
    if choice != OTHER_MODEL:
        return choice
    name = st.text_input(
        "Model id or folder", key="model_id", placeholder="e.g. bert-base-cased or /path/to/model", **SHARED
    ).strip()
    if not name:
        st.info("Type a Hugging Face model id or a local folder, then press Enter.")
        st.stop()
    return name


def _layer(loaded: LoadedModel, used: bool) -> int:
    top = loaded.num_layers - 1
    if top == 0:
        st.caption("Layer 0 (this model has a single layer).")
        return 0
    requested = st.session_state.get("layer")
    clamped = requested is not None and requested > top
    if clamped:
        st.session_state["layer"] = top
    layer = st.slider(
        "Layer",
        0,
        top,
        key="layer",
        disabled=not used,
        help="0 is the first transformer layer." if used else IGNORED_LAYER,
        **SHARED,
    )
    if not used:
        st.caption(IGNORED_LAYER)
    if clamped:
        st.warning(f"Layer {requested} does not exist in this model ({loaded.num_layers} layers): showing layer {top}.")
    return layer


def sidebar(*, uses_layer: bool = True) -> Selection:
    """Draw the sidebar and return the selection; stops the page with a message when nothing can be shown.

    uses_layer: False on pages that ignore the layer; its slider is then disabled and says so.
    """
    with st.sidebar:
        st.header("Transformer X-Ray")
        name = _model_name()
        with (
            user_errors(f"loading {name}"),
            st.spinner(f"Loading {name}: a few seconds for the embedded model; hub models download first."),
        ):
            loaded, unloaded = shared_model(name)
        if unloaded:
            st.toast(f"Unloaded {', '.join(unloaded)} to make room for {name} in the app's memory budget.")
        st.caption(model_summary(loaded))
        layer = _layer(loaded, uses_layer)
        st.selectbox(
            "Example sentences",
            EXAMPLES,
            index=None,
            key="example",
            placeholder="Pick an example…",
            on_change=_use_example,
        )
        text = st.text_area("Input text", value=DEFAULT_TEXT, key="text", height=100, **SHARED)
        second_label = (
            "Decoder input (optional, e.g. a translation)"
            if loaded.family == "encoder-decoder"
            else "Second sentence (optional, for a sentence pair)"
        )
        text_b = st.text_input(second_label, key="text_b", **SHARED)
    return Selection(name, loaded, layer, text, text_b.strip() or None)
