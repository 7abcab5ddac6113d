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

import shutil
import time
import uuid
from pathlib import Path

import numpy as np
import torch

from xray.cache import BuildStatus, write_json, write_status
from xray.corpora.corpus import Corpus
from xray.distributed.engine import SHARD, ModelReplica, ShardedBuild, record_batch, shard_record, start_or_resume
from xray.models.loading import LoadedModel
from xray.models.mlp import captured_mlp, mlp_modules, mlp_width
from xray.neurons.records import (
    READING,
    STATUS,
    batch_maxima,
    encoded_corpus,
    forward_batches,
    partial_path,
    publish_records,
)
from xray.progress import Progress
from xray.store.shards import SHARDS, shard_folder

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


class RecordsShardWorker(ModelReplica):
    """A model replica on a Ray worker: loads the model once, then writes the maxima of every shard it is handed."""

    def __init__(self, model: str, device: str | None, threads: int, batch_size: int, partial: str):
        super().__init__(model, device, threads)
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
        return record_batch(records)


class RayRecordsEngine(ShardedBuild):
    """:class:`xray.neurons.records.RecordsEngine` on Ray: pass it to :func:`xray.neurons.records.build_records`;
    its settings and what it did are :class:`~xray.distributed.engine.ShardedBuild`'s."""

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
        encoding, tokens = encoded_corpus(loaded, corpus, max_tokens)
        batches = forward_batches(encoding, batch_size)
        per_shard = max(1, self.shard_texts // batch_size)
        shards = [np.concatenate(batches[first : first + per_shard]) for first in range(0, len(batches), per_shard)]
        partial = partial_path(folder)
        partial.mkdir(parents=True, exist_ok=True)
        identity = {"name": folder.name, "batch_size": batch_size, "per_shard": per_shard, "texts": len(corpus)}
        start_or_resume(partial, identity, kept=(STATUS,))
        layers = len(mlp_modules(loaded))
        finished = {number for number, texts in enumerate(shards) if not shard_problem(partial, number, texts, layers)}
        self.reused = len(finished)
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

        def report(done: int, total: int, stage: str) -> None:  # the page follows the pass by its status file
            write_status(partial / STATUS, BuildStatus(done, total, stage))
            if progress is not None:
                progress(done, total, stage)

        done = sum(len(shards[number]) for number in finished)
        arguments = {"batch_size": batch_size, "partial": str(partial)}
        self.run_shards(partial, rows, RecordsShardWorker, arguments, report, ("texts", done, len(corpus), READING))
        _reduce(partial, len(shards), len(corpus), len(mlp_modules(loaded)), mlp_width(loaded))
        publish_records(loaded, corpus, folder, int(tokens), max_tokens, time.perf_counter() - started)


def shard_problem(partial: Path, shard: int, texts: np.ndarray, layers: int) -> str | None:
    """What is wrong with shard ``shard`` (missing, other texts, a file cut short), or None when it holds the maxima
    of ``texts`` at every layer."""
    record = shard_record(partial, shard)
    if record is None or record.get("texts") != len(texts):
        return "missing"
    folder = shard_folder(partial, shard)
    try:
        ids = np.load(folder / TEXT_IDS)
        shapes = {np.load(folder / f"maxima_{layer}.npy", mmap_mode="r").shape[0] for layer in range(layers)}
    except (OSError, ValueError) as error:
        return f"unreadable ({error})"
    return None if np.array_equal(ids, texts) and shapes == {len(texts)} else "of other texts"


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
