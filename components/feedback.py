"""Turn failures into short messages on the page; tracebacks go to the server log only."""

from __future__ import annotations

import logging
from collections.abc import Iterator
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
