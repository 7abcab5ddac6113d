"""The classifier the SHAP, LIME and comparison pages explain, picked in the sidebar under the shared controls.

The choice is a small hashable :class:`ClassifierChoice`, so cached results can be keyed by it;
:func:`cached_classifier` turns it into a live classifier once per session-wide cache.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components.feedback import user_errors
from components.loaders import cached_model
from components.sidebar import Selection
from xray.batching import InferenceSettings, bf16_is_fast
from xray.classifiers import (
    Classifier,
    EmbeddingHeadClassifier,
    SequenceClassifier,
    ZeroShotClassifier,
    parse_class_descriptions,
    topic_classifier,
)
from xray.loading import EMBEDDED_MODEL

KINDS = {
    "topic": "BBC News topics (embedded, offline)",
    "zero-shot": "Zero-shot from class descriptions",
    "model": "The sidebar model's classification head",
}
DEFAULT_DESCRIPTIONS = (
    "business and finance\nentertainment and film\npolitics and government\nsport\nscience and technology"
)
SHARED = {"bind": "query-params", "persist_state": "session"}


@dataclass(frozen=True)
class ClassifierChoice:
    """kind: a key of KINDS; model_name: the encoder or classifier model; descriptions: zero-shot classes."""

    kind: str
    model_name: str
    descriptions: tuple[str, ...] = ()
    bf16: bool = False


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_classifier(choice: ClassifierChoice) -> Classifier:
    settings = InferenceSettings(bf16=choice.bf16)
    loaded = cached_model(choice.model_name)
    if choice.kind == "topic":
        return topic_classifier(loaded, settings)
    if choice.kind == "zero-shot":
        return ZeroShotClassifier(f"zero-shot on {choice.model_name}", loaded, choice.descriptions, settings)
    return SequenceClassifier(choice.model_name, loaded, settings)


def classifier_sidebar(selection: Selection) -> tuple[ClassifierChoice, Classifier]:
    """Draw the classifier controls in the sidebar; returns the choice and the ready classifier."""
    with st.sidebar:
        st.divider()
        default = "model" if selection.model.has_classification_head else "topic"
        kind = st.radio(
            "Classifier",
            list(KINDS),
            index=list(KINDS).index(default),
            format_func=KINDS.get,
            key="classifier",
            **SHARED,
        )
        descriptions: tuple[str, ...] = ()
        model_name = selection.model_name
        if kind == "topic":
            model_name = EMBEDDED_MODEL
        elif kind == "zero-shot":
            raw = st.text_area("Classes, one description per line", DEFAULT_DESCRIPTIONS, key="classes", **SHARED)
            st.caption(
                "A weak baseline: each class is the description whose embedding is closest to the text's "
                f"embedding on {selection.model_name}."
            )
            with user_errors("reading the class descriptions"):
                descriptions = parse_class_descriptions(raw)
        fast = bf16_is_fast(selection.model.device)
        bf16 = st.toggle(
            "Fast bfloat16 inference",
            value=fast,
            key="bf16",
            disabled=not fast,
            **SHARED,
            help="Runs the classifier under bfloat16 autocast: about twice as fast on CPUs with AVX-512 BF16 or "
            "AMX, but probabilities move slightly (bench/explainers_lime.py measures by how much). Switch it off "
            "for exact float32 results."
            if fast
            else "This machine has no fast bfloat16 support; the classifier runs in float32.",
        )
    choice = ClassifierChoice(kind, model_name, descriptions, bool(bf16 and fast))
    with user_errors("preparing the classifier"), st.spinner("Preparing the classifier…"):
        classifier = cached_classifier(choice)
    if isinstance(classifier, EmbeddingHeadClassifier):
        accuracy = classifier.head.metadata["held_out_accuracy"]
        st.sidebar.caption(
            f"MiniLM sentence embeddings + a linear head trained on BBC News; held-out accuracy {accuracy:.3f}. "
            "Reproduce it with `python -m xray train-head`."
        )
    return choice, classifier


def class_picker(class_names: tuple[str, ...], key: str, label: str = "Class to explain") -> int | None:
    """A class selectbox bound to the URL under ``key``; None (the default) means the predicted class."""
    return st.selectbox(
        label,
        [None, *range(len(class_names))],
        format_func=lambda index: "Predicted class" if index is None else class_names[index],
        key=key,
        bind="query-params",
    )
