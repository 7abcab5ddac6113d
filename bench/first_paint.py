"""First paint on a freshly started server: how soon each page shows its title, and when it is done.

Run: ``HF_HUB_OFFLINE=1 python -m bench.first_paint [--repeats 1]``. For every page (home included) it
starts a new ``streamlit run streamlit_app.py`` (a cold server: nothing imported, no model loaded), waits
for ``/_stcore/health``, opens the page in headless Chromium at once and prints:

- ``health``: seconds from launch to a healthy server;
- ``title``: seconds from the server answering (health ok) to the page's title being visible;
- ``done``: seconds from the server answering until the page has finished computing (no progress bar,
  spinner or placeholder for two seconds; the two quiet seconds are not counted).

Then, on one warm server, the same page opened again in a new tab. Needs Debian's chromium; nothing is
asserted: the numbers are from one run on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

from playwright.sync_api import Browser, sync_playwright

from bench.app_memory import page_paths, wait_until_done
from components.navigation import discover_pages
from tests.app_server import CHROMIUM, CHROMIUM_ARGS, running_app

TITLE_TIMEOUT_MS = 120_000


def title_and_done(browser: Browser, url: str, title: str) -> tuple[float, float]:
    """Seconds until ``title`` shows as the page's heading, and until the page has finished computing."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    started = time.perf_counter()
    page.goto(url)
    page.locator("h1", has_text=title).first.wait_for(state="visible", timeout=TITLE_TIMEOUT_MS)
    painted = time.perf_counter() - started
    done = wait_until_done(page, started)
    page.close()
    return painted, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="cold servers per page (default 1); medians shown")
    args = parser.parse_args()
    titles = [info.title for _, info in discover_pages()]
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for path, title in zip(page_paths(), titles, strict=True):
                runs = []
                for _ in range(args.repeats):
                    with running_app() as app:
                        painted, done = title_and_done(browser, f"{app.url}/{path}", title)
                        warm_painted, warm_done = title_and_done(browser, f"{app.url}/{path}", title)
                    runs.append((app.healthy_after_s, painted, done, warm_painted, warm_done))
                rows.append((path or "home", *(statistics.median(run[i] for run in runs) for i in range(5))))
        finally:
            browser.close()
    print(f"{'page':<20} {'health':>7} {'title':>7} {'done':>7}   {'warm title':>10} {'warm done':>9}")
    for name, health, painted, done, warm_painted, warm_done in rows:
        print(f"{name:<20} {health:>7.2f} {painted:>7.2f} {done:>7.2f}   {warm_painted:>10.2f} {warm_done:>9.2f}")
    print("seconds; title and done count from the server answering; cold = a freshly started server per page")


if __name__ == "__main__":
    main()
