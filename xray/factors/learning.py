"""Learning a factor dictionary from hidden states of every level, and measuring it: quality on held-out rows
and each factor's importance per level (Yun et al.'s score, the mean of its top-n codes at that level).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from xray.factors.dictionary import FactorDictionary, FactorQuality
from xray.factors.solver import FactorSettings, chunked_codes, learn_atoms, lipschitz, normalised, sparse_coding
from xray.progress import Progress

TOP_N = 500
EVALUATION_ROWS = 2_000  # held-out rows per level the quality is measured on
IMPORTANCE_ROWS = 10_000  # rows per level the importance (the mean of a factor's top 500 codes) is taken over


def sample_weights(piece_ids: np.ndarray) -> np.ndarray:
    """(n,) sampling weights that down-weight frequent pieces: 1 / sqrt(count of the piece), summing to 1."""
    _, inverse, counts = np.unique(piece_ids, return_inverse=True, return_counts=True)
    weights = 1.0 / np.sqrt(counts[inverse])
    return weights / weights.sum()


def evaluate(
    atoms: np.ndarray, levels: list[np.ndarray], sparsity: float, top_n: int = TOP_N
) -> tuple[FactorQuality, np.ndarray]:
    """Quality and importance of ``atoms`` on samples of every level: ``levels[l]`` is (n_l, hidden).

    Returns the quality and (levels, factors) importance over the same samples (:func:`factor_importance`).
    """
    dictionary = torch.from_numpy(atoms)
    bound = lipschitz(dictionary)
    errors, importance, active, nonzeros, tokens, steps = [], [], torch.zeros(len(atoms), dtype=torch.bool), 0.0, 0, 0
    for states in levels:
        inputs = normalised(torch.as_tensor(states, dtype=torch.float32))
        coded = sparse_coding(dictionary, inputs, sparsity, bound=bound)
        codes = coded.codes
        residual = (inputs - codes @ dictionary).norm(dim=1)
        errors.append(float(residual.mean()))
        importance.append(_top_mean(codes, top_n))
        active |= (codes > 0).any(dim=0)
        nonzeros += float((codes > 0).sum())
        tokens += len(codes)
        steps += int(coded.steps.sum())
    shares = nonzeros / max(tokens, 1), 1.0 - float(active.float().mean()), steps / max(tokens, 1)
    return FactorQuality(tuple(errors), *shares), np.stack(importance)


def _top_mean(codes: torch.Tensor, top_n: int) -> np.ndarray:
    """(factors,) the mean of each column's ``top_n`` largest codes (all of them where there are fewer rows)."""
    return codes.topk(min(top_n, len(codes)), dim=0).values.mean(dim=0).numpy()


def factor_importance(atoms: np.ndarray, levels: list[np.ndarray], sparsity: float, top_n: int = TOP_N) -> np.ndarray:
    """(levels, factors) Yun et al.'s importance: the mean of each factor's ``top_n`` largest codes among the rows
    of each level (``levels[l]``: (n_l, hidden), coded in chunks)."""
    dictionary = torch.from_numpy(atoms)
    bound = lipschitz(dictionary)
    return np.stack([_top_mean(chunked_codes(dictionary, states, sparsity, bound=bound), top_n) for states in levels])


def learn_dictionary(
    levels: list[np.ndarray],
    weights: np.ndarray | None,
    settings: FactorSettings,
    *,
    model: str,
    revision: str,
    samples: int = 100_000,
    device: torch.device | str = "cpu",
    checkpoint_folder: Path | None = None,
    progress: Progress | None = None,
) -> FactorDictionary:
    """One dictionary for every level: learned on ``samples`` vectors drawn from all levels alike, with
    ``weights`` (over one level's rows, e.g. :func:`sample_weights`) down-weighting frequent pieces, then scored
    on held-out rows of every level.

    levels: per level (n, hidden), the same n rows (tokens) at every level.
    Raises ValueError when every code comes out zero (the sparsity is too high for these vectors).
    """
    started = time.perf_counter()
    rows = len(levels[0])
    rng = np.random.default_rng(settings.seed)
    held_out = rng.choice(rows, size=min(EVALUATION_ROWS, rows // 5), replace=False)  # as _held_out draws them
    training = np.setdiff1d(np.arange(rows), held_out)
    probabilities = weights[training] / weights[training].sum() if weights is not None else None
    per_level = max(1, samples // len(levels))
    picked = [rng.choice(training, size=per_level, p=probabilities) for _ in levels]
    training_samples = np.concatenate([np.asarray(level[chosen]) for level, chosen in zip(levels, picked, strict=True)])
    atoms = learn_atoms(
        training_samples, settings, device=device, checkpoint_folder=checkpoint_folder, progress=progress
    )
    quality, importance = dictionary_figures(atoms, levels, settings)
    return FactorDictionary(atoms, importance, settings, quality, model, revision, time.perf_counter() - started)


def _held_out(rows: int, seed: int) -> np.ndarray:
    """The rows :func:`learn_dictionary` holds out of learning, to measure the quality on (drawn first)."""
    return np.random.default_rng(seed).choice(rows, size=min(EVALUATION_ROWS, rows // 5), replace=False)


def _importance_rows(rows: int, seed: int) -> np.ndarray:
    """The rows, sorted, the importance is taken over: :data:`IMPORTANCE_ROWS` (or every row), drawn apart from
    learning's draws, so the number does not change what is learned."""
    return np.sort(np.random.default_rng([seed, 1]).choice(rows, size=min(IMPORTANCE_ROWS, rows), replace=False))


def dictionary_figures(
    atoms: np.ndarray, levels: list[np.ndarray], settings: FactorSettings
) -> tuple[FactorQuality, np.ndarray]:
    """Quality on the held-out rows and importance over :func:`_importance_rows` of every level."""
    rows = len(levels[0])
    held_out = np.sort(_held_out(rows, settings.seed))
    quality, _ = evaluate(atoms, [np.asarray(level[held_out]) for level in levels], settings.sparsity)
    if quality.nonzeros == 0:
        raise ValueError(
            f"With sparsity {settings.sparsity} every code is zero: no factor explains any token. Lower the sparsity."
        )
    chosen = _importance_rows(rows, settings.seed)
    return quality, factor_importance(atoms, [level[chosen] for level in levels], settings.sparsity)
