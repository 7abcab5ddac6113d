"""What a freshly started server prepares in the background, once per process, so that no later page waits for it:

1. the sidebar's default model, loaded (a visitor who opened the home page first finds it ready);
2. the default corpus's activation store for that model, started as a child job when it is not on disk
   (:func:`components.corpus.prebuild_default_store`; the child runs on another core, and the first corpus page
   finds the store ready or follows the build);
3. the one-off numba compilations of shap (about 6 s of CPU) and UMAP (3 to 20 s), so the first SHAP run and the
   first UMAP projection do not pay for them.

The thread starts after a first page has run, then waits until no script has run for :data:`IDLE_S` seconds
before each step: loading and compiling mostly hold Python's interpreter lock and would otherwise slow whatever a
visitor is doing. Script runs report themselves with :func:`script_running` (the entry point wraps every page
run in it). ``XRAY_WARM_UP=off`` turns it off (for tests that count jobs or time a page alone).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

log = logging.getLogger("xray")
IDLE_S = 10.0
"""Quiet seconds before each step. Each step holds a core (or both) for seconds once begun: a visitor who opens
the next page within two seconds of the last one (measured: the Neuron explanations page timing its whole-layer
estimate beside shap's compilation read 3x too long) would race it; ten quiet seconds means someone is reading."""
WARM_UP_ENV = "XRAY_WARM_UP"
OFF = {"0", "off", "false", "no"}
_lock = threading.Lock()
_running = 0
_last_finished = time.monotonic()


@contextmanager
def script_running() -> Iterator[None]:
    """Mark a script run for the duration of the block."""
    global _running, _last_finished
    with _lock:
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            _last_finished = time.monotonic()


def server_idle() -> bool:
    """True when no script is running and none has finished in the last :data:`IDLE_S` seconds."""
    with _lock:
        return _running == 0 and time.monotonic() - _last_finished >= IDLE_S


def _wait_for_idle() -> None:
    while not server_idle():
        time.sleep(0.25)


def _warm() -> None:
    try:
        _wait_for_idle()
        # Imported here, in the background and once idle: the model's libraries, shap and umap take seconds.
        from components.corpus import prebuild_default_store
        from components.model import loaded_model
        from components.sidebar import model_choices

        default_model = model_choices()[0]
        loaded_model(default_model)
        _wait_for_idle()
        prebuild_default_store(default_model)
        _wait_for_idle()
        from xray.techniques import projections, shap_explain

        shap_explain.warm_up()
        _wait_for_idle()
        projections.warm_up()
    except Exception:
        log.exception("Background warm-up failed; the pages will load, build and compile what they need instead")


@st.cache_resource(show_spinner=False)
def _warm_up_thread() -> threading.Thread:
    thread = threading.Thread(target=_warm, name="xray-warm-up", daemon=True)
    thread.start()
    return thread


def start_warm_up() -> None:
    """Start the background warm-up if this process has not yet and ``XRAY_WARM_UP`` is not off (idempotent and
    cheap)."""
    if os.environ.get(WARM_UP_ENV, "").strip().lower() not in OFF:
        _warm_up_thread()
