"""Transformer factors over a corpus's activation store: learning a dictionary from it, measuring it again, and
what the page reads of it: each factor's top contexts, one-line summaries, and the factors that tell a word's
senses apart.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from xray.factors.dictionary import FactorDictionary, TopContexts
from xray.factors.learning import dictionary_figures, learn_dictionary, sample_weights
from xray.factors.solver import FactorSettings, chunked_codes, lipschitz
from xray.progress import Progress
from xray.store.format import ActivationStore
from xray.store.rows import describe_rows
from xray.store.shards import gather_rows
from xray.translation import N_, _

CONTEXTS = N_("finding each factor's top contexts")
CONTEXT_PIECES = 10_000  # pieces of the corpus searched for each factor's top contexts
CONTEXT_TOP = 10


def learn_from_store(
    store: ActivationStore,
    settings: FactorSettings,
    *,
    samples: int = 100_000,
    device: torch.device | str = "cpu",
    checkpoint_folder: Path | None = None,
    progress: Progress | None = None,
) -> FactorDictionary:
    """:func:`learn_dictionary` over every level of an activation store, frequent pieces down-weighted, then each
    factor's top contexts in the store. progress: through stage :data:`xray.factors.solver.LEARNING`, then
    :data:`CONTEXTS`."""
    levels = [store.vectors(level) for level in range(store.levels)]
    learned = learn_dictionary(
        levels,
        sample_weights(store.tokens["piece"].to_numpy()),
        settings,
        model=store.manifest.model,
        revision=store.manifest.revision,
        samples=samples,
        device=device,
        checkpoint_folder=checkpoint_folder,
        progress=progress,
    )
    contexts = find_top_contexts(learned.atoms, store, settings.sparsity, seed=settings.seed, progress=progress)
    return replace(learned, contexts=contexts)


def rescore_from_store(dictionary: FactorDictionary, store: ActivationStore) -> FactorDictionary:
    """``dictionary`` with its figures (quality, importance, top contexts) measured again on ``store``, the store
    it was learned on, by today's coder; the atoms are kept as they are (nothing is learned)."""
    levels = [store.vectors(level) for level in range(store.levels)]
    quality, importance = dictionary_figures(dictionary.atoms, levels, dictionary.settings)
    contexts = find_top_contexts(dictionary.atoms, store, dictionary.settings.sparsity, seed=dictionary.settings.seed)
    return replace(dictionary, quality=quality, importance=importance, contexts=contexts)


def find_top_contexts(
    atoms: np.ndarray,
    store: ActivationStore,
    sparsity: float,
    *,
    pieces: int = CONTEXT_PIECES,
    top: int = CONTEXT_TOP,
    seed: int = 0,
    progress: Progress | None = None,
) -> TopContexts:
    """Each factor's ``top`` strongest pieces at each level among ``pieces`` pieces of the store, drawn at random."""
    rows = np.sort(
        np.random.default_rng(seed).choice(store.manifest.pieces, min(pieces, store.manifest.pieces), replace=False)
    )
    dictionary = torch.from_numpy(atoms)
    bound = lipschitz(dictionary)
    best_rows = np.zeros((store.levels, len(atoms), top), dtype=np.int64)
    best_codes = np.zeros((store.levels, len(atoms), top), dtype=np.float32)
    for level in range(store.levels):
        codes = chunked_codes(dictionary, store.vectors(level), sparsity, rows=rows, bound=bound)  # (pieces, factors)
        values, indices = codes.topk(min(top, len(rows)), dim=0)  # (top, factors)
        best_codes[level, :, : values.shape[0]] = values.T.numpy()
        best_rows[level, :, : values.shape[0]] = rows[indices.T.numpy()]
        if progress is not None:
            progress(level + 1, store.levels, CONTEXTS)
    return TopContexts(best_rows, best_codes, store.folder.name, store.manifest.corpus_name, store.layout)


def factor_summaries(dictionary: FactorDictionary, store: ActivationStore, words: int = 3) -> list[str]:
    """Per factor, one line from its top contexts at the level where it peaks: its most frequent words there
    (e.g. "bank, river, shore"), or "" where the dictionary has no contexts for it."""
    contexts = dictionary.contexts
    if contexts is None:
        return [""] * dictionary.factors
    peaks = dictionary.peak_level()
    rows = contexts.rows[peaks, np.arange(dictionary.factors)]  # (factors, top)
    used = contexts.codes[peaks, np.arange(dictionary.factors)] > 0
    described = describe_rows(store, rows[used])["word"].str.lower().to_numpy()
    owners = np.repeat(np.arange(dictionary.factors), used.sum(axis=1))
    summaries = []
    for factor in range(dictionary.factors):
        counts = pd.Series(described[owners == factor]).value_counts()
        summaries.append(", ".join(counts.index[:words]))
    return summaries


def sense_factors(dictionary: FactorDictionary, store: ActivationStore, word: str, top: int = 3) -> pd.DataFrame:
    """The factors whose codes best tell the senses of ``word`` apart, per level, on the word-sense sentences of
    ``store`` (texts with ``word``, ``sense_label`` and ``start`` columns; the target's first piece is coded).

    Returns level, factor, separation (Fisher's ratio: the variance of the senses' mean codes over the mean
    variance within a sense), and one ``mean <sense>`` column per sense; the ``top`` factors per level, best first.
    """
    texts = store.texts
    if not {"word", "sense_label", "start"} <= set(texts.columns):
        raise ValueError(
            _("The corpus '{corpus}' has no word-sense sentences.").format(corpus=store.manifest.corpus_name)
        )
    chosen = texts[texts["word"] == word].reset_index(names="text_id")
    if chosen["sense_label"].nunique() < 2:
        raise ValueError(_("'{word}' is not a word of the word-sense set; pick one of its words.").format(word=word))
    pieces = store.tokens[["text_id", "start"]].reset_index(names="row")
    targets = chosen[["text_id", "start", "sense_label"]].astype({"start": int}).merge(pieces, on=["text_id", "start"])
    senses = sorted(targets["sense_label"].unique())
    records = []
    for level in range(store.levels):
        codes = dictionary.codes(
            np.asarray(gather_rows(store.vectors(level), targets["row"].to_numpy()), dtype=np.float32)
        )
        means = np.stack([codes[(targets["sense_label"] == sense).to_numpy()].mean(axis=0) for sense in senses])
        within = np.stack([codes[(targets["sense_label"] == sense).to_numpy()].var(axis=0) for sense in senses])
        separation = means.var(axis=0) / (within.mean(axis=0) + 1e-6)
        for factor in np.argsort(-separation, kind="stable")[:top]:
            record = {"level": level, "factor": int(factor), "separation": round(float(separation[factor]), 3)}
            records.append(
                record | {f"mean {sense}": round(float(means[i, factor]), 4) for i, sense in enumerate(senses)}
            )
    return pd.DataFrame(records)
