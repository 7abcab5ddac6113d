"""Links that name a page widget's option by its value, whatever language the page speaks.

A widget drawn with ``bind="query-params"`` and a ``format_func`` writes the option's *label* to the URL (Streamlit
serializes options by their formatted text) and reads only a label back. A translated label would make a link
depend on the language it was copied in, and a link written by the code (the lesson's
``attention.view=Rollout``) would open the default in Turkish. :func:`adopt_linked_option` lets a link name the
option by its value: call it just before drawing the widget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

_ADOPTED = "url_options.adopted"  # key -> the URL value last adopted, so a user's later choice is never undone


def adopt_linked_option(key: str, options: Sequence[Any], format_func: Callable[[Any], str]) -> None:
    """Where the URL's ``key`` is the value of one of ``options`` (as text) but not its label, select that option
    through the session state, once per value, so the widget keyed ``key`` opens on it; a label (what the widget
    itself writes) or anything else is left to the widget."""
    raw = st.query_params.get(key)
    adopted = st.session_state.setdefault(_ADOPTED, {})
    if raw is None or adopted.get(key) == raw:
        return
    for option in options:
        if str(option) == raw and format_func(option) != raw:
            st.session_state[key] = option
            adopted[key] = raw
            return
