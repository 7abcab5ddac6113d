"""Nearest-neighbour search over one level of an activation store, by cosine similarity, with FAISS.

A level's vectors are normalised and held in an exact inner-product index (``IndexFlatIP``) when they fit the
memory budget; past it, in a scalar-quantised index (8 bits per value, a quarter of the memory), whose recall@10
against exact search is measured on sample queries when the index is built and reported with it.
:func:`exact_top_k` searches a level straight from disk in chunks, for sweeps over every level.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import faiss
import numpy as np

from xray.store.activations import ActivationStore

MEMORY_ENV = "XRAY_INDEX_MEMORY_MB"
DEFAULT_MEMORY_MB = 256
RECALL_QUERIES = 200
CHUNK_ROWS = 65_536

IndexKind = Literal["exact", "scalar-quantised"]


def memory_budget_from_env() -> int:
    """Bytes one level's index may take: ``XRAY_INDEX_MEMORY_MB`` if set, else the default."""
    raw = os.environ.get(MEMORY_ENV, "").strip()
    try:
        megabytes = float(raw) if raw else DEFAULT_MEMORY_MB
    except ValueError:
        raise ValueError(f"{MEMORY_ENV} must be a number of megabytes such as 512, not {raw!r}.") from None
    if megabytes <= 0:
        raise ValueError(f"{MEMORY_ENV} must be positive, not {raw!r}.")
    return int(megabytes * 2**20)


@dataclass(frozen=True, eq=False)
class LevelIndex:
    """A searchable level. kind: exact, or scalar-quantised when exact would pass the budget.
    recall_at_10: share of the exact top 10 the index finds, averaged over sample queries (1.0 when exact).
    """

    level: int
    kind: IndexKind
    index: faiss.Index
    memory_bytes: int
    recall_at_10: float

    @property
    def size(self) -> int:
        return int(self.index.ntotal)


def normalised(vectors: np.ndarray) -> np.ndarray:
    """(n, hidden) float32 rows of unit length (zero rows stay zero)."""
    values = np.asarray(vectors, dtype=np.float32)
    lengths = np.linalg.norm(values, axis=-1, keepdims=True)
    return values / np.maximum(lengths, 1e-12)


def _level_in_chunks(store: ActivationStore, level: int) -> np.ndarray:
    vectors = store.vectors(level)
    return np.concatenate(
        [normalised(vectors[start : start + CHUNK_ROWS]) for start in range(0, len(vectors), CHUNK_ROWS)]
    )


def build_index(store: ActivationStore, level: int, memory_budget: int | None = None) -> LevelIndex:
    """An index of ``level``'s normalised vectors: exact within ``memory_budget`` bytes, else scalar-quantised."""
    budget = memory_budget if memory_budget is not None else memory_budget_from_env()
    vectors = _level_in_chunks(store, level)
    dimension = vectors.shape[1]
    if vectors.nbytes <= budget:
        index = faiss.IndexFlatIP(dimension)
        index.add(vectors)
        return LevelIndex(level, "exact", index, vectors.nbytes, 1.0)
    index = faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    index.train(vectors)
    index.add(vectors)
    recall = _recall_at_10(index, vectors)
    return LevelIndex(level, "scalar-quantised", index, index.sa_code_size() * len(vectors), recall)


def _recall_at_10(index: faiss.Index, vectors: np.ndarray) -> float:
    """Mean share of the exact top 10 that ``index`` returns, over up to RECALL_QUERIES stored vectors."""
    rng = np.random.default_rng(0)
    queries = vectors[rng.choice(len(vectors), size=min(RECALL_QUERIES, len(vectors)), replace=False)]
    _, exact = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    _, found = index.search(queries, 10)
    return float(np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(exact, found, strict=True)]))


def search(index: LevelIndex, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cosines) of the ``k`` stored vectors most similar to ``query`` (hidden,), best first."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    scores, rows = index.index.search(normalised(query[None]), min(k, index.size))
    return rows[0], scores[0]


def exact_top_k(store: ActivationStore, level: int, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cosines) of the exact top ``k`` at ``level``, read from disk in chunks (no index kept)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    vectors, norms = store.vectors(level), store.norms(level)
    unit_query = normalised(query[None])[0]
    scores = np.empty(len(vectors), dtype=np.float32)
    for start in range(0, len(vectors), CHUNK_ROWS):
        chunk = np.asarray(vectors[start : start + CHUNK_ROWS], dtype=np.float32)
        scores[start : start + len(chunk)] = chunk @ unit_query / np.maximum(norms[start : start + len(chunk)], 1e-12)
    k = min(k, len(scores))
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return best, scores[best]
