"""Links that name a page widget's option by its value, whatever language the page speaks.

A widget drawn with ``bind="query-params"`` and a ``format_func`` writes the option's *label* to the URL (Streamlit
serializes options by their formatted text) and reads only a label back. A translated label would make a link
depend on the language it was copied in, and a link written by the code (the lesson's
``attention.view=Rollout``) would open the default in Turkish. :func:`adopt_linked_option` lets a link name the
option by its value, or by its label in any language (a link copied from the page in Turkish opens the same view in
English): call it just before drawing the widget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from xray.translation import LANGUAGES, current_language, use_language

_ADOPTED = "url_options.adopted"  # key -> the URL value last adopted, so a user's later choice is never undone


def adopt_linked_option(key: str, options: Sequence[Any], format_func: Callable[[Any], str]) -> None:
    """Where the URL's ``key`` names one of ``options`` by its value (as text) or by its label in another language
    than the page's, select that option through the session state, once per URL value, so the widget keyed ``key``
    opens on it; the label in the page's language (what the widget itself writes) or anything else is left to the
    widget."""
    raw = st.query_params.get(key)
    adopted = st.session_state.setdefault(_ADOPTED, {})
    if raw is None or adopted.get(key) == raw:
        return
    for option in options:
        if format_func(option) != raw and raw in {str(option), *_labels(option, format_func)}:
            st.session_state[key] = option
            adopted[key] = raw
            return


def _labels(option: Any, format_func: Callable[[Any], str]) -> set[str]:
    """``option``'s label in every language the app speaks (a link copied from a page in another language)."""
    speaking = current_language()
    try:
        labels = set()
        for language in LANGUAGES:
            use_language(language)
            labels.add(format_func(option))
        return labels
    finally:
        use_language(speaking)
