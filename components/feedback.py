"""Feedback on the page: failures as short messages (tracebacks go to the server log only), notices, progress."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st

log = logging.getLogger("xray")


@contextmanager
def user_errors(action: str) -> Iterator[None]:
    """Show a ValueError's message (the xray modules write them for users) and stop the page.

    Any other exception is logged with its traceback and shown as one short sentence.
    Streamlit's own control flow (``st.stop``, reruns) derives from BaseException and passes through.
    """
    try:
        yield
    except ValueError as error:
        st.error(str(error), icon=":material/error:")
        st.stop()
    except Exception:
        log.exception("Failed while %s", action)
        st.error(
            f"Something went wrong while {action}. Try a shorter text or another model; "
            "the details are in the server log.",
            icon=":material/error:",
        )
        st.stop()


def show_notices(notices: tuple[str, ...] | list[str]) -> None:
    for notice in notices:
        st.info(notice, icon=":material/info:")


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar for the duration of the block; yields the ``progress(done, total)`` callback that moves it.

    Use it inside a cached function: a cache hit replays the elements a cached function drew,
    and fails on any element drawn on a block created outside the function.
    """
    bar = st.progress(0.0, text=f"{label}…")
    try:
        yield lambda done, total: bar.progress(min(done / total, 1.0), text=f"{label}: {done:,} of {total:,}")
    finally:
        bar.empty()
