"""Nearest-neighbour search over one level of an activation store, by cosine similarity, with numpy or FAISS.

A level whose float32 rows would fit the budget (``XRAY_INDEX_MEMORY_MB``) is searched exactly, straight from the
store: every query reads the level's float16 vectors from disk in chunks of :data:`CHUNK_ROWS` rows, normalises
each chunk and keeps the running top k (:func:`exact_top_k_many`), so nothing of the level stays in memory. The
Embedding search page reads every level this way anyway for its purity chart, so one more level costs it a seventh
more. An in-memory float32 copy of the default store's level (161 MB, held for as long as the page's index was
cached) answered one query in 8 ms instead of 147 ms (medians of 5 queries over its 110k pieces, 2 cores), a
difference no reader sees beside the purity sweep, in a server whose memory (about 2.7 GB on Community Cloud) every
page shares.

Past the budget, a level is compressed, in one of two kinds, the first that fits:

- scalar-quantised (``IndexScalarQuantizer``, 8 bits per value: a quarter of float32's memory, ``hidden`` bytes a
  vector), while those codes fit the budget;
- IVF-PQ (``IndexIVFPQ``: inverted lists over :func:`ivf_lists` k-means centroids, each vector's residual coded by
  :func:`pq_subquantizers` sub-quantizers of 8 bits, under 64 bytes a vector with FAISS's 8-byte id: 56 for 384
  dimensions), for the millions of vectors whose scalar codes would not fit. A query visits the ``nprobe`` lists
  nearest it (``XRAY_IVF_NPROBE``, default :data:`DEFAULT_NPROBE`), takes :data:`RERANK` times the wanted
  neighbours from the codes, and re-ranks them by their exact cosine with the level's float16 vectors read from
  disk (the memory map, or a sharded store's shards), so the scores it returns are exact and its recall is the
  share of the exact top k among the candidates. ``python -m bench.ivfpq`` measures it over 2 million vectors.

Either compressed kind's recall@10 against exact search is measured on sample queries when the index is built and
reported with it (a neighbour tied with the exact 10th, e.g. a copy of a vector, counts as found:
:func:`recall_at_k`). Vectors go in chunk by chunk, so building never holds a second float32 copy of a level.
Exact search's time grows with the level, which is why a level past the budget gets a compressed index in memory
instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

import faiss
import numpy as np

from xray.store.format import ActivationStore
from xray.store.shards import ShardedRows, gather_rows, read_rows
from xray.translation import N_, Message

MEMORY_ENV = "XRAY_INDEX_MEMORY_MB"
DEFAULT_MEMORY_MB = 256
NPROBE_ENV = "XRAY_IVF_NPROBE"
DEFAULT_NPROBE = 128
"""Inverted lists an IVF-PQ query visits unless ``XRAY_IVF_NPROBE`` says otherwise (``python -m bench.ivfpq``)."""
RERANK = 100
"""An IVF-PQ search re-ranks ``RERANK * k`` candidates from the codes by exact cosine to return its top k.

``python -m bench.ivfpq --noise 1.0`` (2M vectors, neighbours at cosine about 0.5, the hardest it draws) measured
recall@10 0.958 in 6.6 ms a query at nprobe 128 and 100 candidates a neighbour, against 0.835 in 1.5 ms at 32 and 10,
and 0.45 from the codes alone: probing and re-ranking both count, and both are cheap next to the 50 ms goal."""
IVF_LISTS = (16, 1024)
"""Fewest and most inverted lists of an IVF-PQ index (:func:`ivf_lists`): training time grows with the most."""
IVF_TRAINING_PER_LIST = 64
PQ_MAX_SUBQUANTIZERS = 48
PQ_BITS = 8
PQ_TRAINING_PER_CENTROID = 39  # FAISS's k-means asks for 39 points a centroid
RECALL_QUERIES = 200
TRAINING_ROWS = 50_000
CHUNK_ROWS = 4_096
"""Rows read, normalised and scored at a time. A chunk's float16 read, its float32 copy and the norm's temporary are
what a scan holds: over the default store's seven levels, 28 MB above the resting memory at 4,096 rows against 97
MB at 16,384, each level scanned in 150-210 ms either way (one fresh process each, 2 cores)."""
TIE_TOLERANCE = 1e-5  # cosines this close to the exact k-th count as tied with it (float32 rounding)

IndexKind = Literal["exact", "scalar-quantised", "IVF-PQ"]
KIND_NAMES: dict[str, str] = {
    "exact": N_("exact"),
    "scalar-quantised": N_("scalar-quantised"),
    "IVF-PQ": N_("inverted-file, product-quantised"),
}
"""Each index kind as a reader reads it (drawn with ``_``)."""


def memory_budget_from_env() -> int:
    """Bytes of float32 rows up to which a level is searched exactly (from disk), and that a compressed index may
    take in memory past it: ``XRAY_INDEX_MEMORY_MB`` if set, else the default."""
    raw = os.environ.get(MEMORY_ENV, "").strip()
    try:
        megabytes = float(raw) if raw else DEFAULT_MEMORY_MB
    except ValueError:
        raise ValueError(f"{MEMORY_ENV} must be a number of megabytes such as 512, not {raw!r}.") from None
    if megabytes <= 0:
        raise ValueError(f"{MEMORY_ENV} must be positive, not {raw!r}.")
    return int(megabytes * 2**20)


def nprobe_from_env() -> int:
    """Inverted lists an IVF-PQ query visits: ``XRAY_IVF_NPROBE`` if set, else :data:`DEFAULT_NPROBE`."""
    raw = os.environ.get(NPROBE_ENV, "").strip()
    if not raw:
        return DEFAULT_NPROBE
    try:
        nprobe = int(raw)
    except ValueError:
        example = DEFAULT_NPROBE
        raise ValueError(f"{NPROBE_ENV} must be a whole number of lists such as {example}, not {raw!r}.") from None
    if nprobe < 1:
        raise ValueError(f"{NPROBE_ENV} must be at least 1, not {raw!r}.")
    return nprobe


def ivf_lists(rows: int) -> int:
    """Inverted lists of an IVF-PQ index over ``rows`` vectors: the power of two nearest sqrt(rows), within
    :data:`IVF_LISTS`, and never more than the rows."""
    nearest = 2 ** round(np.log2(max(rows, 1)) / 2)
    fewest, most = IVF_LISTS
    return max(1, min(max(fewest, min(most, nearest)), rows))


def pq_subquantizers(hidden: int) -> int:
    """Sub-quantizers of an IVF-PQ code: the largest divisor of ``hidden`` up to :data:`PQ_MAX_SUBQUANTIZERS`, one
    byte each (48 for 384 or 768 dimensions, 32 for 1024)."""
    return max(m for m in range(1, min(hidden, PQ_MAX_SUBQUANTIZERS) + 1) if hidden % m == 0)


@dataclass(frozen=True, eq=False)
class LevelIndex:
    """A searchable level. kind: exact while the level's float32 rows would fit the budget; scalar-quantised past
    it; IVF-PQ when even the scalar codes would not fit (see the module's docstring).
    vectors: the level's stored (size, hidden) float16 vectors (a memory map or a sharded store's
        :class:`~xray.store.shards.ShardedRows`, read from the file only, in chunks or rows gathered): what exact search
        scans at every query and IVF-PQ re-ranks its candidates against.
    index: the compressed kinds' FAISS index; None for exact search, which needs none.
    memory_bytes: what the index holds in memory: nothing for exact search, scalar codes, or IVF-PQ codes, ids and
        centroids.
    recall_at_10: share of the index's top 10 (after re-ranking, for IVF-PQ) that belong to the exact top 10, ties
        with the exact 10th included, averaged over sample queries (1.0 when exact); see :func:`recall_at_k`.
    nprobe: for IVF-PQ, the inverted lists a query visits (0 for the other kinds).
    rerank: for IVF-PQ, candidates re-ranked a neighbour asked for (:data:`RERANK`; 0 for the other kinds).
    """

    level: int
    kind: IndexKind
    vectors: np.ndarray | ShardedRows
    index: faiss.Index | None
    memory_bytes: int
    recall_at_10: float
    nprobe: int = 0
    rerank: int = 0

    @property
    def size(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def engine_note(self) -> Message:
        """One sentence for the page: how a query is answered (English, drawn in the run's language with
        :func:`~xray.translation.translated`)."""
        if self.kind == "IVF-PQ":
            return Message(
                N_(
                    "Search runs in FAISS's IVF-PQ index: a query visits the {nprobe} nearest of its {lists} inverted "
                    "lists, takes {rerank} times as many candidates as the neighbours asked for by their compressed "
                    "codes, and re-ranks them by exact cosine against the stored vectors."
                ),
                nprobe=min(self.nprobe, int(self.index.nlist)),
                lists=int(self.index.nlist),
                rerank=self.rerank,
            )
        if self.kind != "exact":
            return Message(N_("Search runs in FAISS's {kind} index."), kind=Message(KIND_NAMES[self.kind]))
        return Message(
            N_(
                "Exact search: the query is compared with each of the level's {rows} stored vectors, read from disk "
                "in chunks, so none of them is held in memory."
            ),
            rows=self.size,
        )


def normalised(vectors: np.ndarray) -> np.ndarray:
    """(n, hidden) float32 rows of unit length (zero rows stay zero)."""
    values = np.array(vectors, dtype=np.float32)  # a copy of its own, divided in place: one float32 copy at a time
    lengths = np.linalg.norm(values, axis=-1, keepdims=True)
    values /= np.maximum(lengths, 1e-12)
    return values


def _chunks(vectors: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, normalised float32 rows) of ``vectors`` in CHUNK_ROWS pieces, so no float32 copy of a whole
    level is ever made."""
    for start in range(0, len(vectors), CHUNK_ROWS):
        yield start, normalised(read_rows(vectors, start, start + CHUNK_ROWS))


def build_index(
    store: ActivationStore, level: int, memory_budget: int | None = None, nprobe: int | None = None
) -> LevelIndex:
    """An index of ``level``'s normalised vectors: exact within ``memory_budget`` bytes (default
    ``XRAY_INDEX_MEMORY_MB``), else scalar-quantised while its codes fit, else IVF-PQ visiting ``nprobe`` lists a
    query (default ``XRAY_IVF_NPROBE``)."""
    budget = memory_budget if memory_budget is not None else memory_budget_from_env()
    vectors = store.vectors(level)
    rows, dimension = vectors.shape
    if rows * dimension * 4 <= budget:
        return LevelIndex(level, "exact", vectors, None, 0, 1.0)
    if rows * dimension > budget:
        return _ivf_pq(level, vectors, nprobe if nprobe is not None else nprobe_from_env())
    index = faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    index.train(normalised(gather_rows(vectors, _sample(rng, rows, TRAINING_ROWS))))
    for _, chunk in _chunks(vectors):
        index.add(chunk)
    queries = normalised(gather_rows(vectors, _sample(rng, rows, RECALL_QUERIES)))
    found = index.search(queries, 10)[1]
    recall = recall_at_k(vectors, queries, found)
    return LevelIndex(level, "scalar-quantised", vectors, index, index.sa_code_size() * rows, recall)


def _sample(rng: np.random.Generator, rows: int, size: int) -> np.ndarray:
    """Up to ``size`` distinct row numbers out of ``rows``, sorted (a memory map reads each page once)."""
    return np.sort(rng.choice(rows, size=min(size, rows), replace=False))


def _ivf_pq(level: int, vectors: np.ndarray | ShardedRows, nprobe: int) -> LevelIndex:
    """The IVF-PQ index of ``vectors`` (n, hidden), trained on a seeded sample of at most
    ``IVF_TRAINING_PER_LIST * lists`` rows (and enough for the PQ's centroids), filled chunk by chunk."""
    if nprobe < 1:
        raise ValueError(f"nprobe must be at least 1, not {nprobe}.")
    rows, dimension = vectors.shape
    lists = ivf_lists(rows)
    bits = max(1, min(PQ_BITS, int(np.log2(rows))))  # a level under 256 rows cannot train 256 centroids a sub-quantizer
    index = faiss.IndexIVFPQ(
        faiss.IndexFlatIP(dimension), dimension, lists, pq_subquantizers(dimension), bits, faiss.METRIC_INNER_PRODUCT
    )
    index.cp.min_points_per_centroid = 1  # a small level's lists train on what it has, without warnings
    index.pq.cp.min_points_per_centroid = 1
    rng = np.random.default_rng(0)
    training = max(IVF_TRAINING_PER_LIST * lists, PQ_TRAINING_PER_CENTROID * 2**bits)
    index.train(normalised(gather_rows(vectors, _sample(rng, rows, training))))
    for _, chunk in _chunks(vectors):
        index.add(chunk)
    index.nprobe = nprobe
    centroids = (lists + 2**bits) * dimension * 4  # the lists' centroids and the sub-quantizers' (256 x hidden)
    memory = (index.code_size + 8) * rows + centroids  # 8: FAISS keeps an int64 id beside each code
    built = LevelIndex(level, "IVF-PQ", vectors, index, memory, 1.0, nprobe=nprobe, rerank=RERANK)
    queries = normalised(gather_rows(vectors, _sample(rng, rows, RECALL_QUERIES)))
    found = np.stack([_padded(search(built, query, 10)[0], 10) for query in queries])
    return replace(built, recall_at_10=recall_at_k(vectors, queries, found))


def _padded(rows: np.ndarray, k: int) -> np.ndarray:
    """``rows`` filled up to ``k`` with -1, as FAISS pads a search that found fewer."""
    return np.concatenate([rows, np.full(k - len(rows), -1, dtype=np.int64)])


def recall_at_k(vectors: np.ndarray, queries: np.ndarray, found: np.ndarray) -> float:
    """Share of the ``found`` rows (queries, k) that are exact top-k neighbours of their query (q, hidden) among
    ``vectors`` (n, hidden), averaged over queries. A found row whose exact cosine equals the exact k-th cosine
    (within :data:`TIE_TOLERANCE`) is a hit: identical vectors tie, and which of them fills the last places of a
    top k is arbitrary, so a set comparison of row numbers would count a tied neighbour as a miss."""
    k = found.shape[1]
    _, exact_scores = exact_top_k_many(vectors, queries, k)
    unit_queries = normalised(queries)
    hits = 0
    for query, rows, scores in zip(unit_queries, found, exact_scores, strict=True):
        valid = rows[rows >= 0]  # FAISS pads with -1 when it finds fewer than k
        found_scores = normalised(np.asarray(gather_rows(vectors, np.sort(valid)), dtype=np.float32)) @ query
        hits += int(np.sum(found_scores >= scores[-1] - TIE_TOLERANCE))
    return hits / (len(found) * min(k, len(vectors)))


def exact_top_k_many(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cosines), each (queries, k), of the exact top ``k`` rows of ``vectors`` (n, hidden) for every query
    (q, hidden), best first; ``vectors`` is read in chunks (a memory-mapped level stays on disk)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    k = min(k, len(vectors))
    unit_queries = normalised(queries)
    best_rows = np.empty((len(queries), 0), dtype=np.int64)
    best_scores = np.empty((len(queries), 0), dtype=np.float32)
    for start, chunk in _chunks(vectors):
        scores = np.concatenate([best_scores, unit_queries @ chunk.T], axis=1)
        chunk_rows = np.broadcast_to(np.arange(start, start + len(chunk)), (len(queries), len(chunk)))
        rows = np.concatenate([best_rows, chunk_rows], axis=1)
        keep = np.argpartition(-scores, min(k, scores.shape[1]) - 1, axis=1)[:, :k]
        best_scores, best_rows = np.take_along_axis(scores, keep, 1), np.take_along_axis(rows, keep, 1)
    order = np.argsort(-best_scores, axis=1, kind="stable")
    return np.take_along_axis(best_rows, order, 1), np.take_along_axis(best_scores, order, 1)


def search(index: LevelIndex, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cosines) of the ``k`` stored vectors most similar to ``query`` (hidden,), best first."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    k = min(k, index.size)
    if index.kind == "exact":
        rows, scores = exact_top_k_many(index.vectors, query[None], k)
        return rows[0], scores[0]
    unit = normalised(query[None])
    if index.kind == "IVF-PQ":
        return _reranked(index, unit[0], k)
    scores, rows = index.index.search(unit, k)
    return rows[0], scores[0]


def _reranked(index: LevelIndex, unit: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """An IVF-PQ search for the unit ``query`` (hidden,): ``index.rerank * k`` candidates from the codes, re-scored
    by their exact cosine with the stored vectors, the best ``k`` first (ties by row, as exact search orders them)."""
    wanted = min(k * index.rerank, index.size)
    found = index.index.search(unit[None], wanted, params=faiss.SearchParametersIVF(nprobe=index.nprobe))[1][0]
    candidates = np.unique(found[found >= 0])  # sorted: a memory map reads each page once
    scores = normalised(np.asarray(gather_rows(index.vectors, candidates), dtype=np.float32)) @ unit
    best = np.argsort(-scores, kind="stable")[:k]
    return candidates[best], scores[best]


def exact_top_k(store: ActivationStore, level: int, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cosines) of the exact top ``k`` at ``level`` for one query (hidden,), read from disk in chunks."""
    rows, scores = exact_top_k_many(store.vectors(level), query[None], k)
    return rows[0], scores[0]
