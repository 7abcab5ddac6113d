"""Directions of the residual stream as units: a piece's activation on a direction is its projection on it.

Three kinds at a level, each a (hidden, units) matrix of unit columns: the standard basis (each hidden dimension),
PCA components of the level's vectors (fitted on a seeded sample of the store's pieces, centred on their mean),
and random unit directions (seeded Gaussian, normalised), the floor any explanation should beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from xray.store.format import ActivationStore
from xray.store.shards import gather_rows

DIRECTION_KINDS = ("basis", "pca", "random")
PCA_SAMPLE = 20_000  # pieces the PCA of a level is fitted on
CHUNK = 8_192  # pieces projected at a time


@dataclass(frozen=True)
class Directions:
    """Unit directions at one level: a piece's activation on unit ``u`` is ``(vector - offset) @ matrix[:, u]``.

    kind: one of :data:`DIRECTION_KINDS`; matrix: (hidden, units) float32, columns of unit length; offset: (hidden,)
    float32, the mean PCA centres on (zeros for the other kinds).
    """

    kind: str
    level: int
    matrix: np.ndarray
    offset: np.ndarray

    @property
    def units(self) -> int:
        return self.matrix.shape[1]

    def activations(self, vectors: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """(pieces, len(columns)) float32 projections of ``vectors`` (pieces, hidden), e.g. a memory-mapped store
        level, on the directions ``columns``, read :data:`CHUNK` pieces at a time."""
        matrix = self.matrix[:, columns]
        out = np.empty((len(vectors), len(columns)), dtype=np.float32)
        for start in range(0, len(vectors), CHUNK):
            chunk = np.asarray(vectors[start : start + CHUNK], dtype=np.float32)
            out[start : start + CHUNK] = (chunk - self.offset) @ matrix
        return out


def basis_directions(hidden: int, level: int) -> Directions:
    """Each hidden dimension as a unit: the neuron basis of the residual stream."""
    return Directions("basis", level, np.eye(hidden, dtype=np.float32), np.zeros(hidden, dtype=np.float32))


def random_directions(hidden: int, level: int, units: int, seed: int = 0) -> Directions:
    """``units`` random unit directions, drawn from ``numpy.random.default_rng((seed, level))`` one direction after
    another, so direction ``j`` is the same whatever the count (a saved score stays the score of its direction)."""
    if units < 1:
        raise ValueError(f"Ask for at least one random direction, not {units}.")
    matrix = np.random.default_rng((seed, level)).standard_normal((units, hidden)).T.astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=0, keepdims=True)
    return Directions("random", level, matrix, np.zeros(hidden, dtype=np.float32))


def pca_directions(store: ActivationStore, level: int, *, sample: int = PCA_SAMPLE, seed: int = 0) -> Directions:
    """The PCA components of ``level`` (largest variance first), fitted on up to ``sample`` of the store's pieces
    drawn with ``numpy.random.default_rng((seed, level))``; as many components as the sample allows."""
    vectors = store.vectors(level)
    count = min(sample, len(vectors))
    if count < 2:
        raise ValueError("PCA needs at least two stored pieces; this store has fewer.")
    rows = np.sort(np.random.default_rng((seed, level)).choice(len(vectors), count, replace=False))
    fitted = PCA(svd_solver="full").fit(np.asarray(gather_rows(vectors, rows), dtype=np.float32))
    return Directions("pca", level, fitted.components_.T.astype(np.float32), fitted.mean_.astype(np.float32))


def directions(kind: str, store: ActivationStore, level: int, *, units: int, seed: int = 0) -> Directions:
    """The directions of ``kind`` at ``level`` (``units`` is how many random ones to draw)."""
    hidden = store.manifest.hidden_size
    if kind == "basis":
        return basis_directions(hidden, level)
    if kind == "pca":
        return pca_directions(store, level, seed=seed)
    if kind == "random":
        return random_directions(hidden, level, units, seed)
    raise ValueError(f"'{kind}' is not a kind of direction; pick one of {', '.join(DIRECTION_KINDS)}.")
