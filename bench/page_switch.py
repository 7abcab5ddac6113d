"""Warm page opens inside the app: how long a page takes when a user clicks it in the sidebar of an open tab.

Run: ``HF_HUB_OFFLINE=1 python -m bench.page_switch [--repeats 3] [--pages Transformer_factors ...]``. Starts
``streamlit run streamlit_app.py``, opens the home page in headless Chromium, visits every page once (which
builds what it needs and fills the caches, not counted), then, ``--repeats`` times per page, clicks the page in
the sidebar and waits until it has finished (its title shown, then no running indicator, progress bar, spinner
or placeholder for a second; that second is not counted), clicking Home in between. It prints the median per
page and its ratio to the Home page measured the same way in the same run: the cost of Streamlit's own page
switch. Unlike ``bench.first_paint``, the browser keeps the app's JavaScript loaded, as a user's tab does.
Needs Debian's chromium; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from playwright.sync_api import Page, sync_playwright

from bench.app_memory import PAGE_TIMEOUT_MS, page_paths, visit, wait_until_done
from components.navigation import discover_pages
from tests.app_server import CHROMIUM, CHROMIUM_ARGS, running_app
from xray.cache import CACHE_ENV

QUIET_S = 1.0


def switch(page: Page, path: str, title: str) -> float:
    """Click the page at URL ``path`` ("" for Home) in the sidebar; seconds until it has finished running."""
    links = page.locator("[data-testid='stSidebarNavLink']")
    link = links.first if not path else links.and_(page.locator(f"[href$='/{path}']"))
    started = time.perf_counter()
    link.click()
    page.locator("h1", has_text=title).first.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    return wait_until_done(page, started, quiet_s=QUIET_S)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed switches per page (default 3); medians shown")
    parser.add_argument("--pages", nargs="*", help="URL paths of the pages to time (default: all)")
    args = parser.parse_args()
    os.environ.setdefault(CACHE_ENV, tempfile.mkdtemp(prefix="xray-bench-cache-"))
    pages = dict(zip(page_paths(), (info.title for _, info in discover_pages()), strict=True))
    home = pages.pop("")
    chosen = {path: title for path, title in pages.items() if not args.pages or path in args.pages}
    with running_app() as app, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path in ["", *chosen]:
            visit(tab, f"{app.url}/{path}")  # builds stores, loads models, fills caches: not counted
        tab.goto(app.url)
        timings: dict[str, list[float]] = {home: [], **{title: [] for title in chosen.values()}}
        for _ in range(args.repeats):
            for path, title in chosen.items():
                timings[title].append(switch(tab, path, title))
                timings[home].append(switch(tab, "", home))
        browser.close()
    baseline = statistics.median(timings[home])
    print(f"{'page':<24} {'seconds':>8} {'x Home':>7}")
    for title, seconds in timings.items():
        median = statistics.median(seconds)
        print(f"{title:<24} {median:>8.2f} {median / baseline:>7.2f}")
    print(f"medians of {args.repeats} switches per page (Home: {len(timings[home])}), clicked in the sidebar")


if __name__ == "__main__":
    main()
