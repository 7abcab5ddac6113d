"""The activation store and its search, on tiny random models and a tiny corpus built in code."""

from __future__ import annotations

import errno
import fcntl
import json

import numpy as np
import pandas as pd
import pytest

import xray.store.builder as builder
from xray.cache import BuildStatus
from xray.corpora.corpus import Corpus
from xray.levels import level_name
from xray.store.builder import COMPUTING, StoreBusyError, build_status, build_store
from xray.store.format import StoreError, StoreSettings, find_store, store_name
from xray.store.search import build_index, exact_top_k, recall_at_k, search
from xray.store.shards import level_file
from xray.techniques.attention import compute_attention

TEXTS = [
    "she sat on the bank of the river",
    "the bank sent her a letter about the loan",
    "the animal didn't cross the street",
    "hello world",
    "the trophy didn't fit in the suitcase because it was too big",
    "the keys to the cabinet are on the table",
    "the film was not good but the music was not bad at all",
]
SETTINGS = StoreSettings(batch_size=2, max_tokens=32)


def tiny_corpus(texts: list[str] = TEXTS) -> Corpus:
    labels = ["river", "money", "street", "greeting", "trophy", "keys", "film"][: len(texts)]
    return Corpus("tiny", pd.DataFrame({"text": texts, "label": labels}), label_column="label")


class Interrupted(Exception):
    pass


def test_stored_vectors_are_the_models_hidden_states(tiny, tmp_path):
    loaded = tiny["bert"]
    store = build_store(loaded, tiny_corpus(), tmp_path, SETTINGS, tags=False)

    assert store.levels == loaded.num_layers + 1 and len(store.texts) == len(TEXTS)
    for text_id, text in enumerate(TEXTS):
        states = compute_attention(loaded, text).hidden_states  # (levels, tokens, hidden), [CLS] ... [SEP]
        rows = store.tokens.index[store.tokens["text_id"] == text_id].to_numpy()
        assert store.tokens.loc[rows, "position"].tolist() == list(range(1, states.shape[1] - 1))
        for level in range(store.levels):
            stored = np.asarray(store.vectors(level)[rows], dtype=np.float32)
            np.testing.assert_allclose(stored, states[level, 1:-1], rtol=2e-3, atol=2e-3)
            np.testing.assert_allclose(store.pooled(level)[text_id], stored.mean(axis=0), rtol=2e-3, atol=2e-3)


def test_pieces_point_at_their_characters(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)

    for row in store.tokens.index[store.tokens["piece"] == "bank"]:
        text, start, end = store.context(int(row))
        assert text[start:end] == "bank"


def test_a_finished_store_is_found_and_not_rebuilt(tiny, tmp_path):
    loaded, corpus = tiny["bert"], tiny_corpus()
    calls = []
    first = build_store(loaded, corpus, tmp_path, SETTINGS, tags=False, progress=lambda *a: calls.append(a))
    again = build_store(loaded, corpus, tmp_path, SETTINGS, tags=False, progress=lambda *a: calls.append(a))

    assert calls and calls[-1] == (first.manifest.pieces, first.manifest.pieces, COMPUTING)
    assert len(calls) == len(range(0, len(TEXTS), SETTINGS.batch_size))  # the second call computed nothing
    assert again.folder == first.folder


def test_another_corpus_or_model_gets_another_store(tiny, tmp_path):
    corpus = tiny_corpus()
    changed = tiny_corpus([*TEXTS[:-1], "the film was good"])

    assert store_name(tiny["bert"], corpus, SETTINGS) != store_name(tiny["bert"], changed, SETTINGS)
    assert store_name(tiny["bert"], corpus, SETTINGS) != store_name(tiny["roberta"], corpus, SETTINGS)
    build_store(tiny["bert"], corpus, tmp_path, SETTINGS, tags=False)
    assert find_store(tiny["bert"], changed, tmp_path, SETTINGS) is None


def test_an_interrupted_build_is_never_read_and_resumes_from_its_last_checkpoint(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "CHECKPOINT_S", 0.0)  # a checkpoint after every batch
    loaded, corpus = tiny["bert"], tiny_corpus()
    seen = []

    def stop_after_two_batches(done: int, total: int, stage: str) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        build_store(loaded, corpus, tmp_path, SETTINGS, tags=False, progress=stop_after_two_batches)
    assert find_store(loaded, corpus, tmp_path, SETTINGS) is None
    assert not any((folder / "manifest.json").exists() for folder in tmp_path.iterdir() if folder.is_dir())

    resumed = []
    store = build_store(loaded, corpus, tmp_path, SETTINGS, tags=False, progress=lambda d, t, s: resumed.append(d))
    batches = len(range(0, len(TEXTS), SETTINGS.batch_size))
    assert len(resumed) == batches - 2 and resumed[0] > seen[-1]  # only the missing batches ran

    fresh = build_store(loaded, corpus, tmp_path / "fresh", SETTINGS, tags=False)
    for level in range(store.levels):
        np.testing.assert_array_equal(store.vectors(level), fresh.vectors(level))
        np.testing.assert_array_equal(store.pooled(level), fresh.pooled(level))


def test_a_second_builder_is_told_the_store_is_busy(tiny, tmp_path):
    loaded, corpus = tiny["bert"], tiny_corpus()
    name = store_name(loaded, corpus, SETTINGS)
    with (tmp_path / f".{name}.lock").open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(StoreBusyError, match="Another session is building"):
            build_store(loaded, corpus, tmp_path, SETTINGS, tags=False)
    assert build_store(loaded, corpus, tmp_path, SETTINGS, tags=False).manifest.texts == len(TEXTS)


def test_a_store_of_another_version_is_discarded_not_read(tiny, tmp_path):
    loaded, corpus = tiny["bert"], tiny_corpus()
    store = build_store(loaded, corpus, tmp_path, SETTINGS, tags=False)
    manifest = json.loads((store.folder / "manifest.json").read_text())
    (store.folder / "manifest.json").write_text(json.dumps(manifest | {"store_version": 0}))

    assert find_store(loaded, corpus, tmp_path, SETTINGS) is None
    assert not store.folder.exists()


def test_a_store_of_another_model_under_the_name_is_discarded(tiny, tmp_path):
    loaded, corpus = tiny["bert"], tiny_corpus()
    store = build_store(loaded, corpus, tmp_path, SETTINGS, tags=False)
    manifest = json.loads((store.folder / "manifest.json").read_text())
    (store.folder / "manifest.json").write_text(json.dumps(manifest | {"model": "gpt2"}))

    assert find_store(loaded, corpus, tmp_path, SETTINGS) is None


def test_a_full_disk_says_what_to_do_and_keeps_the_finished_part(tiny, tmp_path, monkeypatch):
    def disk_full(path, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(builder, "write_json", disk_full)
    with pytest.raises(StoreError, match="Free some disk space"):
        build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    assert find_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS) is None


@pytest.mark.parametrize("family", ["gpt2", "t5"])
def test_decoders_and_encoder_decoders_store_every_level(tiny, tmp_path, family):
    loaded = tiny[family]
    store = build_store(loaded, tiny_corpus(), tmp_path, SETTINGS, tags=False)

    assert store.levels == loaded.num_layers + 1
    assert store.vectors(store.levels - 1).shape == (store.manifest.pieces, loaded.hidden_size)
    assert np.isfinite(np.asarray(store.pooled(1), dtype=np.float32)).all()


def test_settings_and_levels_are_checked(tiny, tmp_path):
    with pytest.raises(ValueError, match="batch_size"):
        StoreSettings(batch_size=0)
    with pytest.raises(ValueError, match="max_tokens"):
        StoreSettings(max_tokens=2)
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    with pytest.raises(ValueError, match="levels 0 to"):
        store.vectors(store.levels)
    assert level_name(0) == "embeddings" and level_name(1) == "layer 0"


def test_search_equals_brute_force_and_a_vector_is_its_own_neighbour(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    level = store.levels - 1
    index = build_index(store, level)
    vectors = np.asarray(store.vectors(level), dtype=np.float32)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    for row in (0, 7, store.manifest.pieces - 1):
        rows, scores = search(index, vectors[row], 5)
        brute = np.argsort(-(unit @ unit[row]), kind="stable")[:5]
        assert rows[0] == row and scores[0] == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(scores, (unit @ unit[row])[brute], atol=1e-5)
        exact_rows, exact_scores = exact_top_k(store, level, vectors[row], 5)
        np.testing.assert_allclose(exact_scores, scores, atol=1e-5)
        assert exact_rows[0] == row
    assert index.kind == "exact" and index.recall_at_10 == 1.0


def test_exact_search_holds_nothing_in_memory_and_reads_the_stored_file(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    index = build_index(store, 1)
    assert index.kind == "exact" and index.index is None and index.memory_bytes == 0
    assert isinstance(index.vectors, np.memmap) and index.size == store.manifest.pieces
    assert f"each of the level's {store.manifest.pieces} stored vectors" in index.engine_note
    query = np.asarray(store.vectors(1)[3], dtype=np.float32) + 0.01
    before = search(index, query, 7)
    np.save(level_file(store.folder, 1), np.zeros_like(np.asarray(store.vectors(1))))  # the file is what is read
    after = search(index, query, 7)
    assert not np.allclose(before[1], after[1]) and np.allclose(after[1], 0.0)


def test_past_the_memory_budget_the_index_is_compressed_and_its_recall_measured(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    float32_bytes = store.manifest.pieces * store.manifest.hidden_size * 4
    index = build_index(store, 1, memory_budget=float32_bytes // 2)  # the 8-bit codes, a quarter of that, fit

    assert index.kind == "scalar-quantised" and index.memory_bytes == float32_bytes // 4
    assert 0.5 <= index.recall_at_10 <= 1.0
    rows, _ = search(index, np.asarray(store.vectors(1)[3], dtype=np.float32), 3)
    assert 3 in rows


def test_the_chunked_exact_search_merges_chunks_like_one_brute_force(monkeypatch):
    import xray.store.search as search_module

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(103, 8)).astype(np.float16)
    queries = rng.normal(size=(4, 8)).astype(np.float32)
    monkeypatch.setattr(search_module, "CHUNK_ROWS", 10)
    rows, scores = search_module.exact_top_k_many(vectors, queries, 7)

    unit = vectors.astype(np.float32) / np.linalg.norm(vectors.astype(np.float32), axis=1, keepdims=True)
    cosines = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ unit.T
    np.testing.assert_array_equal(rows, np.argsort(-cosines, axis=1, kind="stable")[:, :7])
    np.testing.assert_allclose(scores, np.sort(cosines, axis=1)[:, ::-1][:, :7], atol=1e-6)


def test_values_beyond_float16_are_clipped_and_counted(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "FLOAT16_MAX", 0.5)  # as if the model's states overflowed float16
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)

    assert store.manifest.clipped_values > 0
    assert float(np.abs(np.asarray(store.vectors(1), dtype=np.float32)).max()) <= 0.5


def test_a_corpus_survives_a_parquet_round_trip_with_its_fingerprint(tmp_path):
    from xray.corpora.corpus import load_corpus

    corpus = tiny_corpus()
    corpus.save(tmp_path / "corpus.parquet")
    again = load_corpus(tmp_path / "corpus.parquet")

    assert again.fingerprint == corpus.fingerprint and again.name == corpus.name
    assert again.label_column == "label" and again.texts == corpus.texts
    pd.DataFrame({"text": ["a"]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(ValueError, match="not a corpus"):
        load_corpus(tmp_path / "other.parquet")


def test_the_command_line_builds_the_store_the_app_finds(tiny, tiny_folders, tmp_path, capsys):
    from xray.__main__ import main

    corpus = tiny_corpus()
    corpus.save(tmp_path / "corpus.parquet")
    arguments = ["index", "--model", str(tiny_folders["bert"]), "--table", str(tmp_path / "corpus.parquet")]
    arguments += ["--cache-dir", str(tmp_path / "cache"), "--batch-size", "2", "--max-tokens", "32"]

    assert main(arguments) == 0
    store = find_store(tiny["bert"], corpus, tmp_path / "cache", SETTINGS)
    assert store is not None and (store.tokens["pos"] != "").any()  # tagged with spaCy
    assert f"{store.manifest.pieces:,} word pieces" in capsys.readouterr().out
    assert main([*arguments[:3], "--table", str(tmp_path / "missing.parquet")]) == 1


def test_a_running_build_reports_its_status(tiny, tmp_path):
    loaded, corpus = tiny["bert"], tiny_corpus()
    name = store_name(loaded, corpus, SETTINGS)
    assert build_status(tmp_path, name) is None
    seen = []

    def look(done: int, total: int, stage: str) -> None:
        seen.append(build_status(tmp_path, name))

    build_store(loaded, corpus, tmp_path, SETTINGS, tags=False, progress=look)
    assert seen[-1] == BuildStatus(done=seen[-1].total, total=seen[-1].total, stage=COMPUTING)
    assert build_status(tmp_path, name) is None  # finished: no lock held


def test_texts_past_max_tokens_are_cut_and_marked(tiny, tmp_path):
    long_text = " ".join(["the bank sent her a letter about the loan"] * 6)
    store = build_store(tiny["bert"], tiny_corpus([long_text, *TEXTS[1:]]), tmp_path, SETTINGS, tags=False)

    assert store.texts["truncated"].tolist() == [True] + [False] * (len(TEXTS) - 1)
    assert store.texts.loc[0, "token_count"] == SETTINGS.max_tokens - 2  # [CLS] and [SEP] are not stored
    text, start, end = store.context(int(store.texts.loc[0, "first_row"]) + 29)  # its last stored piece
    assert text == long_text and 0 < start < end < len(long_text) // 2


def test_the_layout_names_which_piece_each_row_holds(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    rebuilt = build_store(tiny["bert"], tiny_corpus(), tmp_path / "again", SETTINGS, tags=False)
    other = build_store(tiny["bert"], tiny_corpus(TEXTS[::-1]), tmp_path, SETTINGS, tags=False)

    assert store.layout == rebuilt.layout and len(store.layout) == 16
    assert other.layout != store.layout  # the same pieces, other rows


def test_recall_counts_a_neighbour_tied_with_the_exact_10th_as_found():
    # Every vector 30 times: any 10 of a query's copies are an exact top 10, all at cosine 1.
    rng = np.random.default_rng(0)
    vectors = np.repeat(rng.standard_normal((40, 16)), 30, axis=0).astype(np.float16)

    class Store:
        def vectors(self, level):
            return vectors

    index = build_index(Store(), 0, memory_budget=vectors.size * 2)  # float32 would not fit, 8-bit codes do
    assert index.kind == "scalar-quantised"
    assert index.recall_at_10 == pytest.approx(1.0)

    # The measure against numpy brute force on the index's own answers, ties counted.
    unit = vectors.astype(np.float32) / np.linalg.norm(vectors.astype(np.float32), axis=1, keepdims=True)
    queries = unit[::7]
    found = index.index.search(queries, 10)[1]
    cosines = queries @ unit.T  # (queries, rows)
    tenth = np.sort(cosines, axis=1)[:, -10]
    expected = np.mean(np.take_along_axis(cosines, found, 1) >= tenth[:, None] - 1e-5)
    assert recall_at_k(vectors, queries, found) == pytest.approx(expected)
    assert expected == 1.0
    # A row past the ties is a miss: replace each query's last answer by a row of another vector.
    missed = found.copy()
    missed[:, -1] = (np.arange(0, len(vectors), 7) + 30) % len(vectors)
    assert recall_at_k(vectors, queries, missed) == pytest.approx(0.9)
