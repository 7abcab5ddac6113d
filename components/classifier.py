"""The classifier the SHAP, LIME and comparison pages explain: picked in the sidebar, cached by its spec,
and one page opening for the three pages (title, sidebar, classifier, and a word when the text is far
from the classifier's classes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.feedback import user_errors
from components.link_state import link_query, linked
from components.model import loaded_model
from components.navigation import PageInfo
from components.page import start_page
from components.sidebar import Selection, selection_query, use_text
from xray.models.batching import bf16_is_fast
from xray.models.classifiers import (
    CLASSIFIER_KINDS,
    Classifier,
    ClassifierSpec,
    Prediction,
    build_classifier,
    default_kind,
    predict,
    seconds_per_text,
)
from xray.translation import N_, _, percent

CLASS_TO_EXPLAIN = N_("Class to explain")
DEFAULT_DESCRIPTIONS = (
    "business and finance\nentertainment and film\npolitics and government\nsport\nscience and technology"
)


@dataclass(frozen=True)
class ClassifierPage:
    """What a classifier page works with: the sidebar selection, the classifier's spec (a cache key), the ready
    classifier, the class picked to explain (None: the predicted class) and the row's other control columns."""

    selection: Selection
    spec: ClassifierSpec
    classifier: Classifier
    class_choice: int | None
    controls: list[DeltaGenerator]

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.classifier.class_names


def built_classifier(spec: ClassifierSpec) -> Classifier:
    """The classifier ``spec`` names, on the shared model. Built on every call (a few milliseconds) rather than
    cached, so that no cache keeps a model the memory-bounded model cache has unloaded."""
    return build_classifier(spec, loaded_model(spec.model_name))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_prediction(spec: ClassifierSpec, text: str) -> Prediction:
    return predict(built_classifier(spec), text)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_seconds_per_text(spec: ClassifierSpec, text: str) -> float:
    """Measured seconds per classifier call on texts as long as ``text``."""
    return seconds_per_text(built_classifier(spec), text)


def _spec(selection: Selection) -> ClassifierSpec:
    """Draw the classifier controls in the sidebar; returns the chosen spec."""
    with st.sidebar:
        st.divider()
        kinds = list(CLASSIFIER_KINDS)
        default = default_kind(selection.model)
        kind = linked(
            st.radio,
            _("Classifier"),
            key="classifier",
            default=default,
            valid=kinds,
            options=kinds,
            format_func=lambda kind: _(CLASSIFIER_KINDS[kind]),
        )
        descriptions = ""
        if kind == "zero-shot":
            descriptions = linked(
                st.text_area, _("Classes, one description per line"), key="classes", default=DEFAULT_DESCRIPTIONS
            )
        fast = bf16_is_fast(selection.model.device)
        bf16 = linked(
            st.toggle,
            _("Fast bfloat16 inference"),
            key="bf16",
            default=fast,
            disabled=not fast,
            help=_(
                "Runs the classifier under bfloat16 autocast: about twice as fast on CPUs with AVX-512 BF16 or "
                "AMX, but probabilities move slightly (bench/explainers_lime.py measures by how much). Switch it "
                "off for exact float32 results."
            )
            if fast
            else _("This machine has no fast bfloat16 support; the classifier runs in float32."),
        )
    with user_errors(_("reading the classifier settings")):
        return ClassifierSpec.choose(kind, selection.model_name, descriptions, bool(bf16 and fast))


def _far_from_classes(prediction: Prediction, classifier: Classifier, key: str) -> None:
    """Warn when no class is likely, with a one-click in-domain example (button ``key``) where the classifier
    has one."""
    if not prediction.unsure:
        return
    st.warning(
        _(
            "The classifier is unsure about this text: its most likely class is {summary}, so the text is far from "
            "the classes it knows and the explanations below say little. Try a text from its domain."
        ).format(summary=prediction.summary()),
        icon="⚠️",
    )
    if classifier.example:
        st.button(
            _("Use an in-domain example"),
            key=key,
            on_click=use_text,
            args=(classifier.example,),
            help=classifier.example,
        )


def sidebar_classifier(selection: Selection) -> tuple[ClassifierSpec, Classifier]:
    """The classifier controls in the sidebar, under the sidebar's ``selection``, and the classifier they choose
    (its description under them)."""
    spec = _spec(selection)
    with user_errors(_("preparing the classifier")), st.spinner(_("Preparing the classifier…")):
        classifier = built_classifier(spec)
    st.sidebar.caption(classifier.description)
    return spec, classifier


def classifier_query(selection: Selection, spec: ClassifierSpec, text: str) -> dict[str, str]:
    """The query parameters of a link that opens a classifier page on ``text`` with this sidebar and classifier."""
    sidebar = {key: shown for key, shown in selection_query(selection).items() if key != "focus"}  # the old text's
    return {
        **sidebar,
        **link_query(
            {
                "text": text,
                "classifier": spec.kind,
                "classes": "\n".join(spec.descriptions) or None,
                "bf16": spec.bf16,
            }
        ),
    }


def start_classifier_page(
    info: PageInfo, prefix: str, *, controls: int, class_label: str = CLASS_TO_EXPLAIN
) -> ClassifierPage:
    """The opening of SHAP, LIME and the comparison: the page opening, the classifier in the sidebar, a warning
    when the sidebar text is far from the classifier's classes, and a row of controls that starts with the class
    picker followed by ``controls`` empty columns for the page's own. The page's widget keys start with
    ``prefix`` (the class picker, bound to the URL, is ``<prefix>.class``)."""
    selection = start_page(info)
    spec, classifier = sidebar_classifier(selection)
    with user_errors(_("classifying the text")):
        _far_from_classes(cached_prediction(spec, selection.text), classifier, f"{prefix}.example")
    row = st.columns(controls + 1)
    with row[0]:
        class_choice = class_picker(classifier.class_names, f"{prefix}.class", class_label)
    return ClassifierPage(selection, spec, classifier, class_choice, row[1:])


def class_picker(class_names: tuple[str, ...], key: str, label: str = CLASS_TO_EXPLAIN) -> int | None:
    """A class selectbox bound to the URL under ``key``; None (the default) means the predicted class. label: an
    English message (marked with ``N_``), translated here."""
    return st.selectbox(
        _(label),
        [None, *range(len(class_names))],
        format_func=lambda index: _("Predicted class") if index is None else class_names[index],
        key=key,
        bind="query-params",
    )


def prediction_metrics(class_names: tuple[str, ...], probabilities: np.ndarray, explained: int) -> list[DeltaGenerator]:
    """Metrics of the predicted and the explained class side by side; returns the row's remaining columns."""
    columns = st.columns(3)
    predicted = int(np.argmax(probabilities))
    columns[0].metric(_("Predicted class"), f"{class_names[predicted]} ({percent(probabilities[predicted])})")
    columns[1].metric(_("Explained class"), f"{class_names[explained]} ({percent(probabilities[explained])})")
    return columns[2:]


def probabilities_table(class_names: tuple[str, ...], probabilities: np.ndarray, **extra: np.ndarray) -> None:
    """Every class's probability as bars, with ``extra`` columns (e.g. SHAP's base values)."""
    bars = st.column_config.ProgressColumn(_("probability"), format="%.3f", min_value=0.0, max_value=1.0)
    st.dataframe(
        pd.DataFrame({"class": class_names, "probability": probabilities, **extra}),
        column_config={"class": st.column_config.TextColumn(_("class")), "probability": bars},
        hide_index=True,
    )
