"""Benchmark the Attention page's bertviz views against the plain bertviz recipe, and the app's cold start.

Run from the repository root (the hub is never needed):

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.attention [--no-browser] [--repeats 5] [--limit-s 60]

It prints, for the embedded MiniLM:

1. A table of "text -> rendered HTML" time and HTML size for inputs of 16, 64, 128 and 512 tokens
   ([CLS] and [SEP] included), for the head view and the model view, drawn three ways:
   - ``ours``: ``compute_attention`` + ``head_view_html`` / ``model_view_html`` drawing the tokens the app
     draws at most (its slider's maximum, 128), so the 512-token input is drawn capped at 128;
   - ``ours uncapped``: the same drawing every token (only differs at 512);
   - ``bertviz``: the recipe a user would write: ``model(**inputs, output_attentions=True)`` with transformers
     (eager attention: SDPA returns no weights), then ``head_view(...)`` / ``model_view(...)`` with
     ``html_action="return"``.
   Times are medians of warm repeats after one warm-up run. Drawings of more than 128 tokens are timed once in
   a child process, which is killed (row reported as skipped) when it has no result ``--limit-s`` seconds after
   loading the model (30 s allowed for that); a result over the limit is shown and flagged. Ratios: ours/bertviz.
2. The cold start: seconds from launching ``streamlit run streamlit_app.py`` to ``/_stcore/health`` answering and
   to the first Attention page whose head view shows the token "animal" in headless Chromium, then a warm reload.
   Skipped with ``--no-browser`` or when /usr/bin/chromium is missing.
3. The torch version and threads and the CPU count. Numbers come from one run on one machine; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # also runnable as `python bench/attention.py`
    sys.path.insert(0, str(ROOT))
os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers reads it; child processes inherit it

import torch  # noqa: E402
from bertviz import head_view, model_view  # noqa: E402
from transformers import AutoModel, PreTrainedModel, PreTrainedTokenizerBase  # noqa: E402

from tests.app_server import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402
from xray.models.loading import EMBEDDED_MODEL, LoadedModel, embedded_model_path, load_model  # noqa: E402
from xray.rendering.bertviz_html import head_view_html, model_view_html  # noqa: E402
from xray.techniques.attention import compute_attention  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Page

TOKEN_COUNTS = (16, 64, 128, 512)
APP_MAX_TOKENS = 128  # the Attention page's "Tokens in interactive views" slider maximum (default 64)
SENTENCE = "The animal didn't cross the street because it was too tired. "
ATTENTION_PATH = "/Attention"  # Streamlit's URL for app_pages/1_Attention.py
SERVER_TIMEOUT_S = 120
PAGE_TIMEOUT_S = 300
CHILD_LOAD_S = 30  # allowance for a child process to import and load the model before it renders

Render = Callable[[str], str]


@dataclass(frozen=True)
class Timing:
    """Median seconds over ``runs`` timed runs and the size of the HTML produced."""

    seconds: float
    megabytes: float
    runs: int


@dataclass(frozen=True)
class Row:
    tokens: int
    view: str
    method: str
    drawn: int
    timing: Timing | None
    note: str = ""


def token_texts(tokenizer: PreTrainedTokenizerBase, counts: tuple[int, ...]) -> dict[int, str]:
    """Texts that tokenize to exactly each count, [CLS] and [SEP] included; raises if one does not."""
    sentence = tokenizer(SENTENCE, add_special_tokens=False)["input_ids"]
    ids = sentence * (max(counts) // len(sentence) + 1)
    texts = {count: tokenizer.decode(ids[: count - 2]) for count in counts}
    for count, text in texts.items():
        actual = len(tokenizer(text)["input_ids"])
        if actual != count:
            raise RuntimeError(f"The {count}-token text tokenizes to {actual} tokens.")
    return texts


def ours(loaded: LoadedModel, view: str, max_tokens: int) -> Render:
    """The app's path: run the model once, then draw at most ``max_tokens`` tokens as offline HTML."""
    draw = head_view_html if view == "head" else model_view_html
    return lambda text: draw(compute_attention(loaded, text), max_tokens=max_tokens)


def baseline_model() -> PreTrainedModel:
    """The embedded MiniLM as a user loads it for bertviz (eager attention, so it returns weights)."""
    return AutoModel.from_pretrained(str(embedded_model_path()), attn_implementation="eager").eval()


def baseline(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, view: str) -> Render:
    """The plain bertviz recipe from its README."""
    draw = head_view if view == "head" else model_view

    def render(text: str) -> str:
        inputs = tokenizer(text, return_tensors="pt")
        outputs = model(**inputs, output_attentions=True)
        tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
        return draw(outputs.attentions, tokens, html_action="return").data

    return render


def timed(render: Render, text: str) -> tuple[float, int]:
    """Seconds one render takes and the length of its HTML in bytes."""
    start = time.perf_counter()
    html = render(text)
    return time.perf_counter() - start, len(html.encode("utf-8"))


def measure(render: Render, text: str, repeats: int) -> Timing:
    """Median of ``repeats`` runs after one warm-up run."""
    timed(render, text)
    runs = [timed(render, text) for _ in range(repeats)]
    return Timing(statistics.median(seconds for seconds, _ in runs), runs[-1][1] / 1e6, repeats)


def measure_in_child(method: str, view: str, tokens: int, limit_s: float) -> tuple[Timing | None, str]:
    """Time one large render in a child process, killed when it runs past ``limit_s`` (+ model loading)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--single", f"{method}:{view}:{tokens}"]
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=limit_s + CHILD_LOAD_S, check=True
        )
    except subprocess.TimeoutExpired:
        return None, f"skipped: no result within {limit_s:.0f} s (+{CHILD_LOAD_S} s to load the model)"
    except subprocess.CalledProcessError as error:
        return None, f"skipped: the child process failed: {error.stderr.strip().splitlines()[-1:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    over = f", over the {limit_s:.0f} s limit" if result["seconds"] > limit_s else ""
    return Timing(result["seconds"], result["bytes"] / 1e6, 1), f"timed once in a child process{over}"


def single(spec: str) -> None:
    """Child mode: load, render once and print {"seconds", "bytes"} as JSON."""
    method, view, tokens = spec.split(":")
    loaded = load_model(EMBEDDED_MODEL)
    text = token_texts(loaded.tokenizer, (int(tokens),))[int(tokens)]
    if method == "ours uncapped":
        render = ours(loaded, view, int(tokens))
    else:
        render = baseline(baseline_model(), loaded.tokenizer, view)
    seconds, size = timed(render, text)
    print(json.dumps({"seconds": seconds, "bytes": size}))


def benchmark_views(repeats: int, limit_s: float) -> list[Row]:
    """Every (tokens, view, method) row; drawings of more than APP_MAX_TOKENS tokens are timed in a child."""
    loaded = load_model(EMBEDDED_MODEL)
    plain = baseline_model()
    rows = []
    for tokens, text in token_texts(loaded.tokenizer, TOKEN_COUNTS).items():
        for view in ("head", "model"):
            drawn = min(tokens, APP_MAX_TOKENS)
            note = f"app cap: draws the first {drawn} of {tokens} tokens" if drawn < tokens else ""
            rows.append(Row(tokens, view, "ours", drawn, measure(ours(loaded, view, drawn), text, repeats), note))
            if tokens <= APP_MAX_TOKENS:
                timing = measure(baseline(plain, loaded.tokenizer, view), text, repeats)
                rows.append(Row(tokens, view, "bertviz", tokens, timing))
            else:
                for method in ("ours uncapped", "bertviz"):
                    rows.append(Row(tokens, view, method, tokens, *measure_in_child(method, view, tokens, limit_s)))
            print(f"  measured {tokens} tokens, {view} view", file=sys.stderr, flush=True)
    return rows


def ratio(value: float, reference: float | None) -> str:
    return f"{value / reference:.2f}" if reference else "-"


def print_table(rows: list[Row]) -> None:
    """One line per row, with ours/bertviz ratios of time and size against the same tokens and view."""
    reference = {(row.tokens, row.view): row.timing for row in rows if row.method == "bertviz"}
    print(
        f"{'tokens':>6} {'view':<5} {'method':<13} {'drawn':>5} {'median s':>9} {'runs':>4} {'MB':>8} "
        f"{'time/base':>9} {'size/base':>9}  note"
    )
    for row in rows:
        cells = f"{row.tokens:>6} {row.view:<5} {row.method:<13} {row.drawn:>5}"
        timing, base = row.timing, reference.get((row.tokens, row.view))
        if timing is None:
            print(f"{cells} {'-':>9} {'-':>4} {'-':>8} {'-':>9} {'-':>9}  {row.note}")
            continue
        time_ratio = size_ratio = ""
        if row.method != "bertviz":
            time_ratio = ratio(timing.seconds, base.seconds if base else None)
            size_ratio = ratio(timing.megabytes, base.megabytes if base else None)
        print(
            f"{cells} {timing.seconds:>9.3f} {timing.runs:>4} {timing.megabytes:>8.2f} "
            f"{time_ratio:>9} {size_ratio:>9}  {row.note}"
        )


def load_attention_page(page: Page, url: str) -> float:
    """Seconds from navigating to ``url`` until the head view's SVG shows the token "animal"."""
    start = time.perf_counter()
    page.goto(url)
    token = page.frame_locator("iframe").first.locator("svg text").filter(has_text=re.compile(r"^animal$"))
    token.first.wait_for(state="visible", timeout=PAGE_TIMEOUT_S * 1000)
    return time.perf_counter() - start


def cold_start() -> None:
    """Launch the app, time health and the first rendered Attention page, then a warm second load."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            started = time.perf_counter()
            with running_app(SERVER_TIMEOUT_S) as app:
                load_attention_page(browser.new_page(), app.url + ATTENTION_PATH)
                first = time.perf_counter() - started
                warm = load_attention_page(browser.new_page(), app.url + ATTENTION_PATH)
        finally:
            browser.close()
    print(f"launch -> /_stcore/health ok:             {app.healthy_after_s:7.2f} s")
    print(f"launch -> first Attention page rendered:  {first:7.2f} s  (head view iframe shows 'animal')")
    print(f"warm second load (new tab, same server):  {warm:7.2f} s")


def print_environment() -> None:
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs; "
        "numbers are from one run on this machine (other work may have been running), not a reference."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs after the warm-up (default 5)")
    parser.add_argument("--limit-s", type=float, default=60, help="give up on drawings of over 128 tokens after this")
    parser.add_argument("--no-browser", action="store_true", help="skip the Streamlit cold-start measurement")
    parser.add_argument("--single", help=argparse.SUPPRESS)  # child mode, "method:view:tokens"
    args = parser.parse_args()
    if args.single:
        single(args.single)
        return
    total = time.perf_counter()
    print(f"== text -> rendered HTML, {EMBEDDED_MODEL}, median of {args.repeats} warm runs ==")
    print_table(benchmark_views(args.repeats, args.limit_s))
    print("\n== cold start: streamlit run -> Attention page in headless Chromium ==")
    if args.no_browser:
        print("skipped: --no-browser")
    elif not CHROMIUM.exists():
        print(f"skipped: {CHROMIUM} not found")
    else:
        cold_start()
    print("\n== environment ==")
    print_environment()
    print(f"benchmark took {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
