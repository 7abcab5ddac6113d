"""The IVF-PQ index a level goes to when even scalar-quantised codes pass the memory budget: chosen by the budget,
re-ranked by exact cosine, its recall measured, its nprobe a setting, a sharded level searched as one array."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from tests.test_store import SETTINGS, tiny_corpus
from xray.store.builder import build_store
from xray.store.search import (
    DEFAULT_NPROBE,
    KIND_NAMES,
    MEMORY_ENV,
    NPROBE_ENV,
    RERANK,
    build_index,
    exact_top_k_many,
    normalised,
    nprobe_from_env,
    recall_at_k,
    search,
)
from xray.store.shards import ShardedRows
from xray.techniques.embedding_search import search_neighbours, stored_states

HIDDEN = 384
ROWS = 2_000
IVF_BUDGET = ROWS * HIDDEN // 2  # under the scalar codes (rows x hidden bytes): IVF-PQ


class Store:
    """The one thing :func:`build_index` reads of a store: a level's (rows, hidden) float16 vectors."""

    def __init__(self, vectors: np.ndarray | ShardedRows) -> None:
        self._vectors = vectors

    def vectors(self, level: int) -> np.ndarray | ShardedRows:
        return self._vectors


@pytest.fixture(scope="module")
def clustered() -> np.ndarray:
    """(ROWS, HIDDEN) float16: 150 random centres, each point one of them plus noise (neighbours share a centre)."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((150, HIDDEN))
    points = centres[rng.integers(0, len(centres), ROWS)] + 0.4 * rng.standard_normal((ROWS, HIDDEN))
    return points.astype(np.float16)


@pytest.fixture(scope="module")
def ivf(clustered):
    return build_index(Store(clustered), 0, memory_budget=IVF_BUDGET, nprobe=8)


@pytest.fixture(scope="module")
def queries(clustered) -> np.ndarray:
    """(40, HIDDEN) float32 queries near stored points, none of them a stored vector."""
    rng = np.random.default_rng(3)
    picked = clustered[rng.choice(ROWS, 40, replace=False)].astype(np.float32)
    return picked + 0.2 * rng.standard_normal(picked.shape).astype(np.float32)


def test_the_kind_follows_the_memory_budget(clustered, ivf):
    store = Store(clustered)
    assert build_index(store, 0, memory_budget=ROWS * HIDDEN * 4).kind == "exact"
    assert build_index(store, 0, memory_budget=ROWS * HIDDEN).kind == "scalar-quantised"  # its codes just fit
    assert ivf.kind == "IVF-PQ" and ivf.size == ROWS and ivf.nprobe == 8 and ivf.rerank == RERANK
    assert "IVF-PQ" in KIND_NAMES and ivf.memory_bytes < ROWS * HIDDEN  # less than the scalar codes


def test_results_are_exact_search_re_ranked_with_exact_cosines(clustered, ivf, queries):
    exact_rows, exact_scores = exact_top_k_many(clustered, queries, 10)
    unit = normalised(clustered)
    same = 0
    for query, wanted, wanted_scores in zip(queries, exact_rows, exact_scores, strict=True):
        rows, scores = search(ivf, query, 10)
        assert len(rows) == 10 and len(set(rows.tolist())) == 10
        np.testing.assert_allclose(scores, unit[rows] @ normalised(query[None])[0], atol=1e-5)  # exact cosines
        assert np.all(np.diff(scores) <= 0)  # best first
        same += np.array_equal(rows, wanted)
        assert scores[0] == pytest.approx(wanted_scores[0], abs=1e-5)  # the nearest is always found
    assert same >= 0.9 * len(queries)
    rows, scores = search(ivf, clustered[5].astype(np.float32), 1)
    assert rows.tolist() == [5] and scores[0] == pytest.approx(1.0, abs=1e-5)  # a vector is its own neighbour


def test_recall_is_measured_when_built_and_re_ranking_lifts_it(clustered, ivf, queries):
    assert 0.95 <= ivf.recall_at_10 <= 1.0
    found = np.stack([search(ivf, query, 10)[0] for query in queries])
    assert recall_at_k(clustered, queries, found) >= 0.95
    # The codes alone (no re-ranking: the index's own top 10) find fewer of the exact top 10.
    codes_only = ivf.index.search(normalised(queries), 10)[1]
    assert recall_at_k(clustered, queries, codes_only) < recall_at_k(clustered, queries, found)
    # Re-ranking only 10 candidates for a top 10 is the codes' own order, exactly scored.
    fewer = np.stack([search(replace(ivf, rerank=1), query, 10)[0] for query in queries])
    assert recall_at_k(clustered, queries, fewer) == recall_at_k(clustered, queries, codes_only)


def test_nprobe_is_a_setting_read_from_the_environment(clustered, monkeypatch):
    monkeypatch.setenv(NPROBE_ENV, "3")
    assert nprobe_from_env() == 3
    index = build_index(Store(clustered[:600]), 0, memory_budget=1_000)
    assert index.kind == "IVF-PQ" and index.nprobe == 3
    note = index.engine_note
    assert "IVF-PQ" in note and "visits the 3 nearest of its 32 inverted lists" in note and "re-ranks" in note
    for bad in ("many", "0", "-2", "2.5"):
        monkeypatch.setenv(NPROBE_ENV, bad)
        with pytest.raises(ValueError, match=NPROBE_ENV):
            nprobe_from_env()
        with pytest.raises(ValueError, match=NPROBE_ENV):
            build_index(Store(clustered[:600]), 0, memory_budget=1_000)
    monkeypatch.delenv(NPROBE_ENV)
    assert nprobe_from_env() == DEFAULT_NPROBE


def test_a_vector_takes_under_64_bytes_in_memory_with_its_id(ivf):
    lists, hidden = ivf.index.nlist, HIDDEN
    per_vector = ivf.index.code_size + 8  # FAISS's int64 id beside each code
    assert ivf.index.code_size == 48 and per_vector == 56 < 64
    assert ivf.memory_bytes == per_vector * ROWS + (lists + 256) * hidden * 4  # codes, ids and centroids


def test_a_sharded_level_is_searched_as_one_array(clustered, ivf, queries):
    parts = [clustered[:700], clustered[700:1_500], clustered[1_500:]]
    sharded = build_index(Store(ShardedRows(parts)), 0, memory_budget=IVF_BUDGET, nprobe=8)

    assert sharded.kind == "IVF-PQ" and sharded.recall_at_10 == ivf.recall_at_10
    for query in queries[:10]:
        rows, scores = search(sharded, query, 10)
        single_rows, single_scores = search(ivf, query, 10)
        np.testing.assert_array_equal(rows, single_rows)
        np.testing.assert_allclose(scores, single_scores, atol=1e-6)


def test_a_small_store_level_searched_through_ivf_pq_finds_the_piece_itself(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)  # ~50 pieces: fewer PQ bits
    index = build_index(store, 1, memory_budget=256)
    assert index.kind == "IVF-PQ" and 0.9 <= index.recall_at_10 <= 1.0

    result = search_neighbours(store, index, "x", stored_states(store, 4), k=3)
    assert result.index_kind == "IVF-PQ" and result.recall_at_10 == index.recall_at_10
    assert result.neighbours["row"].iloc[0] == 4 and result.neighbours["cosine"].iloc[0] == pytest.approx(1.0)
    assert "IVF-PQ" in result.engine_note


@pytest.mark.app
@pytest.mark.integration
def test_the_search_page_shows_an_ivf_pq_levels_recall_and_how_it_searched_in_turkish(monkeypatch):
    from components.corpus import cached_index
    from tests.pages import assert_clean, english_left, run_page, with_text

    monkeypatch.setenv(MEMORY_ENV, "0.01")  # 10 kB: a word-sense level's 8-bit codes do not fit
    monkeypatch.setenv(NPROBE_ENV, "4")
    cached_index.clear()  # an index another test built at the old budget is not this one
    try:
        app = run_page(
            "2_Embedding_search.py", text="We sat on the bank of the river", layer="3", lang="tr", corpus="Word senses"
        )
    finally:
        cached_index.clear()
    assert_clean(app)
    caption = with_text(app.caption, "ters dosyalı, çarpım nicemlenmiş").value
    assert re.search(r"kesin ilk 10 komşunun %\d+ kadarını", caption), caption
    assert "IVF-PQ dizininde" in caption and "en yakın 4 tanesini" in caption and "yeniden sıralıyor" in caption
    assert english_left(app) == []
