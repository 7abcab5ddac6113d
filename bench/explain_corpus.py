"""Benchmark the explainers over a corpus against the single-sentence path run text by text.

Run from the repository root (the hub is never needed):

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.explain_corpus [--texts 16] [--bf16]

On the first ``--texts`` held-out BBC News sentences and the BBC topic classifier on the embedded MiniLM, with the
corpus run's default budgets (SHAP 500 evaluations, LIME 1,000 samples, integrated gradients 50 steps), it times
one warm pass of each (after a warm-up on two texts):

- ``single-sentence path``: :func:`xray.techniques.compare.explain_and_compare` on each text in turn, what the
  Which explanation page runs for one sentence (every method, then its comprehensiveness and sufficiency curves);
- ``corpus run, text by text``: :func:`xray.explainer_benchmark.run.explain_texts` with ``coalesce=False``, each
  chunk's faithfulness texts (ferret's, random orders included) in one classifier call;
- ``corpus run, coalesced``: the same with ``coalesce=True``, a chunk's texts explained at once in threads whose
  classifier calls are merged into one (:mod:`xray.models.coalesced`).

Each row gives seconds, seconds a text, the speed-up over the single-sentence path, the classifier calls and the
distinct texts they held, and the minutes 200 texts would take at that speed; the last lines give the largest
|difference| of the coalesced run's word scores and AOPC from the text-by-text run's. Numbers come from one run on
one machine (a shared machine makes them noisy); nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # also runnable as `python bench/explain_corpus.py`
    sys.path.insert(0, str(ROOT))
os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers reads it

import numpy as np  # noqa: E402
import torch  # noqa: E402

from xray.corpora.builtin import load_builtin  # noqa: E402
from xray.explainer_benchmark.run import ExplainedText, explain_texts  # noqa: E402
from xray.explainer_benchmark.saved import BenchmarkSettings, chosen_texts  # noqa: E402
from xray.models.classifiers import Classifier, ClassifierSpec, build_classifier  # noqa: E402
from xray.models.loading import EMBEDDED_MODEL, load_model  # noqa: E402
from xray.progress import Progress  # noqa: E402
from xray.techniques.compare import explain_and_compare  # noqa: E402

BUDGETS = {"max_evals": 500, "num_samples": 1000, "steps": 50}
PLANNED_TEXTS = 200


class Counted:
    """``classifier`` with its ``predict_proba`` calls and their distinct texts counted."""

    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self.calls = 0
        self.texts = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.classifier, name)

    def predict_proba(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        self.calls += 1
        self.texts += len(set(texts))
        return self.classifier.predict_proba(texts, progress)


def timed(classifier: Classifier, run: Callable[[Classifier], object]) -> tuple[float, int, int, object]:
    """Seconds of ``run(counted classifier)``, its classifier calls and distinct texts, and its output."""
    counted = Counted(classifier)
    started = time.perf_counter()
    output = run(counted)  # type: ignore[arg-type]
    return time.perf_counter() - started, counted.calls, counted.texts, output


def largest_differences(first: list[ExplainedText], second: list[ExplainedText]) -> tuple[float, float]:
    """The largest |difference| of two runs' word scores, and of their comprehensiveness and sufficiency."""
    scores = max(
        float(np.abs(one.scores[method] - other.scores[method]).max())
        for one, other in zip(first, second, strict=True)
        for method in one.scores
    )
    aopc = max(
        abs(one_values[method] - other_values[method])
        for one, other in zip(first, second, strict=True)
        for one_values, other_values in (
            (one.comprehensiveness, other.comprehensiveness),
            (one.sufficiency, other.sufficiency),
        )
        for method in one_values
    )
    return scores, aopc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=16)
    parser.add_argument("--bf16", action="store_true", help="the classifier under bfloat16 autocast")
    arguments = parser.parse_args()
    spec = ClassifierSpec.choose("topic", EMBEDDED_MODEL, bf16=arguments.bf16)
    classifier = build_classifier(spec, load_model(EMBEDDED_MODEL))
    texts, _ = chosen_texts(load_builtin("BBC News sentences"), BenchmarkSettings(texts=arguments.texts))
    explain_texts(classifier, texts[:2], **BUDGETS)  # warm-up: kernels, shap's compiled code
    print(
        f"{len(texts)} held-out BBC News sentences ({np.mean([len(text.split()) for text in texts]):.0f} words on "
        f"average), SHAP {BUDGETS['max_evals']} evaluations, LIME {BUDGETS['num_samples']} samples, "
        f"{BUDGETS['steps']} gradient steps, {'bfloat16' if arguments.bf16 else 'float32'}, torch threads "
        f"{torch.get_num_threads()}"
    )
    runs = {
        "single-sentence path, text by text": lambda shared: [
            explain_and_compare(shared, text, **BUDGETS) for text in texts
        ],
        "corpus run, text by text": lambda shared: explain_texts(shared, texts, coalesce=False, **BUDGETS),
        "corpus run, coalesced": lambda shared: explain_texts(shared, texts, coalesce=True, **BUDGETS),
    }
    rows = {name: timed(classifier, run) for name, run in runs.items()}
    baseline = rows["single-sentence path, text by text"][0]
    print(f"{'run':<38}{'seconds':>9}{'s/text':>8}{'speed-up':>10}{'calls':>7}{'texts':>8}{'200 texts':>11}")
    for name, (seconds, calls, distinct, _) in rows.items():
        per_text = seconds / len(texts)
        minutes = per_text * PLANNED_TEXTS / 60
        print(
            f"{name:<38}{seconds:>9.1f}{per_text:>8.2f}{baseline / seconds:>9.2f}x{calls:>7}{distinct:>8}"
            f"{minutes:>8.1f} min"
        )
    scores, aopc = largest_differences(rows["corpus run, text by text"][3], rows["corpus run, coalesced"][3])  # type: ignore[arg-type]
    print(f"coalesced against text by text: max |word score diff| {scores:.1e}, max |AOPC diff| {aopc:.1e}")


if __name__ == "__main__":
    main()
