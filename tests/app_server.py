"""Run the app on loopback and drive Debian's chromium: shared by the browser tests and the benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    # Requests that try to leave loopback fail at once instead of waiting on the network; they are still seen.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class RunningApp:
    """url: the app's base URL; process: the server; healthy_after_s: seconds from launch to a healthy server."""

    url: str
    process: subprocess.Popen
    healthy_after_s: float


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def is_healthy(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        with opener.open(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except OSError:
        return False


@contextmanager
def running_app(timeout_s: float = START_TIMEOUT_S) -> Iterator[RunningApp]:
    """``streamlit run streamlit_app.py`` on a free loopback port with the hub off, until the block ends.

    Raises RuntimeError, with the server's output, when it exits or is not healthy within ``timeout_s``.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"]
    command += ["--browser.gatherUsageStats", "false"]
    # A file, not a pipe: a full pipe would block the server.
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            while not is_healthy(url):
                if process.poll() is not None or time.perf_counter() - started > timeout_s:
                    log.seek(0)
                    state = f"exited with {process.returncode}" if process.poll() is not None else "timed out"
                    raise RuntimeError(f"streamlit did not come up at {url} ({state}); output:\n{log.read()}")
                time.sleep(0.05)
            yield RunningApp(url, process, time.perf_counter() - started)
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a server started by a test, killing it when it does not exit within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
