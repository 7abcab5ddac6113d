"""Tokenizers: training BPE, WordPiece and Unigram together on BBC News, cold and cached, against a whitespace split.

Run: ``HF_HUB_OFFLINE=1 python -m bench.tokenizers [--vocabulary 30000] [--repeats 3]``. Times the page's own cached
function (``components.tokenizers.cached_training``, outside a Streamlit server, its progress bar drawing nowhere):
cold, with its cache cleared before each repeat, and the cached rerun the page gets at the same size. The
baseline, measured in the same run, is one plain whitespace split of the same training articles (``str.split``):
the least any pass over the corpus costs. Also printed: the one-off load of the corpus and the count of its
alphabet and distinct words (once per server). Medians of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable

from components.tokenizers import cached_corpus, cached_training


def seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def median_seconds(work: Callable[[], object], repeats: int, before: Callable[[], None] = lambda: None) -> float:
    runs = []
    for _ in range(repeats):
        before()
        runs.append(seconds(work))
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocabulary", type=int, default=30_000)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    logging.disable(logging.WARNING)  # no "missing ScriptRunContext" lines outside a server

    corpus_s = seconds(cached_corpus)
    corpus = cached_corpus()
    words = sum(len(text.split()) for text in corpus.training)
    baseline_s = median_seconds(lambda: [text.split() for text in corpus.training], arguments.repeats)
    cold_s = median_seconds(lambda: cached_training(arguments.vocabulary), arguments.repeats, cached_training.clear)
    trained = cached_training(arguments.vocabulary)
    cached_s = median_seconds(lambda: cached_training(arguments.vocabulary), max(arguments.repeats, 10))

    sizes = ", ".join(f"{source.vocab_size:,}" for source in trained.tokenizers)
    print(f"{corpus.name}: {len(corpus.training):,} training articles, {words:,} whitespace words")
    print(f"corpus load + alphabet and word count (once per server): {corpus_s:.2f} s")
    print(f"baseline, whitespace split of the training articles: {baseline_s * 1000:.0f} ms")
    print(
        f"training the three at {arguments.vocabulary:,} (cold): {cold_s:.2f} s = {cold_s / baseline_s:,.0f}x the "
        f"baseline ({trained.timings()}; vocabularies {sizes})"
    )
    print(f"rerun at the same size (cached): {cached_s * 1000:.2f} ms = {cached_s / baseline_s:.4f}x the baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
