"""Many users at once: 8 browser sessions against one server, mixed pages and models.

Run: ``HF_HUB_OFFLINE=1 python -m bench.load_test [--sessions 8]``. Starts ``streamlit run streamlit_app.py``
(not in public mode, with an empty temporary cache, so the first visitors also build the stores), then opens
``--sessions`` headless Chromium sessions at once, each in its own thread and browser, each visiting its own mix
of pages (the embedded MiniLM and two tiny local models: a BERT and a GPT-2). It prints:

- errors: pages that showed an exception or an error message (goal 0), and pages that never finished (no report
  after 15 minutes);
- the server's peak resident memory (VmHWM; child processes that build stores are not counted);
- per page visit, the seconds until the page reported itself done (its run's mark, :mod:`components.run_marker`,
  drawn once its last result is on the page), and of the server's time the part spent queued for a heavy job's
  place apart from the work;
- whether each session's results equal a lone run's: after the crowd, every session runs again alone on the same
  server and the text of each page that finished both times is compared (timings and time estimates taken out);
  every difference is named, page by page, with its first differing lines.
Nothing is asserted; figures are from one run on this machine.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from bench.app_memory import memory_mb, run_report, wait_until_done
from components.sidebar import OTHER_MODEL
from tests.app_server import CHROMIUM, CHROMIUM_ARGS, running_app
from tests.tiny_models import tiny_bert, tiny_gpt2
from xray.cache import CACHE_ENV

SENSES = "corpus=Word%20senses"
RIVER = "text=" + quote("We sat on the bank of the river")
SPORT = "text=" + quote("The striker scored twice as United beat Chelsea in the cup final.")
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
TIMEOUT_S = 900.0  # per page: with cold caches, a crowd on two cores queues behind every first build
VOLATILE = re.compile(r"Estimated time:[^\n]*|\d[\d,.]*\s*(?:ms|s|seconds?|MB)\b|about [^.;)]* left|\d+:\d+")
"""Timings and time estimates, taken out of a page's text before it is compared (an estimate says what is left to
do on this server, e.g. shap's one-off compilation for the first visitor only)."""


def sessions(bert: Path, gpt2: Path) -> list[list[str]]:
    """Per session, the page paths and queries it visits in turn."""
    local = f"model={quote(OTHER_MODEL)}&model_id="
    mixes = [
        ["", f"Attention?{RIVER}", f"LIME?{SPORT}&lime.samples=500"],
        [f"Embedding_search?{SENSES}&{RIVER}", f"Projections?{SENSES}&projection.sample=300"],
        [f"Transformer_factors?{RIVER}", "Tokenizers"],
        [f"Neuron_explanations?{SENSES}&layer=2&neurons.neuron=5", f"SHAP?{SPORT}"],
        [f"Attention?{local}{quote(str(bert))}", f"Neuron_explanations?{local}{quote(str(bert))}&{SENSES}"],
        [f"Attention?{local}{quote(str(gpt2))}", f"Tokenizers?{local}{quote(str(gpt2))}"],
        [f"Which_explanation?{SPORT}", f"Attention?{SPORT}"],
        [f"Embedding_search?{local}{quote(str(bert))}&{SENSES}", "", f"Transformer_factors?{SPORT}"],
    ]
    return mixes


@dataclass(frozen=True)
class Visit:
    """One page visit: its path, seconds until done (None: never finished), errors shown, the server's account of
    its runs (:func:`bench.app_memory.run_report`: seconds, wait_s) and its text (volatile figures taken out)."""

    path: str
    seconds: float | None
    errors: int
    report: dict[str, float]
    text: str

    @property
    def finished(self) -> bool:
        return self.seconds is not None


def run_session(base: str, paths: list[str], results: dict, key: int) -> None:
    """Visit ``paths`` in one browser; results[key] = its :class:`Visit` list."""
    visits = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path in paths:
            started = time.perf_counter()
            try:
                page.goto(f"{base}/{path}")
                page.wait_for_selector("h1", timeout=TIMEOUT_S * 1000)
                seconds = wait_until_done(page, started, timeout_s=TIMEOUT_S)
            except (TimeoutError, PlaywrightError) as error:  # never finished: counted, and the session goes on
                visits.append(Visit(path, None, 0, {}, f"never finished: {type(error).__name__}"))
                continue
            errors = page.locator(ERRORS).count()
            text = VOLATILE.sub("#", page.locator("[data-testid='stMain']").inner_text())
            visits.append(Visit(path, seconds, errors, run_report(page), text))
        browser.close()
    results[key] = visits


def differences(crowded: str, alone: str, lines: int = 8) -> list[str]:
    """The first ``lines`` lines that differ between a page's text in the crowd and alone, as a diff."""
    changed = [
        line
        for line in difflib.unified_diff(alone.splitlines(), crowded.splitlines(), "alone", "crowd", n=0, lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return [line[:160] for line in changed[:lines]]


def crowd(base: str, mixes: list[list[str]]) -> dict[int, list]:
    results: dict[int, list] = {}
    threads = [threading.Thread(target=run_session, args=(base, mix, results, key)) for key, mix in enumerate(mixes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8, help="concurrent browser sessions (default 8)")
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="xray-load-"))
    mixes = sessions(tiny_bert(folder / "bert"), tiny_gpt2(folder / "gpt2"))
    mixes = [mixes[index % len(mixes)] for index in range(arguments.sessions)]
    os.environ[CACHE_ENV] = str(folder / "cache")
    with running_app() as app:
        started = time.perf_counter()
        together = crowd(app.url, mixes)
        wall = time.perf_counter() - started
        peak = memory_mb(app.process.pid, "VmHWM")
        alone = {key: crowd(app.url, [mix])[0] for key, mix in enumerate(mixes)}
    visits = [visit for session in together.values() for visit in session]
    finished = [visit for visit in visits if visit.finished]
    slowest = max(finished, key=lambda visit: visit.seconds, default=None)
    equal = 0
    report = []
    for key in range(len(mixes)):
        same = True
        for crowded, lone in zip(together[key], alone[key], strict=True):
            queued = crowded.report.get("wait_s", 0.0)
            work = crowded.report.get("seconds", 0.0) - queued
            shown = f"{crowded.seconds:6.1f} s" if crowded.finished else "never finished"
            line = f"  session {key}: {crowded.path or 'home'}: {shown} (queued {queued:.1f} s, work {work:.1f} s)"
            report.append(f"{line}, {crowded.errors} error(s)")
            if not (crowded.finished and lone.finished):
                same = False
                unfinished = "the lone run never finished" if crowded.finished else "never finished"
                report.append(f"    not compared: {unfinished}")
            elif crowded.text != lone.text:
                same = False
                report.extend(f"    differs: {line}" for line in differences(crowded.text, lone.text))
        equal += same
    print(f"{len(mixes)} sessions, {len(visits)} page visits at once, all done after {wall:.0f} s")
    print(f"pages with an error: {sum(visit.errors > 0 for visit in visits)} (goal 0)")
    print(f"pages that never finished: {len(visits) - len(finished)} (goal 0)")
    print(f"peak server memory (VmHWM): {peak:,.0f} MB (goal: under 2,560 MB)")
    if slowest is not None:
        queued = slowest.report["wait_s"]
        print(
            f"slowest page: {slowest.path or 'home'} after {slowest.seconds:.1f} s (queued {queued:.1f} s, work "
            f"{slowest.report['seconds'] - queued:.1f} s on the server)"
        )
    print(f"sessions whose pages read the same as a lone run's: {equal} of {len(mixes)} (goal: all)")
    print("\n".join(report))


if __name__ == "__main__":
    main()
