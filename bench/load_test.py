"""Many users at once: 8 browser sessions against one server, mixed pages and models.

Run: ``HF_HUB_OFFLINE=1 python -m bench.load_test [--sessions 8]``. Starts ``streamlit run streamlit_app.py``
(not in public mode, with an empty temporary cache, so the first visitors also build the stores), then opens
``--sessions`` headless Chromium sessions at once, each in its own thread and browser, each visiting its own mix
of pages (the embedded MiniLM and two tiny local models: a BERT and a GPT-2). It prints:

- errors: pages that showed an exception or an error message (goal 0);
- the server's peak resident memory (VmHWM; child processes that build stores are not counted);
- the slowest page (from opening it to no progress bar or spinner for two seconds; a page still busy after
  15 minutes counts as an error);
- whether each session's results equal a lone run's: after the crowd, every session runs again alone on the same
  server and the text of its pages is compared (timings and time estimates taken out).
Nothing is asserted; figures are from one run on this machine.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from bench.app_memory import memory_mb, wait_until_done
from components.sidebar import OTHER_MODEL
from tests.app_server import CHROMIUM, CHROMIUM_ARGS, running_app
from tests.tiny_models import tiny_bert, tiny_gpt2
from xray.cache import CACHE_ENV

SENSES = "corpus=Word%20senses"
RIVER = "text=" + quote("We sat on the bank of the river")
SPORT = "text=" + quote("The striker scored twice as United beat Chelsea in the cup final.")
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
TIMEOUT_S = 900.0  # per page: with cold caches, a crowd on two cores queues behind every first build
VOLATILE = re.compile(r"\d[\d,.]*\s*(?:ms|s|seconds?|MB)\b|about [^.;)]* left|\d+:\d+")


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


def run_session(base: str, paths: list[str], results: dict, key: int) -> None:
    """Visit ``paths`` in one browser; results[key] = per page (seconds, errors, text)."""
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
            except (TimeoutError, PlaywrightError) as error:  # counted as an error page, and the session goes on
                visits.append((path, time.perf_counter() - started, 1, f"failed: {type(error).__name__}"))
                continue
            errors = page.locator(ERRORS).count()
            text = VOLATILE.sub("#", page.locator("[data-testid='stMain']").inner_text())
            visits.append((path, seconds, errors, text))
        browser.close()
    results[key] = visits


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
    slowest = max(visits, key=lambda visit: visit[1])
    equal = sum([text for *_, text in together[key]] == [text for *_, text in alone[key]] for key in range(len(mixes)))
    print(f"{len(mixes)} sessions, {len(visits)} page visits at once, all done after {wall:.0f} s")
    print(f"pages with an error: {sum(visit[2] > 0 for visit in visits)} (goal 0)")
    print(f"peak server memory (VmHWM): {peak:,.0f} MB (goal: under 2,560 MB)")
    print(f"slowest page: {slowest[0] or 'home'} after {slowest[1]:.1f} s")
    print(f"sessions whose pages read the same as a lone run's: {equal} of {len(mixes)}")
    for key in range(len(mixes)):
        for (path, seconds, errors, text), (_, _, _, lone) in zip(together[key], alone[key], strict=True):
            print(f"  session {key}: {path or 'home'}: {seconds:.1f} s, {errors} error(s)")
            if text != lone:
                crowded, alone_line = next(
                    (a, b) for a, b in zip([*text.splitlines(), ""], [*lone.splitlines(), ""], strict=False) if a != b
                )
                print(f"    differs from the lone run: {crowded[:150]!r} against {alone_line[:150]!r}")


if __name__ == "__main__":
    main()
