"""Heavy precomputation run as child processes of the server (``python -m xray ...``): activation store builds
and dictionary fits.

A child process, so that a page rerun, a model switch or a closed tab never stops the work halfway (it goes on
and the next visit uses it), so that its working memory goes back to the system when it ends instead of staying
with the server, and so that a user can cancel it. Each job has a name (one job per name at a time) and a log
whose last line is its message to the user.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CANCEL_WAIT_S = 10.0

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
    return process.returncode, lines[-1] if lines else f"it stopped with exit code {process.returncode}"


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
