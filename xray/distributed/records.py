"""Neuron records built on Ray (``python -m xray neurons --ray``): the single-process pass's per-text maxima, its
forward batches shared out in shards among an actor pool of model replicas.

The driver tokenizes the corpus once and cuts the pass's own forward batches
(:func:`xray.neurons.records.forward_batches`) into shards of consecutive batches; each replica runs its shards'
batches, keeps per text and neuron the largest activation (:func:`xray.neurons.records.batch_maxima`) and writes
them per layer into ``shards/NNNNN/`` (published by a rename once complete, so an interrupted build resumes with the
shards already written). The last step reduces the shards into each layer's ``(texts, neurons)`` maxima, checking
that every text's row came from exactly one shard, and publishes the records as the single-process pass does.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from xray.cache import write_json
from xray.corpora.corpus import Corpus
from xray.distributed.engine import RaySettings, map_shards, ray_session
from xray.models.loading import LoadedModel, load_model
from xray.models.mlp import captured_mlp, mlp_modules, mlp_width
from xray.neurons.records import (
    READING,
    batch_maxima,
    encode_texts,
    forward_batches,
    partial_path,
    publish_records,
)
from xray.progress import Progress
from xray.store.shards import SHARDS, shard_folder

SHARD_TEXTS = 4096
"""Texts per shard by default (rounded to whole forward batches)."""
PLAN = "plan.json"
SHARD = "shard.json"
TEXT_IDS = "text_ids.npy"


def write_records_shard(
    loaded: LoadedModel, texts: np.ndarray, encoding: dict[str, list], batch_size: int, folder: Path
) -> dict[str, int | float]:
    """Each layer's maxima of ``texts`` (their corpus indices; ``encoding`` holds their tokens in the same order),
    run in forward batches of ``batch_size``, written as ``maxima_L.npy`` (texts, neurons) float16 beside
    ``text_ids.npy`` in ``folder``, published by one rename once complete. Returns the shard's record."""
    started = time.perf_counter()
    layers = len(mlp_modules(loaded))
    maxima = np.empty((layers, len(texts), mlp_width(loaded)), dtype=np.float16)
    with torch.inference_mode(), captured_mlp(loaded, list(range(layers))) as captured:
        for first in range(0, len(texts), batch_size):
            chunk = np.arange(first, min(first + batch_size, len(texts)))
            for layer, values in enumerate(batch_maxima(loaded, encoding, chunk, captured)):
                maxima[layer, chunk] = values
    temporary = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}")
    temporary.mkdir(parents=True)
    try:
        np.save(temporary / TEXT_IDS, np.asarray(texts, dtype=np.int64))
        for layer in range(layers):
            np.save(temporary / f"maxima_{layer}.npy", maxima[layer])
        record = {"texts": len(texts), "seconds": round(time.perf_counter() - started, 3)}
        write_json(temporary / SHARD, record)
        temporary.rename(folder)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return record


class RecordsShardWorker:
    """A model replica on a Ray worker: loads the model once, then writes the maxima of every shard it is handed."""

    def __init__(self, model: str, device: str | None, threads: int, batch_size: int, partial: str):
        torch.set_num_threads(threads)
        self.loaded = load_model(model, device=device)
        self.batch_size, self.partial = batch_size, Path(partial)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        records = []
        for shard, texts, input_ids, special in zip(
            batch["shard"], batch["texts"], batch["input_ids"], batch["special_tokens_mask"], strict=True
        ):
            encoding = {
                "input_ids": [list(ids) for ids in input_ids],
                "special_tokens_mask": [list(mask) for mask in special],
            }
            folder = shard_folder(self.partial, int(shard))
            record = write_records_shard(self.loaded, np.asarray(texts), encoding, self.batch_size, folder)
            records.append({"shard": int(shard)} | record)
        return {key: np.array([record[key] for record in records]) for key in records[0]}


@dataclass
class RayRecordsEngine:
    """:class:`xray.neurons.records.RecordsEngine` on Ray: pass it to :func:`xray.neurons.records.build_records`.

    model: the name every worker loads; device: the workers' device (None: cuda where present); shard_texts: texts
    per shard (whole batches). After a build, ``computed`` and ``reused`` count shards written now and kept."""

    ray: RaySettings
    model: str
    device: str | None = None
    shard_texts: int = SHARD_TEXTS
    reused: int = 0
    written: list[dict] = field(default_factory=list)
    """The record of every shard this run computed (its rows or texts, seconds), as its worker returned it."""

    @property
    def computed(self) -> int:
        return len(self.written)

    def __call__(
        self,
        loaded: LoadedModel,
        corpus: Corpus,
        folder: Path,
        max_tokens: int,
        batch_size: int,
        progress: Progress | None,
    ) -> None:
        started = time.perf_counter()
        encoding = encode_texts(loaded, corpus.texts, max_tokens)
        tokens = sum(len(mask) - sum(mask) for mask in encoding["special_tokens_mask"])
        if tokens == 0:
            raise ValueError("The corpus has no word pieces besides special tokens.")
        batches = forward_batches(encoding, batch_size)
        per_shard = max(1, self.shard_texts // batch_size)
        shards = [np.concatenate(batches[first : first + per_shard]) for first in range(0, len(batches), per_shard)]
        partial = partial_path(folder)
        partial.mkdir(parents=True, exist_ok=True)
        identity = {"name": folder.name, "batch_size": batch_size, "per_shard": per_shard, "texts": len(corpus)}
        _start_or_resume(partial, identity)
        finished = {number for number, texts in enumerate(shards) if _complete(partial, number, len(texts))}
        self.reused = len(finished)
        done = sum(len(shards[number]) for number in finished)
        if progress is not None:
            progress(done, len(corpus), READING)
        rows = [
            {
                "shard": number,
                "texts": texts.tolist(),
                "input_ids": [encoding["input_ids"][i] for i in texts],
                "special_tokens_mask": [encoding["special_tokens_mask"][i] for i in texts],
            }
            for number, texts in enumerate(shards)
            if number not in finished
        ]
        if rows:
            arguments = {
                "model": self.model,
                "device": self.device,
                "threads": self.ray.cpus_per_worker,
                "batch_size": batch_size,
                "partial": str(partial),
            }
            with ray_session(self.ray):
                for record in map_shards(rows, RecordsShardWorker, arguments, self.ray):
                    self.written.append(record)
                    done += int(record["texts"])
                    if progress is not None:
                        progress(done, len(corpus), READING)
        _reduce(partial, len(shards), len(corpus), len(mlp_modules(loaded)), mlp_width(loaded))
        publish_records(loaded, corpus, folder, int(tokens), max_tokens, time.perf_counter() - started)


def _start_or_resume(partial: Path, identity: dict) -> None:
    """Keep an earlier run's shards of this very pass; clear anything else in ``partial``."""
    plan_path = partial / SHARDS / PLAN
    try:
        same = json.loads(plan_path.read_text(encoding="utf-8")) == identity
    except (OSError, json.JSONDecodeError):
        same = False
    for entry in partial.iterdir():
        if entry.name == SHARDS and same:
            continue
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    (partial / SHARDS).mkdir(exist_ok=True)
    for unfinished in (partial / SHARDS).glob(".*"):
        shutil.rmtree(unfinished, ignore_errors=True)
    write_json(plan_path, identity)


def _complete(partial: Path, shard: int, texts: int) -> bool:
    try:
        record = json.loads((shard_folder(partial, shard) / SHARD).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return record.get("texts") == texts


def _reduce(partial: Path, shards: int, texts: int, layers: int, neurons: int) -> None:
    """Each layer's ``maxima_L.npy`` (texts, neurons) from the shards' rows; ValueError unless every text came from
    exactly one shard."""
    seen = np.zeros(texts, dtype=np.int64)
    arrays = [
        np.lib.format.open_memmap(partial / f"maxima_{layer}.npy", "w+", np.float16, (texts, neurons))
        for layer in range(layers)
    ]
    for shard in range(shards):
        folder = shard_folder(partial, shard)
        ids = np.load(folder / TEXT_IDS)
        np.add.at(seen, ids, 1)
        for layer, array in enumerate(arrays):
            array[ids] = np.load(folder / f"maxima_{layer}.npy", mmap_mode="r")
    if not np.all(seen == 1):
        raise ValueError(
            f"The shards under {partial} cover {int(np.sum(seen > 0))} of {texts} texts "
            f"({int(np.sum(seen > 1))} twice); run the build again."
        )
    for array in arrays:
        array.flush()
    shutil.rmtree(partial / SHARDS)
