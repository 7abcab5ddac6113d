"""Faults survived. A server that dies mid-work: a store build and a dictionary fit killed with SIGKILL (no clean-up
runs) are never read as complete, and the next run resumes from their last checkpoint. A published store or records
folder cut short or altered afterwards: found before anything is read from it (sizes on every open, checksums by
``python -m xray verify``), moved aside and built again."""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import signal
import sys
import time
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import torch

import xray.factors.solver as factors
from tests.test_store import SETTINGS, TEXTS, tiny_corpus
from xray.corpora.corpus import Corpus
from xray.neurons.records import RecordsDamagedError, build_records, find_records
from xray.store import builder
from xray.store.builder import build_store
from xray.store.format import (
    MANIFEST,
    StoreDamagedError,
    find_store,
    locate_store,
    open_store,
    store_name,
    store_problem,
)
from xray.store.search import build_index, search


def many_texts(count: int = 240) -> Corpus:
    return Corpus("many", pd.DataFrame({"text": [f"{TEXTS[i % len(TEXTS)]} {i}" for i in range(count)]}))


def slow_down(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str, seconds: float) -> None:
    """Make ``module.name`` (a function) sleep ``seconds`` before each call, so a child is caught halfway."""
    real = getattr(module, name)

    def slow(*args, **options):
        time.sleep(seconds)
        return real(*args, **options)

    monkeypatch.setattr(module, name, slow)


def _main(arguments: list[str]) -> None:
    torch.set_num_threads(1)  # the parent's OpenMP threads are not copied by fork; one thread needs none
    from xray.__main__ import main

    main(arguments)


def start(arguments: list[str]) -> multiprocessing.Process:
    """``python -m xray <arguments>`` in a forked child: it runs with this process's monkeypatches."""
    child = multiprocessing.get_context("fork").Process(target=_main, args=(arguments,))
    child.start()
    return child


def kill(child: multiprocessing.Process) -> None:
    """SIGKILL: no clean-up of any kind runs in the child."""
    os.kill(child.pid, signal.SIGKILL)
    child.join()


def wait_for(condition, process: multiprocessing.Process, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert process.is_alive(), "the child ended before it could be killed"
        assert time.monotonic() < deadline, "the child never reached the point to kill it at"
        time.sleep(0.05)


def test_a_store_build_killed_halfway_is_never_read_and_resumes(tiny, tiny_folders, tmp_path, monkeypatch):
    loaded, corpus = tiny["bert"], many_texts()
    corpus.save(tmp_path / "corpus.parquet")
    arguments = ["index", "--model", str(tiny_folders["bert"]), "--table", str(tmp_path / "corpus.parquet")]
    arguments += ["--cache-dir", str(tmp_path / "cache"), "--batch-size", "2", "--max-tokens", "32"]
    monkeypatch.setattr(builder, "CHECKPOINT_S", 0.0)
    slow_down(monkeypatch, builder, "hidden_states", 0.05)
    child = start(arguments)
    progress = tmp_path / "cache" / f".{store_name(loaded, corpus, SETTINGS)}.partial" / "progress.json"

    def checkpointed() -> bool:
        try:
            return len(json.loads(progress.read_text()).get("batches_done", [])) >= 20
        except (OSError, ValueError):
            return False

    wait_for(checkpointed, child)
    kill(child)
    monkeypatch.undo()  # this process resumes at full speed

    assert find_store(loaded, corpus, tmp_path / "cache", SETTINGS) is None  # half-written: not found
    resumed = []
    store = build_store(loaded, corpus, tmp_path / "cache", SETTINGS, progress=lambda d, t, s: resumed.append((d, s)))
    computing = [done for done, stage in resumed if stage == "computing hidden states"]
    assert computing[0] > 2 * 20  # the first report already counts the pieces of the checkpointed batches
    fresh = build_store(loaded, corpus, tmp_path / "fresh", SETTINGS)
    for level in range(store.levels):
        np.testing.assert_array_equal(store.vectors(level), fresh.vectors(level))


def test_a_dictionary_fit_killed_after_an_epoch_resumes_after_it(tiny_folders, tmp_path, capfd, monkeypatch):
    many_texts().save(tmp_path / "corpus.parquet")
    out = tmp_path / "factors.npz"
    arguments = ["factors", "--model", str(tiny_folders["bert"]), "--table", str(tmp_path / "corpus.parquet")]
    arguments += ["--cache-dir", str(tmp_path / "cache"), "--factors", "8", "--sparsity", "0.05", "--epochs", "300"]
    arguments += ["--samples", "3000", "--out", str(out)]
    slow_down(monkeypatch, factors, "sparse_codes", 0.02)
    child = start(arguments)
    checkpoints = tmp_path / "cache" / "factors" / ".factors.checkpoint"
    wait_for(lambda: any(checkpoints.glob("*.pt")), child, timeout_s=120)
    kill(child)
    monkeypatch.undo()
    assert not out.exists()

    from xray.__main__ import main

    capfd.readouterr()
    assert main(arguments) == 0
    lines = capfd.readouterr().err.replace("\r", "\n").splitlines()
    first = next(line for line in lines if line.startswith("learning the dictionary"))
    done, total = (int(value.replace(",", "")) for value in first.split(": ")[1].split(" ")[0].split("/"))
    assert done > total / 300  # resumed after at least one finished epoch, not from the start
    assert out.exists() and not any(checkpoints.glob("*.pt"))


def cut_short(path, by: int = 64) -> None:
    """A partial copy or a full disk: the file loses its last ``by`` bytes."""
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size - by)


def flip_a_byte(path) -> None:
    """Bit rot: one byte in the middle changes, the size does not."""
    with path.open("r+b") as handle:
        handle.seek(path.stat().st_size // 2)
        value = handle.read(1)[0]
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([value ^ 0xFF]))


def test_the_manifest_keeps_every_data_files_size_and_checksum(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    files = store.manifest.files
    levels = {f"level_{level:02d}.npy" for level in range(store.levels)}
    assert set(files) == {"texts.parquet", "tokens.parquet", "pooled.npy"} | levels
    for name, facts in files.items():
        assert facts["bytes"] == (store.folder / name).stat().st_size
        assert len(facts["sha256"]) == 64
    records = build_records(tiny["bert"], tiny_corpus(), tmp_path)
    layers = {f"maxima_{layer}.npy" for layer in range(records.manifest.layers)}
    assert set(records.manifest.files) == {"texts.parquet"} | layers


@pytest.mark.parametrize("victim", ["level_01.npy", "pooled.npy", "tokens.parquet"])
def test_a_store_cut_short_after_publishing_is_moved_aside_before_any_read_and_built_again(tiny, tmp_path, victim):
    loaded, corpus = tiny["bert"], tiny_corpus()
    store = build_store(loaded, corpus, tmp_path, SETTINGS, tags=False)
    expected = np.asarray(store.vectors(1)).copy()
    cut_short(store.folder / victim)

    with pytest.raises(StoreDamagedError, match=f"damaged \\({victim} holds .* bytes where .* were written\\)"):
        locate_store(loaded, corpus, tmp_path, SETTINGS)  # what a page runs first, every run
    assert not store.folder.exists()  # moved aside: never read for neighbours
    assert not any(tmp_path.glob(f".{store.folder.name}.stale-*"))
    assert find_store(loaded, corpus, tmp_path, SETTINGS) is None  # the next build rebuilds it
    rebuilt = build_store(loaded, corpus, tmp_path, SETTINGS, tags=False)
    np.testing.assert_array_equal(rebuilt.vectors(1), expected)


def test_opening_a_store_checks_its_sizes_too(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    (store.folder / "level_00.npy").unlink()
    with pytest.raises(StoreDamagedError, match=r"level_00\.npy is missing"):
        open_store(store.folder)
    assert not store.folder.exists()


def test_a_store_manifest_from_before_sizes_were_kept_is_read_as_before(tiny, tmp_path):
    loaded, corpus = tiny["bert"], tiny_corpus()
    store = build_store(loaded, corpus, tmp_path, SETTINGS, tags=False)
    manifest = json.loads((store.folder / "manifest.json").read_text())
    del manifest["files"]
    (store.folder / "manifest.json").write_text(json.dumps(manifest))
    assert find_store(loaded, corpus, tmp_path, SETTINGS).manifest.files == {}


def test_records_cut_short_after_publishing_are_moved_aside_and_computed_again(tiny, tmp_path):
    loaded, corpus = tiny["bert"], tiny_corpus()
    records = build_records(loaded, corpus, tmp_path)
    expected = np.asarray(records.maxima(0)).copy()
    cut_short(records.folder / "maxima_0.npy")

    with pytest.raises(RecordsDamagedError, match=r"maxima_0\.npy holds"):
        find_records(loaded, corpus, tmp_path)  # what the page runs first
    assert not records.folder.exists()
    assert find_records(loaded, corpus, tmp_path) is None
    np.testing.assert_array_equal(build_records(loaded, corpus, tmp_path).maxima(0), expected)


def test_verify_reads_every_checksum_and_moves_each_damaged_folder_aside(tiny, tmp_path, capsys):
    from xray.__main__ import main

    loaded = tiny["bert"]
    kept = build_store(loaded, tiny_corpus(), tmp_path, SETTINGS, tags=False)
    rotten = build_store(loaded, tiny_corpus(TEXTS[:4]), tmp_path, SETTINGS, tags=False)
    records = build_records(loaded, tiny_corpus(), tmp_path)
    assert main(["verify", "--cache-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("ok ") == 3

    flip_a_byte(rotten.folder / "level_02.npy")  # same size: only the checksum tells
    flip_a_byte(records.folder / "maxima_1.npy")
    assert open_store(rotten.folder).manifest.pieces  # the cheap check on open cannot see it
    assert main(["verify", "--cache-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"DAMAGED   store {rotten.folder.name}: level_02.npy was altered after it was written" in out
    assert f"DAMAGED   records {records.folder.name}: maxima_1.npy was altered" in out
    assert f"ok        store {kept.folder.name}" in out and "3 folders" in out and "2 damaged" in out
    assert kept.folder.exists() and not rotten.folder.exists() and not records.folder.exists()


def _limit_file_size(limit: int) -> None:
    """A full disk as the kernel reports it: no file grows past ``limit`` bytes, and a write that would fails with
    EFBIG (SIGXFSZ, which would kill the process, ignored)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def _build_on_a_full_disk(loaded, corpus, root, stage: str, answers) -> None:
    """In a forked child: build the store with the disk filling up at ``stage`` (levels: from the start, the level
    files cannot be made; tables: when publishing begins; manifest: when the manifest is written)."""
    torch.set_num_threads(1)
    if stage == "levels":
        _limit_file_size(2_000)
    if stage == "tables":
        publish = builder.publish_store

        def filled_then_publish(*args, **options):
            _limit_file_size(1_000)
            return publish(*args, **options)

        builder.publish_store = filled_then_publish
    if stage == "manifest":
        write = builder.write_json

        def filled_at_the_manifest(path, content):
            if path.name == MANIFEST:
                _limit_file_size(100)
            return write(path, content)

        builder.write_json = filled_at_the_manifest
    try:
        build_store(loaded, corpus, root, SETTINGS, tags=False)
        answers.put(("built", ""))
    except Exception as error:
        answers.put((type(error).__name__, str(error)))


@pytest.mark.parametrize("stage", ["levels", "tables", "manifest"])
def test_a_disk_filling_up_during_a_build_says_so_publishes_nothing_and_keeps_the_cache_usable(tiny, tmp_path, stage):
    loaded = tiny["bert"]
    kept = build_store(loaded, tiny_corpus(), tmp_path, SETTINGS, tags=False)
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    child = context.Process(target=_build_on_a_full_disk, args=(loaded, many_texts(), tmp_path, stage, answers))
    child.start()
    kind, message = answers.get(timeout=120)
    child.join()

    assert kind == "StoreError", message
    assert "File too large" in message and "Free some disk space or point XRAY_CACHE_DIR at a folder" in message
    visible = [entry.name for entry in tmp_path.iterdir() if not entry.name.startswith(".")]
    assert visible == [kept.folder.name]  # no folder without its manifest, no manifest without its data
    assert find_store(loaded, many_texts(), tmp_path, SETTINGS) is None
    store = find_store(loaded, tiny_corpus(), tmp_path, SETTINGS)  # the rest of the cache still opens, searches
    vectors = np.asarray(store.vectors(store.levels - 1), dtype=np.float32)
    rows, _ = search(build_index(store, store.levels - 1), vectors[3], 3)
    assert rows[0] == 3
    if stage == "manifest":  # every batch was checkpointed before the manifest: the next build computes nothing
        seen = []
        again = build_store(loaded, many_texts(), tmp_path, SETTINGS, tags=False, progress=lambda *r: seen.append(r))
        assert seen == [] and again.manifest.texts == len(many_texts())


def _exit_with_main(arguments: list[str]) -> None:
    torch.set_num_threads(1)
    from xray.__main__ import main

    code = main(arguments)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the exit code, and no clean-up of the parent's state copied by fork


def test_two_servers_building_one_store_on_one_cache_compute_it_once_and_read_the_same_files(
    tiny, tiny_folders, tmp_path, capfd, monkeypatch
):
    loaded, corpus = tiny["bert"], many_texts()
    corpus.save(tmp_path / "corpus.parquet")
    cache = tmp_path / "cache"
    arguments = ["index", "--model", str(tiny_folders["bert"]), "--table", str(tmp_path / "corpus.parquet")]
    arguments += ["--cache-dir", str(cache), "--batch-size", "2", "--max-tokens", "32"]
    builds = tmp_path / "builds.txt"
    real_build = builder._build_locked

    def counted_build(*args, **options):
        with builds.open("a") as file:
            file.write(f"{os.getpid()}\n")
        return real_build(*args, **options)

    monkeypatch.setattr(builder, "_build_locked", counted_build)
    slow_down(monkeypatch, builder, "hidden_states", 0.02)  # a build of seconds, so the second starts amid it
    context = multiprocessing.get_context("fork")
    first = context.Process(target=_exit_with_main, args=(arguments,))
    first.start()
    status = cache / f".{store_name(loaded, corpus, SETTINGS)}.partial" / "status.json"
    wait_for(status.exists, first)
    second = context.Process(target=_exit_with_main, args=(arguments,))
    second.start()
    first.join(120)
    second.join(120)

    assert (first.exitcode, second.exitcode) == (0, 0)
    assert builds.read_text().split() == [str(first.pid)]  # computed once, by the first
    captured = capfd.readouterr()
    assert captured.err.count("another process is building this store: waiting for it to finish") == 1
    finished = [line for line in captured.out.splitlines() if "word pieces of" in line]
    assert len(finished) == 2 and finished[0] == finished[1]  # the same folder, the same build (its seconds)
    monkeypatch.undo()
    store = find_store(loaded, corpus, cache, SETTINGS)
    assert finished[0].endswith(str(store.folder))
    assert [entry.name for entry in cache.iterdir() if entry.is_dir() and entry.name[0] != "."] == [store.folder.name]
    assert store_problem(store.folder, store.manifest, checksums=True) is None


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
