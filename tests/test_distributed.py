"""The store and the neuron records built on a local two-worker Ray equal the single-process builds, bit for bit,
resume from the shards already written, and are read by the app's code unchanged."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xray.__main__ import main
from xray.corpora.corpus import Corpus
from xray.corpora.uploads import corpus_from_upload, read_upload
from xray.distributed.engine import RaySettings
from xray.distributed.records import shard_problem as records_shard_problem
from xray.distributed.records import write_records_shard
from xray.distributed.store import RayStoreEngine
from xray.neurons.records import build_records, encode_texts, find_records
from xray.store.builder import build_store
from xray.store.format import StoreSettings, store_name
from xray.store.search import build_index, search
from xray.store.shards import SHARDS, ShardedRows, gather_rows, read_rows, shard_folder
from xray.techniques.embedding_search import search_neighbours, stored_states

ray = pytest.importorskip("ray")

WORDS = ["the", "a", "animal", "street", "cross", "bank", "river", "money", "letter", "film", "music", "good", "bad"]
SETTINGS = StoreSettings(batch_size=4, max_tokens=24)
TWO_WORKERS = RaySettings(workers=2)
SHARD_TEXTS = 8  # two forward batches a shard: 43 texts make 11 batches in 6 shards, the last one short


def corpus() -> Corpus:
    rng = np.random.default_rng(7)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 14)))) for _ in range(43)]
    return Corpus("ray words", pd.DataFrame({"text": texts}))


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def load_upload_corpus(path) -> Corpus:
    """The corpus the command line reads from a .txt file."""
    uploaded = read_upload(path.read_bytes(), path.name, limited=False)
    return corpus_from_upload(uploaded, uploaded.text_columns[0], None, limited=False)[0]


def _manifest(store) -> dict:
    """The manifest but what a sharded build writes otherwise: its time, its shards and their files."""
    return {
        key: value for key, value in asdict(store.manifest).items() if key not in {"build_seconds", "shards", "files"}
    }


def _assert_same_store(sharded, single) -> None:
    assert _manifest(sharded) == _manifest(single)
    pd.testing.assert_frame_equal(sharded.texts, single.texts)
    pd.testing.assert_frame_equal(sharded.tokens, single.tokens)
    for level in range(single.levels):
        assert np.array_equal(np.asarray(sharded.vectors(level)).view(np.uint16), single.vectors(level).view(np.uint16))
        assert np.array_equal(sharded.pooled(level).view(np.uint16), single.pooled(level).view(np.uint16))


@pytest.fixture(scope="module")
def stores(tiny, tiny_folders, tmp_path_factory, local_ray):
    """The tiny BERT's store of :func:`corpus`, built in one process and on two Ray workers, and the engine."""
    root = tmp_path_factory.mktemp("stores")
    loaded, texts = tiny["bert"], corpus()
    single = build_store(loaded, texts, root / "single", SETTINGS, tags=False)
    engine = RayStoreEngine(TWO_WORKERS, str(tiny_folders["bert"]), "cpu", SHARD_TEXTS)
    sharded = build_store(loaded, texts, root / "ray", SETTINGS, tags=False, engine=engine)
    return single, sharded, engine


def test_the_two_worker_store_is_the_single_process_store_bit_for_bit(tiny, tiny_folders, stores):
    single, sharded, engine = stores
    assert (engine.computed, engine.reused) == (6, 0)
    assert len(sharded.manifest.shards) == 6 and sum(sharded.manifest.shards) == single.manifest.pieces
    assert isinstance(sharded.vectors(0), ShardedRows) and not (sharded.folder / "level_00.npy").exists()
    _assert_same_store(sharded, single)
    shard_files = {f"shards/{shard:05d}/level_{level:02d}.npy" for shard in range(6) for level in range(single.levels)}
    assert set(sharded.manifest.files) == {"texts.parquet", "tokens.parquet", "pooled.npy"} | shard_files
    assert set(single.manifest.files) == {"texts.parquet", "tokens.parquet", "pooled.npy"} | {
        f"level_{level:02d}.npy" for level in range(single.levels)
    }

    # a second build finds the published store and computes nothing
    again = RayStoreEngine(TWO_WORKERS, str(tiny_folders["bert"]), "cpu", SHARD_TEXTS)
    root = sharded.folder.parent
    assert build_store(tiny["bert"], corpus(), root, SETTINGS, tags=False, engine=again).folder == sharded.folder
    assert again.computed == 0


def test_the_apps_readers_read_the_sharded_store_as_one(stores):
    single, sharded, _engine = stores
    level, row = single.levels - 1, 17
    query = np.asarray(single.vectors(level)[row], dtype=np.float32)
    scalar_codes = single.vectors(level).size  # one byte a value: the scalar-quantised index just fits
    for budget, kind in ((None, "exact"), (scalar_codes, "scalar-quantised"), (1, "IVF-PQ")):
        indexes = [build_index(store, level, budget) for store in (sharded, single)]
        assert indexes[0].kind == kind and indexes[0].recall_at_10 == indexes[1].recall_at_10
        found = [search(index, query, 5) for index in indexes]
        assert np.array_equal(found[0][0], found[1][0]) and np.allclose(found[0][1], found[1][1])
    states = stored_states(single, row)
    assert np.array_equal(stored_states(sharded, row), states)
    found = [search_neighbours(store, build_index(store, level), "bank", states, 5, row) for store in (sharded, single)]
    pd.testing.assert_frame_equal(found[0].neighbours, found[1].neighbours)
    assert found[0].purity.equals(found[1].purity)


def test_an_interrupted_ray_build_computes_only_the_missing_and_damaged_shards(tiny, tiny_folders, stores, tmp_path):
    single, sharded, _engine = stores
    loaded, texts = tiny["bert"], corpus()
    # what a run stopped mid-way leaves: shards published, one lost, one half-written, one cut short by a bad copy
    partial = tmp_path / f".{store_name(loaded, texts, SETTINGS)}.partial"
    shutil.copytree(sharded.folder, partial)
    for name in ("manifest.json", "texts.parquet", "tokens.parquet", "pooled.npy"):
        (partial / name).unlink()
    shutil.rmtree(shard_folder(partial, 2))
    (partial / SHARDS / ".00003.unfinished").mkdir()
    cut = shard_folder(partial, 0) / "level_02.npy"
    cut.write_bytes(cut.read_bytes()[:-100])  # the header promises more rows than the file holds
    kept = shard_folder(partial, 4) / "level_01.npy"
    kept_time = kept.stat().st_mtime_ns

    resumed = RayStoreEngine(TWO_WORKERS, str(tiny_folders["bert"]), "cpu", SHARD_TEXTS)
    store = build_store(loaded, texts, tmp_path, SETTINGS, tags=False, engine=resumed)

    assert (resumed.computed, resumed.reused) == (2, 4)
    assert (store.folder / SHARDS / "00004" / "level_01.npy").stat().st_mtime_ns == kept_time
    assert not (store.folder / SHARDS / ".00003.unfinished").exists() and not partial.exists()
    _assert_same_store(store, single)


def test_the_command_line_builds_store_and_records_on_ray(tiny, tiny_folders, tmp_path, capsys, local_ray):
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(corpus().texts), encoding="utf-8")
    cache = tmp_path / "cache"
    common = ["--model", str(tiny_folders["bert"]), "--file", str(source), "--cache-dir", str(cache)]
    ray_options = ["--ray", "--workers", "2", "--shard-texts", "16", "--batch-size", "4"]

    assert main(["index", *common, *ray_options, "--max-tokens", "24"]) == 0
    assert "3 shards computed on 2 Ray workers, 0 kept" in capsys.readouterr().err
    manifest = json.loads(next(cache.glob("bert*/manifest.json")).read_text(encoding="utf-8"))
    assert len(manifest["shards"]) == 3 and manifest["texts"] == 43

    assert main(["neurons", *common, *ray_options, "--max-tokens", "24"]) == 0
    assert "3 shards computed on 2 Ray workers" in capsys.readouterr().err
    texts = load_upload_corpus(source)
    sharded = find_records(tiny["bert"], texts, cache, max_tokens=24)
    single = build_records(tiny["bert"], texts, tmp_path / "single", max_tokens=24, batch_size=4)
    manifests = [{k: v for k, v in asdict(r.manifest).items() if k != "seconds"} for r in (sharded, single)]
    assert manifests[0] == manifests[1]
    pd.testing.assert_frame_equal(sharded.texts, single.texts)
    for layer in range(single.manifest.layers):
        assert np.array_equal(sharded.maxima(layer).view(np.uint16), single.maxima(layer).view(np.uint16))
    assert sorted(path.name for path in sharded.folder.iterdir()) == sorted(p.name for p in single.folder.iterdir())


@pytest.mark.parametrize(
    "key",
    [5, -1, -43, slice(None), slice(3, 30), slice(30, 3), slice(2, 40, 3), slice(None, None, -2), [41, 0, 7, 7, 20]],
)
def test_sharded_rows_index_like_the_array_they_join(key):
    array = np.arange(43 * 3, dtype=np.float16).reshape(43, 3)
    sharded = ShardedRows([array[:8], array[8:9], array[9:30], array[30:]])
    assert sharded.shape == array.shape and len(sharded) == 43 and sharded.dtype == array.dtype
    assert np.array_equal(sharded[key], array[key])
    assert np.array_equal(sharded[key, 1], array[key, 1])


def test_sharded_rows_refuse_rows_out_of_range_and_mismatched_shards():
    sharded = ShardedRows([np.zeros((2, 3)), np.zeros((4, 3))])
    with pytest.raises(IndexError):
        sharded[6]
    with pytest.raises(IndexError):
        sharded[np.array([0, 6])]
    with pytest.raises(ValueError, match="disagree"):
        ShardedRows([np.zeros((2, 3)), np.zeros((2, 4))])
    assert np.array_equal(sharded[np.array([True, False, False, False, False, True])], np.zeros((2, 3)))


@pytest.mark.parametrize(("start", "stop"), [(0, 43), (5, 9), (8, 31), (40, 60), (12, 12)])
def test_read_rows_reads_a_memory_mapped_or_sharded_level_from_its_files(tmp_path, start, stop):
    array = np.arange(43 * 3, dtype=np.float16).reshape(43, 3)
    paths = []
    for number, (begin, end) in enumerate([(0, 8), (8, 9), (9, 30), (30, 43)]):
        paths.append(tmp_path / f"part{number}.npy")
        np.save(paths[-1], array[begin:end])
    sharded = ShardedRows([np.load(path, mmap_mode="r") for path in paths])
    whole = tmp_path / "whole.npy"
    np.save(whole, array)
    for vectors in (np.load(whole, mmap_mode="r"), sharded, array):
        read = read_rows(vectors, start, stop)
        assert not isinstance(read, np.memmap) and np.array_equal(read, array[start:stop])


@pytest.mark.parametrize("rows", [[41, 0, 7, 7, 20], [-1, 3, 4, 5, 30, 31], list(range(43)), []])
def test_gather_rows_reads_rows_in_any_order_from_the_files(tmp_path, rows):
    array = np.arange(43 * 3, dtype=np.float16).reshape(43, 3)
    paths = []
    for number, (begin, end) in enumerate([(0, 8), (8, 9), (9, 30), (30, 43)]):
        paths.append(tmp_path / f"part{number}.npy")
        np.save(paths[-1], array[begin:end])
    whole, stacked = tmp_path / "whole.npy", tmp_path / "stacked.npy"
    np.save(whole, array)
    np.save(stacked, np.stack([array + 1, array]))  # as the pooled vectors: a level is a slice of the file's array
    sharded = ShardedRows([np.load(path, mmap_mode="r") for path in paths])
    for vectors in (np.load(whole, mmap_mode="r"), np.load(stacked, mmap_mode="r")[1], sharded, array):
        gathered = gather_rows(vectors, np.array(rows, dtype=np.int64))
        assert not isinstance(gathered, np.memmap) and np.array_equal(gathered, array[rows])
        with pytest.raises(IndexError):
            gather_rows(vectors, np.array([43]))


def test_gather_rows_leaves_no_page_of_the_file_resident(tmp_path):
    path = tmp_path / "level.npy"
    np.save(path, np.random.default_rng(0).standard_normal((40_000, 384)).astype(np.float16))  # 29 MiB, in page cache
    mapped = np.load(path, mmap_mode="r")
    rows = np.random.default_rng(1).choice(len(mapped), 4_000, replace=False)

    def resident_file_kb() -> int:
        return int(re.search(r"^RssFile:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M).group(1))

    before = resident_file_kb()
    gathered = gather_rows(mapped, rows)
    assert resident_file_kb() - before < 2_048  # a memory map's own gather maps most of the 29 MiB
    assert np.array_equal(gathered, mapped[rows])


def test_a_records_shard_cut_short_or_of_other_texts_is_not_kept(tiny, tmp_path):
    loaded, texts = tiny["bert"], corpus()
    encoding = encode_texts(loaded, texts.texts[:8], 24)
    ids = np.arange(8)
    write_records_shard(loaded, ids, encoding, 4, shard_folder(tmp_path, 0))
    layers = loaded.num_layers
    assert records_shard_problem(tmp_path, 0, ids, layers) is None
    assert records_shard_problem(tmp_path, 0, ids[::-1], layers) == "of other texts"
    assert records_shard_problem(tmp_path, 1, ids, layers) == "missing"
    cut = shard_folder(tmp_path, 0) / "maxima_1.npy"
    cut.write_bytes(cut.read_bytes()[:-10])
    assert records_shard_problem(tmp_path, 0, ids, layers).startswith("unreadable")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--workers", "0"], "--workers must be at least 1, got 0."),
        (["--cpus-per-worker", "0"], "--cpus-per-worker must be at least 1, got 0."),
        (["--gpus-per-worker", "-1"], "--gpus-per-worker cannot be negative, got -1.0."),
        (["--shard-texts", "0"], "--shard-texts must be at least 1, got 0."),
    ],
)
def test_bad_ray_options_are_refused_with_a_clear_message(tmp_path, capsys, option, message):
    for command in ("index", "neurons"):
        assert main([command, "--cache-dir", str(tmp_path), "--ray", *option]) == 1
        assert message in capsys.readouterr().err
