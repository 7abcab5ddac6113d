"""Heavy work, shared fairly: child processes for precomputation, and one limit on heavy jobs at a time.

Child processes of the server (``python -m xray ...``) run activation store builds and dictionary fits.

A child process, so that a page rerun, a model switch or a closed tab never stops the work halfway (it goes on
and the next visit uses it), so that its working memory goes back to the system when it ends instead of staying
with the server, and so that a user can cancel it. Each job has a name (one job per name at a time) and a log
whose last line is its message to the user.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from xray.translation import _

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CANCEL_WAIT_S = 10.0
HEAVY_ENV = "XRAY_HEAVY_JOBS"
WAIT_S = 0.5

_jobs: dict[str, subprocess.Popen] = {}
_lock = threading.Lock()


def start_job(name: str, arguments: list[str], log: Path) -> None:
    """Run ``python -m xray <arguments>`` as job ``name``, its output going to ``log``, unless it already runs."""
    with _lock:
        running = _jobs.get(name)
        if running is not None and running.poll() is None:
            return
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as output:
            _jobs[name] = subprocess.Popen(
                [sys.executable, "-m", "xray", *arguments], cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT
            )


def job_running(name: str) -> bool:
    with _lock:
        process = _jobs.get(name)
        return process is not None and process.poll() is None


def finished_job(name: str, log: Path) -> tuple[int, str] | None:
    """If job ``name`` has ended: its exit code and the last line it printed (and the job is forgotten)."""
    with _lock:
        process = _jobs.get(name)
        if process is None or process.poll() is None:
            return None
        del _jobs[name]
    lines = [line for line in log.read_text().splitlines() if line.strip()] if log.is_file() else []
    return process.returncode, lines[-1] if lines else _("it stopped with exit code {code}").format(
        code=process.returncode
    )


def cancel_job(name: str) -> None:
    """Interrupt job ``name`` as Ctrl-C would (it saves what resumes it), killing it if it does not stop soon."""
    with _lock:
        process = _jobs.get(name)
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(CANCEL_WAIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def running_jobs() -> int:
    """Child jobs of this server still running."""
    with _lock:
        return sum(process.poll() is None for process in _jobs.values())


class HeavyJobs:
    """At most ``limit`` heavy jobs at once (SHAP, LIME, the comparison, corpus passes, fits; running child jobs
    count too), started in the order they asked. Re-entrant: a job inside a job of the same thread takes no
    second place."""

    def __init__(self, limit: int, children: Callable[[], int] = running_jobs) -> None:
        """children: how many child jobs run now (they count against the limit)."""
        if limit < 1:
            raise ValueError(f"{HEAVY_ENV} must be at least 1, got {limit}.")
        self.limit = limit
        self._children = children
        self._condition = threading.Condition()
        self._queue: list[object] = []
        self._active = 0
        self._held = threading.local()
        self._waited = threading.local()

    @contextmanager
    def slot(self, waiting: Callable[[int], None] | None = None) -> Iterator[None]:
        """Hold a place for the block; while queued, ``waiting(ahead)`` is called every WAIT_S seconds with the
        number of jobs queued or running before this one. An exception while waiting (a rerun, Stop) leaves the
        queue."""
        depth = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = depth + 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        token = object()
        queued = time.perf_counter()
        with self._condition:
            self._queue.append(token)
        try:
            while not self._start(token):
                if waiting is not None:
                    waiting(self.ahead(token))
                with self._condition:
                    self._condition.wait(WAIT_S)
        except BaseException:
            with self._condition:
                self._queue.remove(token)
                self._condition.notify_all()
            raise
        finally:
            self._waited.seconds = getattr(self._waited, "seconds", 0.0) + time.perf_counter() - queued
        self._held.depth = 1
        try:
            yield
        finally:
            self._held.depth = 0
            with self._condition:
                self._active -= 1
                self._condition.notify_all()

    def take_waited(self) -> float:
        """Seconds this thread spent queued for a place since it last asked, and start counting again."""
        seconds = getattr(self._waited, "seconds", 0.0)
        self._waited.seconds = 0.0
        return seconds

    def _start(self, token: object) -> bool:
        with self._condition:
            if self._queue[0] is token and self._active + self._children() < self.limit:
                self._queue.pop(0)
                self._active += 1
                return True
            return False

    def ahead(self, token: object) -> int:
        """Jobs queued before ``token`` plus jobs running."""
        with self._condition:
            return self._queue.index(token) + self._active + self._children()


def heavy_limit() -> int:
    """``XRAY_HEAVY_JOBS`` if set, else one heavy job per two cores (at least one)."""
    raw = os.environ.get(HEAVY_ENV, "").strip()
    try:
        return int(raw) if raw else max(1, (os.cpu_count() or 2) // 2)
    except ValueError:
        raise ValueError(f"{HEAVY_ENV} must be a whole number, not {raw!r}.") from None


HEAVY_JOBS = HeavyJobs(heavy_limit())
"""The server's one limit, shared by every session."""
