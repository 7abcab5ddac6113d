"""A server that dies mid-work: a store build and a dictionary fit killed with SIGKILL (no clean-up runs) are
never read as complete, and the next run resumes from their last checkpoint."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import torch

import xray.factors.solver as factors
from tests.test_store import SETTINGS, TEXTS
from xray.corpora.corpus import Corpus
from xray.store import builder
from xray.store.builder import build_store
from xray.store.format import find_store, store_name


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


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
