"""The activation store built on Ray (``python -m xray index --ray``): the same store as the single-process build,
its level files written in shards by an actor pool of model replicas.

The driver tokenizes and tags the corpus once and lays it out exactly as the single-process build does
(:func:`xray.store.builder.plan_store`: texts by length, forward batches of ``batch_size``, rows in that order); a
shard is a run of consecutive forward batches, so its rows are consecutive too. The shards go to Ray Data as blocks
of one row each (the shard's token ids and stored positions) and ``map_batches`` hands them to the replicas; each
runs the shard's batches through its model (the very batches the single-process build runs, padded alike) and writes
``shards/NNNNN/level_XX.npy`` and the shard's pooled vectors under a temporary name, renamed when complete. An
interrupted build keeps every finished shard and computes only the others when run again. The last step, on the
driver, checks every shard (rows, width, file sizes), writes the pooled array, the tables and the manifest, and
publishes the store with one atomic rename, as the single-process build does.

Same device and precision, same vectors: on float32 the shards hold bit for bit the single-process store's rows.
"""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from xray.cache import write_json
from xray.corpora.corpus import Corpus
from xray.distributed.engine import (
    SHARD,
    ModelReplica,
    ShardedBuild,
    record_batch,
    shard_record,
    start_or_resume,
)
from xray.models.batching import hidden_states, pad_batch
from xray.models.loading import LoadedModel
from xray.progress import Progress
from xray.store.builder import COMPUTING, STATUS, StoreArrays, StorePlan, plan_store, publish_store, stored_rows
from xray.store.format import ActivationStore, StoreError, StoreSettings, open_store
from xray.store.shards import level_file, shard_folder

POOLED = "pooled.npy"


@dataclass(frozen=True)
class ShardWork:
    """One shard: its number, the first text of the plan's order it holds (``start``), and per text its token ids
    and the positions it stores, text after text in the plan's order."""

    shard: int
    start: int
    input_ids: list[list[int]]
    keep: list[np.ndarray]


def write_shard(
    loaded: LoadedModel, work: ShardWork, batch_size: int, bf16: bool, folder: Path
) -> dict[str, int | float]:
    """Run ``work``'s texts through ``loaded`` in forward batches of ``batch_size`` (the plan's own batches) and
    write its level files and pooled vectors (levels, texts, hidden) into ``folder``, published by one rename once
    complete. Returns the shard's record: rows, texts, clipped values, seconds."""
    started = time.perf_counter()
    levels, hidden = loaded.num_layers + 1, loaded.hidden_size
    rows = int(sum(len(kept) for kept in work.keep))
    temporary = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}")
    temporary.mkdir(parents=True)
    try:
        arrays = StoreArrays(temporary, levels, rows, len(work.keep), hidden, fresh=True)
        pad_id = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else 0
        autocast = torch.autocast(loaded.device.type, dtype=torch.bfloat16, enabled=bf16)
        row, clipped = 0, 0
        try:
            with torch.inference_mode(), autocast:
                for first in range(0, len(work.keep), batch_size):
                    texts = range(first, min(first + batch_size, len(work.keep)))
                    batch = pad_batch([work.input_ids[text] for text in texts], pad_id, loaded.device)
                    keep = [work.keep[text] for text in texts]
                    for level, level_rows, means, level_clipped in stored_rows(hidden_states(loaded, batch), keep):
                        arrays.write_rows(level, row, level_rows)
                        arrays.pooled[level, first : first + len(keep)] = means
                        clipped += level_clipped
                    row += int(sum(len(kept) for kept in keep))
            arrays.flush()
        finally:
            arrays.close()
        record = {"rows": rows, "texts": len(work.keep), "clipped": clipped}
        record["seconds"] = round(time.perf_counter() - started, 3)
        write_json(temporary / SHARD, record)
        temporary.rename(folder)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return record


class StoreShardWorker(ModelReplica):
    """A model replica on a Ray worker: loads the model once, then writes every shard it is handed."""

    def __init__(self, model: str, device: str | None, threads: int, batch_size: int, bf16: bool, partial: str):
        super().__init__(model, device, threads)
        self.batch_size, self.bf16, self.partial = batch_size, bf16, Path(partial)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        records = []
        for shard, start, input_ids, keep in zip(
            batch["shard"], batch["start"], batch["input_ids"], batch["keep"], strict=True
        ):
            work = ShardWork(int(shard), int(start), [list(ids) for ids in input_ids], [np.asarray(k) for k in keep])
            folder = shard_folder(self.partial, work.shard)
            records.append({"shard": work.shard} | write_shard(self.loaded, work, self.batch_size, self.bf16, folder))
        return record_batch(records)


def shard_works(plan: StorePlan, batches_per_shard: int) -> list[ShardWork]:
    """The plan's forward batches cut into shards of ``batches_per_shard`` consecutive batches."""
    works = []
    for shard, first in enumerate(range(0, len(plan.batches), batches_per_shard)):
        texts = np.concatenate(plan.batches[first : first + batches_per_shard])
        start = sum(len(batch) for batch in plan.batches[:first])
        works.append(ShardWork(shard, start, [plan.input_ids[i] for i in texts], [plan.keep[i] for i in texts]))
    return works


class RayStoreEngine(ShardedBuild):
    """:class:`xray.store.builder.StoreEngine` on Ray: pass it to :func:`xray.store.builder.build_store`; its
    settings and what it did are :class:`~xray.distributed.engine.ShardedBuild`'s."""

    def __call__(
        self,
        loaded: LoadedModel,
        corpus: Corpus,
        final: Path,
        partial: Path,
        settings: StoreSettings,
        tagged: list | None,
        progress: Progress | None,
        started: float,
    ) -> ActivationStore:
        plan = plan_store(loaded, corpus, settings, tagged)
        batches_per_shard = max(1, self.shard_texts // settings.batch_size)
        works = shard_works(plan, batches_per_shard)
        identity = {
            "name": final.name,
            "batch_size": settings.batch_size,
            "batches_per_shard": batches_per_shard,
            "bf16": settings.bf16,
            "pieces": plan.pieces,
            "shards": len(works),
        }
        start_or_resume(partial, identity, kept=(STATUS,))
        rows = [int(sum(len(kept) for kept in work.keep)) for work in works]
        levels, hidden = loaded.num_layers + 1, loaded.hidden_size
        problems = [shard_problem(partial, shard, count, levels, hidden) for shard, count in enumerate(rows)]
        finished = {shard for shard, problem in enumerate(problems) if problem is None}
        self.reused = len(finished)
        pending = [_row(work) for work in works if work.shard not in finished]
        arguments = {"batch_size": settings.batch_size, "bf16": settings.bf16, "partial": str(partial)}
        done = sum(rows[shard] for shard in finished)
        self.run_shards(partial, pending, StoreShardWorker, arguments, progress, ("rows", done, plan.pieces, COMPUTING))
        clipped = _check_shards(partial, rows, levels, hidden)
        _write_pooled(partial, works, plan, levels, hidden)
        seconds = time.perf_counter() - started
        publish_store(loaded, corpus, final, partial, settings, plan, clipped, seconds, shards=tuple(rows))
        return open_store(final)


def _row(work: ShardWork) -> dict:
    return {
        "shard": work.shard,
        "start": work.start,
        "input_ids": work.input_ids,
        "keep": [kept.tolist() for kept in work.keep],
    }


def shard_problem(partial: Path, shard: int, rows: int, levels: int, hidden: int) -> str | None:
    """What is wrong with shard ``shard`` (missing, another row count, a file cut short or of another shape), or
    None when it holds the ``rows`` the plan gives it at every level."""
    record = shard_record(partial, shard)
    if record is None:
        return "missing"
    if record.get("rows") != rows:
        return f"{record.get('rows')} rows where the plan has {rows}"
    folder = shard_folder(partial, shard)
    for path in [level_file(folder, level) for level in range(levels)]:
        try:
            array = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as error:
            return f"{path.name} unreadable ({error})"
        if array.shape != (rows, hidden) or path.stat().st_size != array.offset + rows * hidden * 2:
            return f"{path.name} of shape {array.shape} in {path.stat().st_size:,} bytes"
    return None


def _check_shards(partial: Path, rows: list[int], levels: int, hidden: int) -> int:
    """Every shard present with the rows the plan gives it, each file the size its header says; returns the
    values clipped to float16 over all shards. Raises StoreError naming the first shard that is not."""
    clipped = 0
    for shard, shard_rows in enumerate(rows):
        problem = shard_problem(partial, shard, shard_rows, levels, hidden)
        if problem is not None:
            raise StoreError(f"Shard {shard} of {partial} is {problem}; run the build again.")
        clipped += int(shard_record(partial, shard)["clipped"])
    return clipped


def _write_pooled(partial: Path, works: list[ShardWork], plan: StorePlan, levels: int, hidden: int) -> None:
    """The store's pooled array (levels, texts, hidden), each text's row taken from the shard that computed it."""
    texts = len(plan.first_row)
    pooled = np.lib.format.open_memmap(partial / POOLED, "w+", np.float16, (levels, texts, hidden))
    order = np.concatenate(plan.batches)
    for work in works:
        shard_pooled = np.load(shard_folder(partial, work.shard) / POOLED, mmap_mode="r")
        pooled[:, order[work.start : work.start + len(work.keep)]] = shard_pooled
    pooled.flush()
