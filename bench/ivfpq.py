"""Search over millions of vectors: the IVF-PQ index the app builds when even 8-bit codes pass the memory budget.

Run: ``HF_HUB_OFFLINE=1 python -m bench.ivfpq`` (2 million vectors: 1.5 GB of float16 written to ``--work-dir``,
deleted at the end; several minutes on 2 cores). Everything is measured in this process, against a baseline measured
in the same run:

1. data: synthetic vectors with a real store's structure. The centres are real MiniLM vectors (the last level of the
   embedded model's store over the default search corpus, built under ``--cache-dir`` if it is not there); each
   synthetic vector is one centre plus Gaussian noise scaled to the centres' per-dimension spread (``--noise``), so a
   vector's neighbours are its centre's other copies and the real neighbours' copies, near but not equal. They are
   written as float16 in ``--shards`` memory-mapped ``.npy`` files, chunk by chunk, and joined by
   :class:`~xray.store.shards.ShardedRows` as a sharded store's level is: the index searches them as one array.
2. build: :func:`xray.store.search.build_index` at the app's default memory budget (256 MB, or half the 8-bit codes
   for a smaller ``--rows``), which the 8-bit codes pass, so the level goes to IVF-PQ; the build includes its
   recall@10 measured on 200 sample queries.
3. search: ``--queries`` fresh synthetic queries (drawn like the vectors, not stored), top 10 through the app's
   :func:`~xray.store.search.search` at several nprobe values: median and p95 ms, recall@10 against exact search
   (:func:`~xray.store.search.exact_top_k_many` over the same vectors, ties counted as the app counts them), and as
   the baseline, numpy brute force over the same vectors normalised in memory as float32 (what exact search would
   cost if the level fitted the budget), timed on ``--baseline-queries`` of them.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from xray.cache import default_cache_root
from xray.corpora.builtin import SEARCH_CORPUS, load_builtin
from xray.models.loading import EMBEDDED_MODEL, load_model
from xray.store.builder import build_store
from xray.store.search import (
    CHUNK_ROWS,
    DEFAULT_MEMORY_MB,
    DEFAULT_NPROBE,
    RERANK,
    build_index,
    exact_top_k_many,
    normalised,
    recall_at_k,
    search,
)
from xray.store.shards import ShardedRows

GOAL_MS, GOAL_RECALL, GOAL_BYTES = 50, 0.95, 64
WRITE_ROWS = 65_536


class Level:
    """The one thing :func:`build_index` reads of a store: the level's vectors (here, the shards joined)."""

    def __init__(self, vectors: ShardedRows) -> None:
        self._vectors = vectors

    def vectors(self, level: int) -> ShardedRows:
        return self._vectors


def real_centres(cache_root: Path) -> np.ndarray:
    """(pieces, 384) float32: the last level of MiniLM's store over the default search corpus."""
    started = time.perf_counter()
    store = build_store(load_model(EMBEDDED_MODEL), load_builtin(SEARCH_CORPUS), cache_root)
    centres = np.asarray(store.vectors(store.levels - 1), dtype=np.float32)
    print(
        f"1. centres: {len(centres):,} real MiniLM vectors (last level of the store over {SEARCH_CORPUS}), "
        f"{time.perf_counter() - started:.1f} s to build or open the store"
    )
    return centres


def synthetic(centres: np.ndarray, spread: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """(rows, hidden) float32: each a random centre plus noise of standard deviation ``spread`` per dimension."""
    picks = rng.integers(0, len(centres), rows)
    return centres[picks] + rng.standard_normal((rows, centres.shape[1]), dtype=np.float32) * spread


def write_shards(centres, spread, rows: int, shards: int, folder: Path, rng) -> list[Path]:
    """``shards`` float16 ``.npy`` files of about rows / shards synthetic vectors each, written chunk by chunk."""
    paths, bounds = [], [int(bound) for bound in np.linspace(0, rows, shards + 1)]
    for shard, (start, stop) in enumerate(itertools.pairwise(bounds)):
        path = folder / f"level_{shard:02d}.npy"
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(stop - start, centres.shape[1]))
        for first in range(0, stop - start, WRITE_ROWS):
            count = min(WRITE_ROWS, stop - start - first)
            out[first : first + count] = synthetic(centres, spread, count, rng)
        out.flush()
        del out
        paths.append(path)
    return paths


def timed(run, queries: np.ndarray) -> tuple[list[float], list]:
    """Milliseconds of ``run(query)`` for each query (after one untimed call), and the answers."""
    run(queries[0])
    times, answers = [], []
    for query in queries:
        started = time.perf_counter()
        answers.append(run(query))
        times.append((time.perf_counter() - started) * 1000)
    return times, answers


def brute_force_ms(vectors: ShardedRows, queries: np.ndarray) -> float:
    """Median ms of numpy's exact top 10 over ``vectors`` normalised into one float32 array in memory."""
    unit = np.empty(vectors.shape, dtype=np.float32)
    for start in range(0, len(vectors), CHUNK_ROWS):
        unit[start : start + CHUNK_ROWS] = normalised(vectors[start : start + CHUNK_ROWS])
    times, _ = timed(lambda query: np.argpartition(-(unit @ query), 10)[:10], normalised(queries))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="synthetic vectors (default 2,000,000)")
    parser.add_argument("--shards", type=int, default=4, help="files the vectors are split into (default 4)")
    parser.add_argument("--noise", type=float, default=0.6, help="noise per dimension, times the centres' spread")
    parser.add_argument("--queries", type=int, default=200, help="timed queries (default 200)")
    parser.add_argument("--baseline-queries", type=int, default=20, help="queries timed by brute force (default 20)")
    parser.add_argument("--nprobe", default="32,64,128,256", help="nprobe values searched (comma-separated)")
    parser.add_argument("--rerank", default=str(RERANK), help="candidates re-ranked a neighbour (comma-separated)")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_root(), help="where the real store lives")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()), help="where vectors go")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    centres = real_centres(args.cache_dir)
    spread = (args.noise * centres.std(axis=0)).astype(np.float32)
    folder = Path(tempfile.mkdtemp(prefix="xray-bench-ivfpq-", dir=args.work_dir))
    try:
        started = time.perf_counter()
        paths = write_shards(centres, spread, args.rows, args.shards, folder, rng)
        vectors = ShardedRows([np.load(path, mmap_mode="r") for path in paths])
        size = sum(path.stat().st_size for path in paths)
        print(
            f"   data: {len(vectors):,} x {vectors.shape[1]} float16 in {args.shards} shards ({size / 2**30:.2f} GiB), "
            f"noise {args.noise} x the per-dimension spread, written in {time.perf_counter() - started:.1f} s"
        )

        started = time.perf_counter()
        budget = min(DEFAULT_MEMORY_MB * 2**20, vectors.shape[0] * vectors.shape[1] // 2)  # under the 8-bit codes
        index = build_index(Level(vectors), 0, memory_budget=budget)
        build_s = time.perf_counter() - started
        per_vector = index.memory_bytes / index.size
        print(
            f"2. build: {index.kind} at a budget of {budget / 2**20:.0f} MB ({index.index.nlist} lists, "
            f"{index.index.pq.M} sub-quantizers x {index.index.pq.nbits} bits), {build_s:.1f} s including the recall "
            f"measured on 200 sample stored vectors: {index.recall_at_10:.3f} at nprobe {index.nprobe}"
        )
        print(
            f"   memory: {index.memory_bytes / 2**20:,.1f} MiB, {per_vector:.1f} bytes a vector with ids and "
            f"centroids (goal under {GOAL_BYTES}); the float16 vectors re-ranking reads stay on disk"
        )

        queries = synthetic(centres, spread, args.queries, rng)
        started = time.perf_counter()
        exact_rows, _ = exact_top_k_many(vectors, queries, 10)
        exact_s = time.perf_counter() - started
        baseline = brute_force_ms(vectors, queries[: args.baseline_queries])
        print(
            f"3. search: top 10 for {args.queries} fresh synthetic queries; "
            f"baseline numpy brute force over the same vectors in memory (float32): median {baseline:.1f} ms "
            f"({args.baseline_queries} queries); exact search from disk in chunks took {exact_s:.1f} s for all"
        )
        assert exact_rows.shape == (args.queries, 10)
        nprobes = sorted({int(value) for value in args.nprobe.split(",")} | {DEFAULT_NPROBE})
        for rerank, nprobe in itertools.product(sorted({int(value) for value in args.rerank.split(",")}), nprobes):
            probed = replace(index, nprobe=nprobe, rerank=rerank)
            times, answers = timed(lambda query, probed=probed: search(probed, query, 10)[0], queries)
            recall = recall_at_k(vectors, queries, np.stack(answers))
            median = statistics.median(times)
            default = " (default)" if (nprobe, rerank) == (DEFAULT_NPROBE, RERANK) else ""
            print(
                f"   nprobe {nprobe:3d}, re-rank {rerank:2d} x 10{default:10}: median {median:5.1f} ms, p95 "
                f"{np.percentile(times, 95):5.1f} ms ({baseline / median:5.1f}x faster than the baseline), "
                f"recall@10 {recall:.3f}"
            )
        codes_only = index.index.search(normalised(queries), 10)[1]  # the IVF-PQ's own top 10, nothing re-ranked
        print(
            f"   without re-ranking (the codes' own top 10 at nprobe {index.nprobe}): recall@10 "
            f"{recall_at_k(vectors, queries, codes_only):.3f}"
        )
        print(
            f"   goals: under {GOAL_MS} ms a query, recall@10 at least {GOAL_RECALL}, under {GOAL_BYTES} bytes a vector"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
