"""Peak memory of the app's server process with every page used once, in headless Chromium.

Run: ``HF_HUB_OFFLINE=1 python -m bench.app_memory``. Starts ``streamlit run streamlit_app.py`` on a
free loopback port, opens the home page and each page under ``pages/`` in turn with the default
model and sentence, waits until each has finished running, and prints the server's resident
memory (VmRSS) after each page and its peak (VmHWM) at the end. Needs Debian's chromium.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_TIMEOUT_MS = 180_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory_mb(pid: int, field: str) -> float:
    """A ``/proc/<pid>/status`` field (VmRSS, VmHWM) in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, flags=re.M).group(1)) / 1024


def wait_until_healthy(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the Streamlit server did not become healthy")


def page_paths() -> list[str]:
    """URL paths of the home page and every page file, e.g. ``pages/1_Attention.py`` -> ``Attention``."""
    return ["", *(re.sub(r"^\d+_", "", path.stem) for path in sorted((ROOT / "pages").glob("*.py")))]


def visit(page: Page, url: str) -> float:
    """Open ``url`` and wait until the script has finished running; returns seconds."""
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("h1", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=PAGE_TIMEOUT_MS)
    return time.perf_counter() - started


def main() -> int:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    server = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until_healthy(url)
        print(f"{'page':<24} {'seconds':>8} {'RSS MB':>8}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for path in page_paths():
                seconds = visit(page, f"{url}/{path}")
                print(f"{path or 'home':<24} {seconds:>8.2f} {memory_mb(server.pid, 'VmRSS'):>8.0f}")
            browser.close()
        print(f"peak resident memory of the server (VmHWM): {memory_mb(server.pid, 'VmHWM'):.0f} MB")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
