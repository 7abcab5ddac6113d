"""Feedback on the page: failures as short messages (tracebacks go to the server log only), notices, progress."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.deploy import is_public
from components.jobs import HEAVY_JOBS
from components.run_marker import stop_page
from xray.deploy import scrub_paths
from xray.progress import Progress
from xray.translation import _, n_, number, translated

log = logging.getLogger("xray")


def _message(error: Exception, action: str, advice: str = "") -> str:
    """What the user reads for ``error``: a ValueError's own message (server paths taken out in public mode), else
    one short sentence, the traceback logged. Call it inside the ``except`` block."""
    if isinstance(error, ValueError):
        return scrub_paths(str(error)) if is_public() else str(error)
    log.exception("Failed while %s", action)
    return _("Something went wrong while {action}{advice}; the details are in the server log.").format(
        action=action, advice=advice
    )


@contextmanager
def user_errors(action: str) -> Iterator[None]:
    """Show a ValueError's message (the xray modules write them for users) and stop the page. ``action`` is
    translated by the caller ("comparing the explanations").

    Any other exception is logged with its traceback and shown as one short sentence. In public mode, server
    paths are taken out of every message.
    Streamlit's own control flow (``st.stop``, reruns) derives from BaseException and passes through.
    """
    try:
        yield
    except Exception as error:
        st.error(_message(error, action, _(". Try a shorter text or another model")), icon=":material/error:")
        stop_page()


@contextmanager
def errors_shown_in(place: DeltaGenerator, action: str) -> Iterator[None]:
    """Like :func:`user_errors`, but the message goes to ``place`` (a column or container) and the page goes on.

    For one part of a page that may fail on its own (a language model beside a result already computed): the
    rest of the block is skipped, what the page drew before and draws after stays.
    """
    try:
        yield
    except Exception as error:
        place.error(_message(error, action), icon=":material/error:")


def show_notices(notices: tuple[str, ...] | list[str]) -> None:
    """Each notice (a :class:`~xray.translation.Message` where a result kept it) in the run's language."""
    for notice in notices:
        st.info(translated(notice), icon=":material/info:")


@contextmanager
def heavy_job(label: str) -> Iterator[Progress]:
    """Run the block as one of the server's heavy jobs (:data:`HEAVY_JOBS`, shared by every session): first wait
    for a place, a progress bar saying how many jobs are ahead, then yield the :class:`~xray.progress.Progress`
    that moves the bar, with a time estimate per stage.

    Use it inside a cached function, around its heavy work: a cache hit then neither queues nor computes (it
    replays the bar), and no element is drawn on a block created outside the function.
    """
    bar = st.progress(0.0, text=f"{label}…")

    def queued(ahead: int) -> None:
        waiting = n_(
            "{label}: queued, {ahead} heavy job ahead (shared by everyone using this app). It starts by itself; "
            "press Stop (top right) to cancel.",
            "{label}: queued, {ahead} heavy jobs ahead (shared by everyone using this app). It starts by itself; "
            "press Stop (top right) to cancel.",
            ahead,
        )
        bar.progress(0.0, text=waiting.format(label=label, ahead=ahead))

    stages = {"": time.perf_counter()}

    def move(done: int, total: int, stage: str = "") -> None:
        """Move the bar; a named ``stage`` is shown and gets its own time estimate."""
        started = stages.setdefault(stage, time.perf_counter())
        shown = f"{label} ({_(stage)})" if stage else label  # a stage name is N_-marked where it is defined
        counted = _("{label}: {done} of {total}").format(label=shown, done=number(done, 0), total=number(total, 0))
        bar.progress(min(done / total, 1.0), text=counted + remaining(started, done, total))

    try:
        with HEAVY_JOBS.slot(queued):
            stages[""] = time.perf_counter()
            yield move
    finally:
        bar.empty()


def remaining(started: float, done: int, total: int) -> str:
    """ " · about 12 s left", from the rate so far since ``started`` (a perf_counter reading); empty at first."""
    elapsed = time.perf_counter() - started
    if done <= 0 or done >= total or elapsed < 0.5:
        return ""
    return _(" · about {seconds} s left").format(seconds=number(elapsed * (total - done) / done, 0))
