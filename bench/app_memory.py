"""Peak memory of the app's server process with every page used once, in headless Chromium.

Run: ``HF_HUB_OFFLINE=1 python -m bench.app_memory``. Starts ``streamlit run streamlit_app.py`` on a
free loopback port, opens the home page and each page under ``app_pages/`` in turn with the default
model and sentence, then the heavier views in :data:`EXTRA_VISITS` (UMAP of 5,000 points, a search over
the river bank), waits until each has reported itself done (:func:`wait_until_done`), and prints the server's
resident memory (VmRSS) and its peak so far (VmHWM) after each page, then the page that raised the peak most.
Activation stores are built in an empty temporary cache, as for a new user. The server's background warm-up is off
(``XRAY_WARM_UP=off``): it prepares nothing the visits do not (the default model and store, shap's and UMAP's
numba compilations), and left on it would start in whichever gap between visits lasted ten seconds, so two runs
would not measure the same sequence. Needs Debian's chromium.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from components.navigation import discover_pages
from components.warm_up import WARM_UP_ENV
from tests.app_server import CHROMIUM, CHROMIUM_ARGS, running_app
from xray.cache import CACHE_ENV

PAGE_TIMEOUT_MS = 180_000
EXTRA_VISITS = (
    "Embedding_search?text=We%20sat%20on%20the%20bank%20of%20the%20river&search.k=100",
    "Projections?projection.method=UMAP&projection.sample=5000",
    "Projections?projection.unit=piece&projection.sample=5000&projection.colour=pos",
)
DONE = "[data-testid='xray-run-done']"
RUNNING = "[data-testid='stApp']:not([data-test-script-state='notRunning'])"
QUIET_S = 1.0
SETTLED = """quietMs => {
  if (window.__xrayChanged === undefined) {
    window.__xrayChanged = performance.now();
    new MutationObserver(() => { window.__xrayChanged = performance.now(); })
      .observe(document.body, {subtree: true, childList: true, characterData: true});
  }
  return performance.now() - window.__xrayChanged >= quietMs;
}"""
"""Whether the page's elements and text have not changed for ``quietMs`` (a watcher installed on the first call): the
browser draws what a run sent after the run's mark reaches it (a chart's axes, a download button whose code loads
on demand), and a crowded browser took seconds to."""


def memory_mb(pid: int, field: str) -> float:
    """A ``/proc/<pid>/status`` field (VmRSS, VmHWM) in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, flags=re.M).group(1)) / 1024


def page_paths() -> list[str]:
    """URL paths of the home page ("") and every other page, e.g. ``app_pages/1_Attention.py`` -> ``Attention``."""
    return ["", *(re.sub(r"^\d+_", "", path.stem) for path, _ in discover_pages()[1:])]


def visit(page: Page, url: str) -> float:
    """Open ``url`` and wait until the page has finished computing (:func:`wait_until_done`); returns seconds."""
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("h1", timeout=PAGE_TIMEOUT_MS)
    return wait_until_done(page, started)


def wait_until_done(
    page: Page, started: float, quiet_s: float = QUIET_S, timeout_s: float = PAGE_TIMEOUT_MS / 1000
) -> float:
    """Seconds from ``started`` until the page reported itself done: its run's mark drawn
    (:mod:`components.run_marker`, written once the last result is on the page), no script running, and no newer
    mark for ``quiet_s`` seconds (a rerun the page asked for would draw one). Returns only once the browser has
    drawn it all too: nothing on the page changed for ``quiet_s`` (:data:`SETTLED`). TimeoutError after
    ``timeout_s``."""
    page.evaluate(SETTLED, 0)  # the watcher starts now: its quiet second runs beside the mark's
    mark, since = None, None
    while time.perf_counter() - started < timeout_s:
        marks = page.locator(DONE)
        current = marks.last.get_attribute("data-run") if marks.count() else None
        if current is None or page.locator(RUNNING).count():
            mark, since = None, None
        elif current != mark:
            mark, since = current, time.perf_counter()
        elif time.perf_counter() - since >= quiet_s and page.evaluate(SETTLED, quiet_s * 1000):
            return since - started
        page.wait_for_timeout(25)
    raise TimeoutError(f"{page.url} had not reported itself done after {timeout_s:.0f} s")


def run_report(page: Page) -> dict[str, float]:
    """The done page's own account of its runs (:mod:`components.run_marker`): server seconds, seconds queued for
    a heavy job's place, runs, and whether it stopped early (1.0) with its message."""
    mark = page.locator(DONE).last
    return {
        "seconds": float(mark.get_attribute("data-seconds")),
        "wait_s": float(mark.get_attribute("data-wait-s")),
        "runs": float(mark.get_attribute("data-run")),
        "stopped": float(mark.get_attribute("data-stopped")),
    }


def main() -> int:
    os.environ[CACHE_ENV] = tempfile.mkdtemp(prefix="xray-bench-cache-")
    os.environ[WARM_UP_ENV] = "off"
    with running_app() as app, sync_playwright() as playwright:
        print(f"{'page':<40} {'seconds':>8} {'RSS MB':>8} {'peak MB':>8}")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        added: dict[str, float] = {}
        before = memory_mb(app.process.pid, "VmHWM")
        for path in [*page_paths(), *EXTRA_VISITS]:
            seconds = visit(page, f"{app.url}/{path}")
            rss, peak = memory_mb(app.process.pid, "VmRSS"), memory_mb(app.process.pid, "VmHWM")
            added[path or "home"], before = peak - before, peak
            print(f"{(path or 'home')[:40]:<40} {seconds:>8.2f} {rss:>8.0f} {peak:>8.0f}")
        browser.close()
        first, *pages = added  # the first visit also starts the server's work: the model, the imports
        heaviest = max(pages, key=added.get)
        print(f"peak resident memory of the server (VmHWM): {memory_mb(app.process.pid, 'VmHWM'):.0f} MB (goal: 1,536)")
        print(f"the first visit ({first}, which loads the model) raised the peak by {added[first]:.0f} MB")
        print(f"of the pages after it, the one that raised the peak most: {heaviest} (+{added[heaviest]:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
