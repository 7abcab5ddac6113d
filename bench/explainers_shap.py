"""Benchmark the SHAP page's explainer against the plain shap recipe on the embedded topic classifier.

Run from the repository root (the hub is never needed):

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.explainers_shap [--max-evals 500] [--repeats 3] [--threads N]

For one news sentence of 20-25 tokens and the BBC topic classifier on the embedded MiniLM, it runs shap's
Partition explainer, ``shap.Explainer(f, shap.maskers.Text(tokenizer))([text], max_evals=...)``, with:

- ``plain, one at a time``: the recipe a user writes first, ``f`` running tokenizer + model + head on each text
  alone (:func:`bench.explainers_lime.plain_probabilities`); shap's default batch size;
- ``plain, batch 64``: the same ``f`` on 64 texts at a time; shap still hands it ~6 texts per call;
- ``plain, shap batch 64``: also ``batch_size=64`` in the explainer call: fewer, larger calls, but other values
  (the batch size steers which nodes of the token hierarchy are split before the budget runs out);
- ``ours fp32`` / ``ours bf16``: :func:`xray.techniques.shap_explain.explain_shap` (a prefetch pass at batch 64 fills
  a cache of distinct texts, then shap's default traversal is replayed from it), in float32 and under bfloat16 autocast.

Times are medians of warm runs after one warm-up (the one-at-a-time recipe is timed once, it is slow), split
into the model's share and shap's own (masking, the Owen recursion). Each row gives its speed-up over the
one-at-a-time recipe and the largest |SHAP value difference| from it. Before all of that, the first shap call of
the process is timed on a free model: numba compiles shap's helpers then, once per process. Numbers come from
one run on one machine (a shared machine makes them noisy); nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # also runnable as `python bench/explainers_shap.py`
    sys.path.insert(0, str(ROOT))
os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers reads it

import numpy as np  # noqa: E402
import shap  # noqa: E402
import torch  # noqa: E402

from bench.explainers_lime import ClassifierFn, in_batches, one_at_a_time  # noqa: E402
from bench.timing import median_run  # noqa: E402
from tests.doubles import RecordingClassifier  # noqa: E402
from xray.models.batching import InferenceSettings, bf16_is_fast  # noqa: E402
from xray.models.classifiers import EmbeddingHeadClassifier, topic_classifier  # noqa: E402
from xray.models.loading import EMBEDDED_MODEL, load_model  # noqa: E402
from xray.techniques.shap_explain import explain_shap  # noqa: E402

TEXT = "The striker scored twice in the second half as the home team won the cup final in front of a record crowd."


@dataclass(frozen=True)
class Row:
    """One timed explanation. values: (tokens, classes); calls and texts: model calls and the texts they ran."""

    name: str
    seconds: float
    model_seconds: float
    calls: int
    texts: int
    values: np.ndarray


class Recorder:
    """Wraps a classifier function, recording each call's seconds and number of texts."""

    def __init__(self, function: ClassifierFn) -> None:
        self.function = function
        self.seconds: list[float] = []
        self.sizes: list[int] = []

    def __call__(self, texts) -> np.ndarray:
        started = time.perf_counter()
        result = self.function([str(text) for text in texts])
        self.seconds.append(time.perf_counter() - started)
        self.sizes.append(len(texts))
        return result


def run_plain(name: str, function: ClassifierFn, tokenizer, max_evals: int, batch_size: int | str = "auto") -> Row:
    recorder = Recorder(function)
    started = time.perf_counter()
    result = shap.Explainer(recorder, shap.maskers.Text(tokenizer))(
        [TEXT], max_evals=max_evals, batch_size=batch_size, silent=True
    )
    seconds = time.perf_counter() - started
    return Row(name, seconds, sum(recorder.seconds), len(recorder.sizes), sum(recorder.sizes), result.values[0])


def run_ours(name: str, classifier: EmbeddingHeadClassifier, max_evals: int) -> Row:
    recording = RecordingClassifier(classifier)
    result = explain_shap(recording, TEXT, max_evals=max_evals)
    return Row(name, result.seconds, sum(recording.seconds), len(recording.sizes), sum(recording.sizes), result.values)


def numba_first_call(tokenizer) -> tuple[float, float]:
    """Seconds of the process's first shap explanation on a free model, and of the next one (numba compiled)."""

    def free(texts) -> np.ndarray:
        return np.full((len(texts), 2), 0.5)

    explainer = shap.Explainer(free, shap.maskers.Text(tokenizer))
    times = []
    for _ in range(2):
        started = time.perf_counter()
        explainer([TEXT], max_evals=100, silent=True)
        times.append(time.perf_counter() - started)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-evals", type=int, default=500, help="shap's max_evals (default 500)")
    parser.add_argument("--repeats", type=int, default=3, help="timed warm runs of the fast rows (default 3)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    total = time.perf_counter()
    loaded = load_model(EMBEDDED_MODEL)
    tokenizer = loaded.tokenizer
    first, second = numba_first_call(tokenizer)
    fp32 = topic_classifier(loaded)
    bf16 = topic_classifier(loaded, InferenceSettings(bf16=True))
    tokens = len(tokenizer(TEXT)["input_ids"])
    print(f"== SHAP Partition explainer, max_evals {args.max_evals}, {EMBEDDED_MODEL} topic head ==")
    print(f"text ({tokens} tokens with [CLS]/[SEP]): {TEXT}")
    print(f"first shap call of the process (numba compiles): {first:.2f} s; the next: {second:.2f} s")

    evals = args.max_evals
    run: dict[str, Callable[[], Row]] = {
        "plain, batch 64": lambda: run_plain("plain, batch 64", in_batches(fp32), tokenizer, evals),
        "plain, shap batch 64": lambda: run_plain("plain, shap batch 64", in_batches(fp32), tokenizer, evals, 64),
        "ours fp32": lambda: run_ours("ours fp32", fp32, evals),
        "ours bf16": lambda: run_ours("ours bf16", bf16, evals),
    }
    one_by_one = one_at_a_time(fp32)
    one_by_one([TEXT] * 8)  # warm-up
    rows = [run_plain("plain, one at a time", one_by_one, tokenizer, evals)]
    print(f"  measured {rows[0].name}: {rows[0].seconds:.1f} s", file=sys.stderr, flush=True)
    for name, measure in run.items():
        measure()  # warm-up
        rows.append(median_run([measure() for _ in range(args.repeats)], "model_seconds"))
        print(f"  measured {name}", file=sys.stderr, flush=True)

    reference = rows[0]
    header = ("method", "total s", "model s", "shap s", "shap/model", "calls", "texts run", "speed-up", "max |dv|")
    print(f"{header[0]:<22} " + " ".join(f"{title:>9}" for title in header[1:]))
    for row in rows:
        own = row.seconds - row.model_seconds
        print(
            f"{row.name:<22} {row.seconds:9.2f} {row.model_seconds:9.2f} {own:9.2f} {own / row.model_seconds:10.0%} "
            f"{row.calls:9,} {row.texts:9,} {reference.seconds / row.seconds:8.1f}x "
            f"{np.abs(row.values - reference.values).max():9.1e}"
        )
    print("shap/model: shap's own time (masking, the Owen recursion, our cache) against the model's (goal ≤ 20%)")

    print("\n== environment ==")
    print(
        f"torch {torch.__version__}, shap {shap.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} "
        f"CPUs, device {loaded.device}, fast bf16: {bf16_is_fast(loaded.device)}, load average "
        f"{' '.join(f'{value:.1f}' for value in os.getloadavg())}"
    )
    print(f"benchmark took {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
