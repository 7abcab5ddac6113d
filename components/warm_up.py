"""Warm-up in the background, once per server process: shap's numba compilation (about 5 s) happens while
the first visitor reads a page, not when they first open SHAP.

Started after the first page has finished drawing, so it never slows that page down.
"""

from __future__ import annotations

import logging
import threading

import streamlit as st

log = logging.getLogger("xray")


def _warm() -> None:
    try:
        from xray.techniques.shap_explain import warm_up  # imports shap (about a second) off the page's thread

        warm_up()
    except Exception:
        log.exception("Background warm-up failed; the first SHAP run will compile instead")


@st.cache_resource(show_spinner=False)
def _warm_up_thread() -> threading.Thread:
    thread = threading.Thread(target=_warm, name="xray-warm-up", daemon=True)
    thread.start()
    return thread


def start_warm_up() -> None:
    """Start the background warm-up if this process has not yet (idempotent and cheap)."""
    _warm_up_thread()
