"""Settings every page shares (the sidebar, the corpus, the classifier, the lesson), kept in the session and
written to the URL on every run, so a shared link, a refresh and any number of page clicks show the same view.

Streamlit's own ``bind="query-params"`` loses a link's values on the first click in the navigation after the
link is opened (the page comes back with the defaults and the URL stripped; the second click restores them).
So these settings are not bound: the session holds their values (:data:`_VALUES`) and every run writes them back
to the URL. A run adopts the URL's values only when the URL says something this session did not write: a link
opened or reloaded, or the browser's back button; a URL with none of them (a click in the navigation) keeps the
session's. A link replaces every linked setting: what it leaves out goes back to its default.

Each widget is drawn by :func:`linked`, which sets its value from the session before drawing it (never by a
``value``/``index`` argument) and remembers a change the user makes in its ``on_change``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import streamlit as st

_VALUES = "linked.values"  # key -> value, only values other than the default
_SEEN = "linked.seen"  # the URL's linked values at the last run's start, and as that run left them
_PARSERS: dict[str, Callable[[str], Any]] = {
    "layer": int,
    "focus": int,
    "lesson": int,
    "bf16": lambda value: value.lower() in {"true", "1"},
}
LINKED = (
    "model",
    "model_id",
    "layer",
    "text",
    "text_b",
    "focus",
    "lesson",
    "corpus",
    "classifier",
    "classes",
    "bf16",
    "lang",
)
"""The settings linked to the URL, by their query parameter (which is also the widget key)."""


def _from_url(key: str, value: str) -> Any:
    try:
        return _PARSERS.get(key, str)(value)
    except ValueError:
        return None  # a hand-edited link with, e.g., layer=abc: the default


def _url_values() -> dict[str, str]:
    return {key: st.query_params[key] for key in LINKED if key in st.query_params}


def url_text(shown: Any) -> str:
    """How the URL writes a linked setting's value: ``true``/``false`` for a flag, else its ``str``."""
    return str(shown).lower() if isinstance(shown, bool) else str(shown)


def link_query(values: Mapping[str, Any]) -> dict[str, str]:
    """The query parameters of a link that opens the linked settings ``values`` (key -> value; None leaves a key
    out), written as every run writes them to the URL, for ``st.page_link(query_params=...)``. A link replaces
    every linked setting, so what it leaves out opens at its default, but for the session's language, which it
    keeps unless it names one. ValueError for a key that is not linked."""
    unknown = [key for key in values if key not in LINKED]
    if unknown:
        raise ValueError(
            f"Not linked settings: {', '.join(map(repr, unknown))}; the linked ones are {', '.join(LINKED)}."
        )
    values = {"lang": value("lang"), **values}  # a link inside the app keeps the language
    return {key: url_text(shown) for key, shown in values.items() if shown is not None}


def follow_link() -> None:
    """Adopt the URL's settings where they are a link this session did not write; call once at the start of
    every run, before any linked widget."""
    url = _url_values()
    seen = st.session_state.get(_SEEN, {})
    if url and url not in seen.values():
        parsed = {key: _from_url(key, value) for key, value in url.items()}
        st.session_state[_VALUES] = {key: value for key, value in parsed.items() if value is not None}
    st.session_state.setdefault(_VALUES, {})
    st.session_state[_SEEN] = {"start": url, "written": url}


def value(key: str, default: Any = None) -> Any:
    """The session's value of linked setting ``key`` (``default`` where it has none)."""
    return st.session_state.get(_VALUES, {}).get(key, default)


def set_value(key: str, new: Any) -> None:
    """Change linked setting ``key`` (e.g. from a button's callback); the next run shows and links it."""
    st.session_state.setdefault(_VALUES, {})[key] = new
    st.session_state.pop(key, None)


def forget(key: str) -> None:
    """Drop linked setting ``key``: it goes back to its default on the next draw."""
    st.session_state.setdefault(_VALUES, {}).pop(key, None)


def _remember(key: str, after_change: Callable[[], None] | None) -> None:
    st.session_state.setdefault(_VALUES, {})[key] = st.session_state[key]
    if after_change is not None:
        after_change()


def publish(key: str, shown: Any, default: Any) -> None:
    """Write ``shown``, the value the page uses for ``key``, to the session and the URL (a default leaves both)."""
    values = st.session_state.setdefault(_VALUES, {})
    if shown is None or shown == default:
        values.pop(key, None)
        if key in st.query_params:
            del st.query_params[key]
    else:
        values[key] = shown
        text = url_text(shown)
        if st.query_params.get(key) != text:
            st.query_params[key] = text
    st.session_state.setdefault(_SEEN, {})["written"] = _url_values()


def linked(
    widget: Callable[..., Any],
    label: str,
    *,
    key: str,
    default: Any,
    valid: Collection[Any] | None = None,
    after_change: Callable[[], None] | None = None,
    **options: Any,
) -> Any:
    """Draw ``widget(label, key=key, **options)`` (e.g. ``st.selectbox`` with its options) showing the session's
    value of ``key`` (``default`` where it has none, or where ``valid`` does not hold it), and return its value,
    which is also written to the URL. ``after_change`` runs when the user changes it (after it is remembered)."""
    if key not in LINKED:
        raise ValueError(f"{key!r} is not a linked setting; add it to LINKED ({', '.join(LINKED)}).")
    current = value(key, default)
    if valid is not None and current not in valid:
        current = default
    st.session_state[key] = current
    shown = widget(label, key=key, on_change=_remember, args=(key, after_change), **options)
    publish(key, shown, default)
    return shown
