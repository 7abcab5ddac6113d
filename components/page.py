"""The opening every technique page shares: its title and caption (see :mod:`components.navigation`), then
the shared sidebar."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import streamlit as st

from components.lesson import lesson_banner
from components.navigation import PageInfo, current_opening, discover_pages
from components.run_marker import stop_page
from components.sidebar import Selection, sidebar
from xray.text import prepare_text
from xray.text_language import model_language_notice
from xray.translation import _, translated


def start_page(info: PageInfo) -> Selection:
    """Draw the page's opening (unless the entry point already did) and the sidebar; returns the selection.

    The opening's loading line covers the page's imports, which are done once this runs; it goes before the
    sidebar loads the model (under a spinner of its own), so it never stays beside an error that stops the page.
    A page that reads the text (``info.uses_text``) stops with one short message, before computing anything, when
    the text is empty, and says so where the text is Turkish and the model was trained on English only.
    """
    current_opening(info).loading.empty()
    selection = sidebar(uses_layer=info.uses_layer)
    if info.uses_text:
        try:
            prepare_text(selection.text)
        except ValueError as error:
            message = _("The sidebar's *Input text* is what this page reads.")
            st.warning(f"{error} {message}", icon=":material/edit_note:")
            stop_page()
        notice = model_language_notice(selection.model_name, selection.text)
        if notice is not None:
            st.warning(translated(notice), icon=":material/translate:")
    lesson_banner(next((path.name for path, page in discover_pages() if page == info), ""))
    return selection


def forget_stale_choice(key: str, valid: Iterable[object], message: str) -> None:
    """Where the session or the URL holds a value for widget ``key`` that is no longer among ``valid`` (the text
    changed, the dictionary is smaller), say so with ``message`` (``{}`` stands for the value) and drop it, so the
    widget starts from its default."""
    requested = st.session_state.get(key, st.query_params.get(key))
    if requested is None or str(requested) in {str(value) for value in valid}:
        return
    st.info(message.format(requested), icon=":material/info:")
    st.session_state.pop(key, None)


def index_input(label: str, count: int, default: int, *, key: str, stale: str, help: str) -> int:
    """A number input for one of ``count`` numbered things (a factor, a neuron), 0 to ``count - 1``, opening on
    ``default`` and bound to the URL as ``key``. A value the session or the URL holds from before that is out of
    range is dropped first, with the line ``stale`` (translated, with ``{value}`` for the value dropped and
    ``{last}`` for ``count - 1``), e.g. "Neuron {value} does not exist: layers have neurons 0 to {last}. Showing the
    focus token's most active neuron instead."."""
    forget_stale_choice(key, range(count), stale.replace("{value}", "{}").replace("{last}", str(count - 1)))
    return st.number_input(label, 0, count - 1, default, key=key, bind="query-params", help=help)


Item = TypeVar("Item")
FOLDED_SHOWN = 3


def folded(items: Sequence[Item], draw: Callable[[Item, int], None], what: str, shown: int = FOLDED_SHOWN) -> None:
    """``draw(item, index)`` for the first ``shown`` items, the rest inside a closed "Show all" expander, so a long
    list does not bury the page. what: the items' name in the run's language, e.g. "scored texts"."""
    for index, item in enumerate(items[:shown]):
        draw(item, index)
    if len(items) > shown:
        with st.expander(_("Show all {count} {what}").format(count=len(items), what=what)):
            for index, item in enumerate(items[shown:], start=shown):
                draw(item, index)


def _follow_link(key: str, target: str) -> None:
    picked = st.session_state[key]
    if picked is not None:
        st.session_state[target] = picked
        st.session_state[key] = None


def value_links(label: str, values: list[int], noun: str, *, key: str, target: str) -> None:
    """One button per value (e.g. "factor 12"); a click sets widget ``target`` (drawn later on the page) to it."""
    st.pills(
        label,
        values,
        format_func=lambda value: f"{noun} {value}",
        key=key,
        on_change=_follow_link,
        args=(key, target),
    )
