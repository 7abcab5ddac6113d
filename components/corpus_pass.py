"""The one way a page runs a corpus pass: activation stores, factor fits and neuron records alike.

A pass is a child job (``python -m xray ...``, see :mod:`components.jobs`) that keeps checkpoints and writes how
far it is. :func:`run_pass` returns the pass's result when it is on disk; else it starts the job (unless it runs
already, for this or another session, or is built by a command line elsewhere) and follows it: a progress bar with
an estimate per stage and a Cancel button, until the result is there. Cancel interrupts the job as Ctrl-C would;
the page then says what was kept and offers to resume, and does not start the pass again by itself.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.feedback import remaining
from components.jobs import cancel_job, finished_job, job_running, start_job
from components.run_marker import stop_page
from xray.cache import BuildStatus, default_cache_root, unwritable_cache
from xray.corpora.corpus import Corpus
from xray.translation import _, number

POLL_S = 0.5
INTERRUPTED = 130  # the command line's exit code after Ctrl-C (or Cancel)

Result = TypeVar("Result")


@dataclass(frozen=True)
class CorpusPass:
    """One pass of ``python -m xray <arguments>``.

    name: the job's name (one job per name on the server) and the prefix of its widget keys.
    label: what the progress bar says it does, e.g. "Computing every hidden state of BBC News (2,225 texts)", in
    the run's language (as ``failure``).
    arguments: the command line after ``python -m xray``; empty to follow a job that runs, never to start one.
    log: where the job's output goes (its last line is its message when it fails).
    status: how far the pass is now, read from the files it writes (None while no builder runs).
    failure: the start of the message when it fails, e.g. "The activation store could not be built".
    """

    name: str
    label: str
    arguments: tuple[str, ...]
    log: Path
    status: Callable[[], BuildStatus | None]
    failure: str

    @property
    def cancelled_key(self) -> str:
        return f"{self.name}.cancelled"


def saved_corpus(corpus: Corpus, root: Path, name: str) -> Path:
    """``corpus`` saved as the Parquet table a pass reads (``--table``), beside the pass's log under ``root``;
    written once (``name`` depends on the corpus's content). Remove it with :func:`forget_saved_corpus`. Where
    ``root`` cannot be written, says where to point XRAY_CACHE_DIR instead and stops the page: no pass can run."""
    table = root / f".{name}.corpus.parquet"
    if not table.is_file():
        problem = unwritable_cache(root)
        if problem is not None:
            st.error(problem, icon=":material/folder_off:")
            stop_page()
        corpus.save(table)
    return table


def forget_saved_corpus(root: Path, name: str) -> None:
    """Remove the table :func:`saved_corpus` wrote, once the pass that read it has finished."""
    (root / f".{name}.corpus.parquet").unlink(missing_ok=True)


def start_pass(job: CorpusPass) -> None:
    """Start ``job`` unless it runs already (in this server, or as a builder elsewhere that writes its status)."""
    if job.arguments and not job_running(job.name) and job.status() is None:
        start_job(job.name, list(job.arguments), job.log)


def report_ended(job: CorpusPass) -> int | None:
    """If the job ended since the page last looked: say so where it was cancelled or failed, and give its exit
    code (0: finished; :data:`INTERRUPTED` for a Cancel, however the job ended); None while it runs or was never
    started here."""
    ended = finished_job(job.name, job.log)
    if ended is None:
        return None
    code, message = ended
    if code != 0 and (code in (INTERRUPTED, -signal.SIGINT) or st.session_state.get(job.cancelled_key)):
        code = INTERRUPTED  # a Cancel that came before the command line could catch it (while it imports) too
        st.info(
            _("Cancelled: {job}. What it had computed is kept, and running it again resumes from there.").format(
                job=job.label
            ),
            icon=":material/info:",
        )
    elif code != 0:
        st.error(f"{job.failure}: {message}", icon=":material/error:")
    return code


def run_pass(job: CorpusPass, result: Callable[[], Result | None]) -> Result:
    """What ``result()`` finds on disk, once it is there: at once when it is already; else after starting ``job``
    (or finding it under way) and following it with progress and Cancel. Stops the page when the job fails, and
    after a Cancel until the user resumes. Everything it draws sits in one place on the page, so a rerun replaces
    it whole (no stale Resume button under the progress bar)."""
    found = result()
    if found is not None:
        return found
    place = st.empty()
    with place.container():
        code = report_ended(job)
        if code not in (None, 0, INTERRUPTED):
            stop_page()
        if code == INTERRUPTED or st.session_state.get(job.cancelled_key):
            st.session_state[job.cancelled_key] = True
            if not job_running(job.name) and job.status() is None:
                resume = {"on_click": _resume, "args": (job,), "icon": ":material/play_arrow:"}
                st.button(_("Resume"), key=f"{job.name}.resume", **resume)
                stop_page()
    start_pass(job)
    return _follow(job, result, place)


def run_pass_on_request(
    job_for: Callable[[bool], CorpusPass], result: Callable[[], Result | None], *, label: str, key: str, help: str
) -> Result | None:
    """What ``result()`` finds on disk; else a button (``label``, ``key``, ``help``) that runs the pass
    ``job_for(True)``, or the pass already under way (``job_for(False)``: the same name, no arguments), followed
    by :func:`run_pass`; None while the user has not asked. For passes of minutes, never started unasked."""
    found = result()
    if found is not None:
        return found
    job = job_for(False)
    if not job_running(job.name):
        report_ended(job)  # a Cancel or a failure of the last run, said once
        place = st.empty()
        if not place.button(label, key=key, icon=":material/play_arrow:", help=help):
            return None
        place.empty()  # the pass's progress and Cancel take its place
        st.session_state.pop(job.cancelled_key, None)
        job = job_for(True)
    found = run_pass(job, result)
    forget_saved_corpus(default_cache_root(), job.name)
    return found


def _resume(job: CorpusPass) -> None:
    st.session_state.pop(job.cancelled_key, None)


def _cancel(job: CorpusPass) -> None:
    st.session_state[job.cancelled_key] = True
    cancel_job(job.name)


def _follow(job: CorpusPass, result: Callable[[], Result | None], place: DeltaGenerator) -> Result:
    """In ``place``: a progress bar with an estimate per stage and a Cancel button until ``result()`` finds the
    result; stops the page with the job's message if it ends without one."""
    with place.container():
        if job_running(job.name):
            st.button(_("Cancel"), on_click=_cancel, args=(job,), icon=":material/cancel:", key=f"{job.name}.cancel")
        bar = st.progress(0.0, text=_("{job}: starting…").format(job=job.label))
    stages: dict[str, float] = {}
    while True:
        found = result()
        if found is not None:
            place.empty()
            return found
        running = job_running(job.name)
        status = job.status()
        if not running and status is None:  # ended (or another builder finished) without a result here
            with place.container():
                code = report_ended(job)
                found = result()
                if found is not None:
                    place.empty()
                    return found
                if code in (None, 0):
                    message = _("{failure}: it ended without leaving its result; see the server log.").format(
                        failure=job.failure
                    )
                    st.error(message, icon=":material/error:")
            stop_page()
        if status is not None and status.total > 0:
            started = stages.setdefault(status.stage, time.perf_counter())
            estimate = remaining(started, status.done, status.total)
            shown = f"{job.label} ({_(status.stage)})"  # a stage name is N_-marked where it is defined
            text = _("{label}: {done} of {total}").format(
                label=shown, done=number(status.done, 0), total=number(status.total, 0)
            )
            text += estimate
            bar.progress(min(status.share, 1.0), text=text)
        time.sleep(POLL_S)
