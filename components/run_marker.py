"""The mark a page run leaves once it has drawn its last result: what a load test or a browser test waits for,
instead of guessing from spinners that come and go.

The entry point draws it after the page's script returns (:func:`marked_run`); a page that ends early with a
message calls :func:`stop_page` instead of ``st.stop()``, which draws it before stopping. It is an invisible element
``<div data-testid="xray-run-done">`` whose attributes say which run of the session it ends (``data-run``), how
long the session's runs since its page opened took on the server (``data-seconds``), how much of that was spent
queued for a place among the server's heavy jobs (``data-wait-s``, :meth:`components.jobs.HeavyJobs.take_waited`),
and whether the page stopped early (``data-stopped``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import streamlit as st

from components.jobs import HEAVY_JOBS
from xray.memory import release_free_memory

MARKER_ID = "xray-run-done"
_VISIT = "_xray_visit"
_STARTED = "_xray_run_started"


def _visit() -> dict:
    """The session's runs so far, and its server seconds and seconds queued since its page opened."""
    return st.session_state.setdefault(_VISIT, {"runs": 0, "page": None, "seconds": 0.0, "wait_s": 0.0})


def _draw(stopped: bool) -> None:
    visit = _visit()
    started = st.session_state.pop(_STARTED, None)
    visit["runs"] += 1
    visit["seconds"] += time.perf_counter() - started if started is not None else 0.0
    visit["wait_s"] += HEAVY_JOBS.take_waited()
    st.html(
        f'<div data-testid="{MARKER_ID}" data-run="{visit["runs"]}" data-seconds="{visit["seconds"]:.2f}" '
        f'data-wait-s="{visit["wait_s"]:.2f}" data-stopped="{int(stopped)}" style="display:none"></div>'
    )


@contextmanager
def marked_run(page: str) -> Iterator[None]:
    """Around a page's script: its run timed, the mark drawn when the script returns (a rerun or a stop raised
    inside leaves none: the next run, or :func:`stop_page`, draws it), and the heap's free memory handed back to the
    system however the run ended (:func:`xray.memory.release_free_memory`). page: the page this run draws; the
    seconds and the wait count from its first run (the run numbers go on over the session)."""
    visit = _visit()
    if visit["page"] != page:
        visit.update(page=page, seconds=0.0, wait_s=0.0)
    HEAVY_JOBS.take_waited()  # a wait of an earlier, interrupted run of this thread is not this run's
    st.session_state[_STARTED] = time.perf_counter()
    try:
        yield
        _draw(stopped=False)
    finally:
        release_free_memory()  # what the run's batches freed goes back to the system, not to the next page's peak


def stop_page() -> NoReturn:
    """``st.stop()``, once the mark says this run is over: for a page that ends early with its message shown."""
    _draw(stopped=True)
    st.stop()
