"""Benchmark the LIME page's explainer against the plain lime recipe on the embedded topic classifier.

Run from the repository root (the hub is never needed):

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.explainers_lime [--samples 5000] [--repeats 3] [--threads N]

For one news sentence of 20-25 tokens and the BBC topic classifier on the embedded MiniLM, it times
``LimeTextExplainer(random_state=0).explain_instance(text, f, labels=(predicted,), num_samples=...)``
with four classifier functions ``f``:

- ``plain, one at a time``: the recipe a user writes first: tokenizer + model + head on each text alone;
- ``plain, batch 64``: the same code on lime's texts in lime's order, 64 at a time, padded to each batch's longest;
- ``ours fp32`` / ``ours bf16``: :func:`xray.techniques.lime_explain.explain_lime` (one ``predict_proba`` call:
  duplicates skipped, texts sorted by length, padded per batch), in float32 and under bfloat16 autocast.

Times are medians of warm runs after one warm-up (the one-at-a-time recipe is timed once, it is slow),
split into the classifier's share and lime's own (perturbing, distances, ridge fits). Each row also gives
its speed-up over the one-at-a-time recipe and the largest |weight difference| from it: the same seed draws
the same perturbed texts, so float32 rows differ only by float rounding. Numbers come from one run on one
machine (a shared machine makes them noisy); nothing is asserted.
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
if str(ROOT) not in sys.path:  # also runnable as `python bench/explainers_lime.py`
    sys.path.insert(0, str(ROOT))
os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers reads it

import numpy as np  # noqa: E402
import torch  # noqa: E402
from lime.lime_text import LimeTextExplainer  # noqa: E402

from bench.timing import median_run  # noqa: E402
from tests.doubles import RecordingClassifier  # noqa: E402
from xray.models.batching import InferenceSettings, bf16_is_fast  # noqa: E402
from xray.models.classifiers import EmbeddingHeadClassifier, topic_classifier  # noqa: E402
from xray.models.loading import EMBEDDED_MODEL, load_model  # noqa: E402
from xray.techniques.lime_explain import explain_lime  # noqa: E402

TEXT = "The central bank raised interest rates again on Thursday, and shares in the largest lenders fell sharply."
SEED = 0
BATCH = 64

ClassifierFn = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Row:
    name: str
    seconds: float
    classifier_seconds: float
    weights: dict[str, float]
    distinct: int


def plain_probabilities(classifier: EmbeddingHeadClassifier, texts: list[str]) -> np.ndarray:
    """What a user writes without our batching: tokenize, run, mean-pool, normalise, apply the head."""
    loaded, head = classifier.loaded, classifier.head
    batch = loaded.tokenizer(texts, padding=True, truncation=True, max_length=head.max_tokens, return_tensors="pt")
    with torch.inference_mode():
        hidden = loaded.model.base_model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    return torch.softmax(torch.from_numpy(pooled @ head.weights.T + head.bias), dim=-1).numpy()


def one_at_a_time(classifier: EmbeddingHeadClassifier) -> ClassifierFn:
    return lambda texts: np.concatenate([plain_probabilities(classifier, [text]) for text in texts])


def in_batches(classifier: EmbeddingHeadClassifier) -> ClassifierFn:
    return lambda texts: np.concatenate(
        [plain_probabilities(classifier, texts[start : start + BATCH]) for start in range(0, len(texts), BATCH)]
    )


def timed(function: ClassifierFn, spent: list[float]) -> ClassifierFn:
    def run(texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        result = function(texts)
        spent.append(time.perf_counter() - started)
        return result

    return run


def run_plain(name: str, function: ClassifierFn, label: int, samples: int, features: int) -> Row:
    spent: list[float] = []
    started = time.perf_counter()
    explanation = LimeTextExplainer(random_state=SEED).explain_instance(
        TEXT, timed(function, spent), labels=(label,), num_features=features, num_samples=samples
    )
    return Row(name, time.perf_counter() - started, spent[0], dict(explanation.as_list(label)), samples)


def run_ours(name: str, classifier: EmbeddingHeadClassifier, label: int, samples: int, features: int) -> Row:
    recording = RecordingClassifier(classifier)
    result = explain_lime(recording, TEXT, class_index=label, num_samples=samples, num_features=features)
    weights = dict(zip(result.words, result.weights.tolist(), strict=True))
    return Row(name, result.seconds, recording.seconds[0], weights, result.distinct_texts)


def largest_difference(weights: dict[str, float], reference: dict[str, float]) -> float:
    """max |weight - reference weight| over both explanations' words (a word missing from one counts as 0)."""
    words = set(weights) | set(reference)
    return max(abs(weights.get(word, 0.0) - reference.get(word, 0.0)) for word in words)


def print_bf16_difference(fp32: EmbeddingHeadClassifier, bf16: EmbeddingHeadClassifier, samples: int) -> None:
    """The largest class-probability difference between bfloat16 autocast and float32 over LIME's texts."""
    texts: list[str] = []
    LimeTextExplainer(random_state=SEED).explain_instance(
        TEXT, lambda batch: texts.extend(batch) or fp32.predict_proba(batch), num_samples=samples
    )
    difference = np.abs(bf16.predict_proba(texts) - fp32.predict_proba(texts))
    print(
        f"bf16 vs fp32 over LIME's {len(set(texts)):,} distinct texts: largest probability difference "
        f"{difference.max():.1e}, mean {difference.mean():.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000, help="lime's num_samples (default 5000)")
    parser.add_argument("--features", type=int, default=10, help="lime's num_features (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="timed warm runs of the fast rows (default 3)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    total = time.perf_counter()
    loaded = load_model(EMBEDDED_MODEL)
    fp32 = topic_classifier(loaded)
    bf16 = topic_classifier(loaded, InferenceSettings(bf16=True))
    label = int(np.argmax(fp32.predict_proba([TEXT])[0]))
    tokens = len(loaded.tokenizer(TEXT)["input_ids"])
    print(f"== LIME, {args.samples} samples, {args.features} features, seed {SEED}, {EMBEDDED_MODEL} topic head ==")
    print(f"text ({tokens} tokens with [CLS]/[SEP]): {TEXT}")
    print(f"explained class: {fp32.class_names[label]}")

    run = {
        "plain, batch 64": lambda: run_plain("plain, batch 64", in_batches(fp32), label, args.samples, args.features),
        "ours fp32": lambda: run_ours("ours fp32", fp32, label, args.samples, args.features),
        "ours bf16": lambda: run_ours("ours bf16", bf16, label, args.samples, args.features),
    }
    one_by_one = one_at_a_time(fp32)
    one_by_one([TEXT] * 8)  # warm-up
    rows = [run_plain("plain, one at a time", one_by_one, label, args.samples, args.features)]
    print(f"  measured {rows[0].name}: {rows[0].seconds:.1f} s", file=sys.stderr, flush=True)
    for name, measure in run.items():
        measure()  # warm-up
        rows.append(median_run([measure() for _ in range(args.repeats)], "classifier_seconds"))
        print(f"  measured {name}", file=sys.stderr, flush=True)

    reference = rows[0]
    header = ("method", "total s", "model s", "lime s", "texts run", "speed-up", "max |dw|")
    print(f"{header[0]:<22} " + " ".join(f"{title:>9}" for title in header[1:]))
    for row in rows:
        print(
            f"{row.name:<22} {row.seconds:9.2f} {row.classifier_seconds:9.2f} "
            f"{row.seconds - row.classifier_seconds:9.2f} {row.distinct:9,} {reference.seconds / row.seconds:8.1f}x "
            f"{largest_difference(row.weights, reference.weights):9.1e}"
        )
    top = sorted(reference.weights.items(), key=lambda item: -abs(item[1]))[:5]
    print("top weights (plain): " + ", ".join(f"{word} {weight:+.4f}" for word, weight in top))
    print_bf16_difference(fp32, bf16, args.samples)

    print("\n== environment ==")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"device {loaded.device}, fast bf16: {bf16_is_fast(loaded.device)}, load average "
        f"{' '.join(f'{value:.1f}' for value in os.getloadavg())}"
    )
    print(f"benchmark took {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
