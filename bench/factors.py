"""Transformer factors: our dictionary learner against scikit-learn's MiniBatchDictionaryLearning.

Run: ``HF_HUB_OFFLINE=1 python -m bench.factors [--tokens 3000] [--factors 1000]``. Both learn the same number of
atoms with non-negative codes (scikit-learn: ``positive_code=True``, coordinate descent) on the same vectors:
``--tokens`` word pieces of the default corpus's MiniLM store at every level, normalised. Both dictionaries are
then scored the same way, by our FISTA codes on held-out pieces: relative reconstruction error and non-zeros per
token. One run each; the ratio of fit times is printed. Also times the codes of a 30-token sentence at every
level with the shipped dictionary. ``--lime`` times only LIME (1,000 samples) on the strongest top context of three
factors, against a bare forward pass over as many texts.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from xray.cache import default_cache_root
from xray.corpora.builtin import SEARCH_CORPUS, load_builtin
from xray.factors.dictionary import SHIPPED_DICTIONARY, load_dictionary
from xray.factors.learning import evaluate
from xray.factors.solver import FactorSettings, learn_atoms
from xray.models.batching import hidden_states, run_batched
from xray.models.loading import EMBEDDED_MODEL, load_model
from xray.store.builder import build_store
from xray.store.format import StoreSettings, open_store
from xray.store.rows import describe_rows
from xray.store.search import normalised
from xray.techniques.attention import compute_attention
from xray.techniques.factor_lime import explain_factor

SENTENCE = (
    "The committee said on Tuesday that the river bank near the old mill would be closed while engineers "
    "repaired the flood wall and the footpath."
)


def vectors(store, rows: np.ndarray) -> list[np.ndarray]:
    return [normalised(np.asarray(store.vectors(level)[rows], dtype=np.float32)) for level in range(store.levels)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=3_000, help="word pieces per level to learn on")
    parser.add_argument("--factors", type=int, default=1_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--codes-only", action="store_true", help="only time the codes of a sentence")
    parser.add_argument("--lime", action="store_true", help="only time LIME on three top contexts")
    arguments = parser.parse_args()
    loaded = load_model(EMBEDDED_MODEL)
    if arguments.lime:
        time_factor_lime(loaded)
        return 0
    if not arguments.codes_only:
        compare_learners(loaded, arguments)
    time_sentence_codes(loaded)
    return 0


def time_factor_lime(loaded) -> None:
    """LIME (1,000 samples) on the strongest top context of three factors at three levels, against the baseline
    of a bare forward pass over as many distinct texts (the context with a number appended) as LIME codes."""
    dictionary = load_dictionary(SHIPPED_DICTIONARY)
    store = open_store(default_cache_root() / dictionary.contexts.store)
    for factor, level in ((10, 1), (300, 4), (777, 6)):
        context = describe_rows(store, dictionary.contexts.rows[level, factor][:1]).iloc[0]
        started = time.perf_counter()
        result = explain_factor(loaded, dictionary, context.text, (int(context.start), int(context.end)), level, factor)
        seconds = time.perf_counter() - started
        texts = [f"{context.text} {index}" for index in range(result.distinct_texts)]  # distinct, as LIME's are
        started = time.perf_counter()
        run_batched(loaded, texts, lambda batch, level=level: hidden_states(loaded, batch)[level][:, 0])
        forward = time.perf_counter() - started
        print(
            f"factor {factor} at level {level} on '{context.piece}': LIME {seconds:.2f} s for "
            f"{result.distinct_texts} distinct contexts ({seconds / forward:.1f}x a bare forward pass over as many "
            f"texts, {forward:.2f} s); R² {result.score:.2f}"
        )


def compare_learners(loaded, arguments: argparse.Namespace) -> None:
    """Fit ours and scikit-learn's on the same vectors; score both the same way."""
    store = build_store(loaded, load_builtin(SEARCH_CORPUS), default_cache_root(), StoreSettings(bf16=True))
    rng = np.random.default_rng(0)
    rows = rng.permutation(store.manifest.pieces)
    training = np.concatenate(vectors(store, np.sort(rows[: arguments.tokens])))
    held_out = vectors(store, np.sort(rows[arguments.tokens : arguments.tokens + 1_000]))
    settings = FactorSettings(factors=arguments.factors, epochs=arguments.epochs)
    print(
        f"{len(training):,} vectors x {training.shape[1]} ({arguments.tokens:,} pieces x {store.levels} levels), "
        f"{settings.factors} factors, sparsity {settings.sparsity}, {settings.epochs} epochs"
    )

    started = time.perf_counter()
    ours = learn_atoms(training, settings)
    ours_s = time.perf_counter() - started

    from sklearn.decomposition import MiniBatchDictionaryLearning

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        learner = MiniBatchDictionaryLearning(
            n_components=settings.factors,
            alpha=settings.sparsity,
            batch_size=settings.batch_size,
            max_iter=settings.epochs,
            positive_code=True,
            fit_algorithm="cd",
            transform_algorithm="lasso_cd",
            random_state=settings.seed,
        ).fit(training)
    theirs_s = time.perf_counter() - started
    theirs = normalised(learner.components_.astype(np.float32))

    for name, atoms, seconds in (("ours", ours, ours_s), ("scikit-learn", theirs, theirs_s)):
        quality, _ = evaluate(atoms, held_out, settings.sparsity)
        print(
            f"  {name:<13} fit {seconds:6.1f} s; held-out relative error {np.mean(quality.relative_error):.3f} "
            f"(per level {', '.join(f'{e:.2f}' for e in quality.relative_error)}), "
            f"{quality.nonzeros:.1f} non-zeros per token, {quality.dead_share:.1%} dead factors"
        )
    print(f"  ours is {theirs_s / ours_s:.1f}x faster (goal: at least 5x at equal or better error and sparsity)")


def time_sentence_codes(loaded) -> None:
    """The codes of one sentence at every level with the shipped dictionary, median of 5."""
    if SHIPPED_DICTIONARY.is_file():
        dictionary = load_dictionary(SHIPPED_DICTIONARY)
        states = compute_attention(loaded, SENTENCE).hidden_states
        times = []
        for _ in range(5):
            started = time.perf_counter()
            dictionary.codes(states.reshape(-1, states.shape[-1]))
            times.append(time.perf_counter() - started)
        print(
            f"codes of a {states.shape[1]}-token sentence at all {states.shape[0]} levels with the shipped "
            f"dictionary: median {sorted(times)[2]:.3f} s (goal: under 0.2 s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
