"""Ray, as the distributed builds use it: a cluster joined (or a local one started in-process) for one build, and
shards of work mapped over an actor pool of model replicas with Ray Data (``map_batches``), each result streamed
back to the driver as its shard finishes.

Every node must see the cache folder at the same path (a shared file system: NFS, Lustre, EFS, a bucket mounted
with a FUSE driver): each worker writes its own shard files there, one writer per file, written front to back.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import xray
from xray.cache import write_json
from xray.models.loading import load_model
from xray.progress import Progress
from xray.store.shards import SHARDS, shard_folder

LOCAL = "local"
"""The address that starts a Ray inside this process instead of joining a cluster."""
SHARD_TEXTS = 4096
"""Texts per shard by default (rounded to whole forward batches): large enough that a shard's start-up is small
against its work, small enough that an interruption loses little."""
PLAN = "plan.json"
SHARD = "shard.json"


@dataclass(frozen=True)
class RaySettings:
    """Where and how wide a distributed build runs.

    address: a Ray cluster's address ("auto", "ray://head:10001", "head:6379"), or :data:`LOCAL` for a Ray started
        in this process with ``local_cpus`` CPUs (None: all of them).
    workers: model replicas (actors) working at once. cpus_per_worker / gpus_per_worker: what each one reserves
        (its torch threads follow its CPUs).
    """

    address: str = LOCAL
    workers: int = 1
    cpus_per_worker: int = 1
    gpus_per_worker: float = 0.0
    local_cpus: int | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {self.workers}.")
        if self.cpus_per_worker < 1:
            raise ValueError(f"--cpus-per-worker must be at least 1, got {self.cpus_per_worker}.")
        if self.gpus_per_worker < 0:
            raise ValueError(f"--gpus-per-worker cannot be negative, got {self.gpus_per_worker}.")


@contextmanager
def ray_session(settings: RaySettings) -> Iterator[None]:
    """Ray for the block: joined or started here, shut down after unless it was already running. A cluster gets the
    ``xray`` package shipped to its workers (``runtime_env`` py_modules); a local Ray's workers import it from the
    driver's own folder."""
    import ray

    if ray.is_initialized():
        yield
        return
    options: dict = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False}
    if settings.address == LOCAL:
        ray.init(num_cpus=settings.local_cpus, **options)
    else:
        package = str(Path(xray.__file__).parent)
        ray.init(address=settings.address, runtime_env={"py_modules": [package]}, **options)
    try:
        yield
    finally:
        ray.shutdown()


def map_shards(rows: list[dict], worker: type, arguments: dict, settings: RaySettings) -> Iterator[dict]:
    """Each of ``rows`` (one shard of work each) handed to one of ``settings.workers`` replicas of ``worker`` (built
    with ``worker(**arguments)``, called with a batch of one row), yielding every result row as it arrives.

    Results come in the order shards finish, not the order of ``rows``. Must run inside :func:`ray_session`."""
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.execution_options.preserve_order = False
    dataset = ray.data.from_items(rows, override_num_blocks=max(1, len(rows)))
    mapped = dataset.map_batches(
        worker,
        fn_constructor_kwargs=arguments,
        batch_size=1,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=settings.workers),
        num_cpus=settings.cpus_per_worker,
        num_gpus=settings.gpus_per_worker,
    )
    yield from mapped.iter_rows()


class ModelReplica:
    """A model replica on a Ray worker (the base of each build's worker): ``threads`` torch threads, the model
    loaded once, then handed shard after shard by Ray Data."""

    def __init__(self, model: str, device: str | None, threads: int) -> None:
        torch.set_num_threads(threads)
        self.loaded = load_model(model, device=device)


def record_batch(records: list[dict]) -> dict[str, np.ndarray]:
    """Shard records (one dict each, the same keys) as the column batch ``map_batches`` returns."""
    return {key: np.array([record[key] for record in records]) for key in records[0]}


def start_or_resume(partial: Path, identity: dict, kept: tuple[str, ...] = ()) -> None:
    """Get ``partial`` ready for the build ``identity`` names: the shards of an earlier run of this very build are
    kept (but for any a worker was still writing), everything else but the files named ``kept`` is cleared (another
    plan's shards, a single-process build's files), and the identity is written beside the shards."""
    plan_path = partial / SHARDS / PLAN
    try:
        same = json.loads(plan_path.read_text(encoding="utf-8")) == identity
    except (OSError, json.JSONDecodeError):
        same = False
    for entry in partial.iterdir():
        if (entry.name == SHARDS and same) or entry.name in kept:
            continue
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    (partial / SHARDS).mkdir(exist_ok=True)
    for unfinished in (partial / SHARDS).glob(".*"):  # a shard a worker was writing when the run stopped
        shutil.rmtree(unfinished, ignore_errors=True)
    write_json(plan_path, identity)


def shard_record(partial: Path, shard: int) -> dict | None:
    """What the worker of shard ``shard`` wrote once it had finished it, or None when it has not."""
    try:
        return json.loads((shard_folder(partial, shard) / SHARD).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


@dataclass
class ShardedBuild:
    """What both distributed builds share: where they run, what every worker loads, how big a shard is, and what
    the last build did.

    model: the name every worker loads (a built-in name, a hub id, or a folder every node sees). device: the
    workers' device (None: cuda where the worker has a GPU). shard_texts: texts per shard (whole batches).
    reused: shards kept from an earlier run; written: the record of every shard this run computed (its rows or
    texts, seconds), as its worker returned it.
    """

    ray: RaySettings
    model: str
    device: str | None = None
    shard_texts: int = SHARD_TEXTS
    reused: int = 0
    written: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.shard_texts < 1:
            raise ValueError(f"--shard-texts must be at least 1, got {self.shard_texts}.")

    @property
    def computed(self) -> int:
        return len(self.written)

    def run_shards(
        self,
        partial: Path,
        rows: list[dict],
        worker: type,
        arguments: dict,
        progress: Progress | None,
        counted: tuple[str, int, int, str],
    ) -> None:
        """Compute ``rows`` (one pending shard each) on the replicas of ``worker`` (built with the model, device,
        threads and ``arguments``), each damaged leftover of them cleared first; after each shard,
        ``progress(done, total, stage)`` with ``counted`` = (the record's count field, done so far, total, stage)."""
        key, done, total, stage = counted
        if progress is not None:
            progress(done, total, stage)
        if not rows:
            return
        for row in rows:  # a damaged shard is written again from scratch
            shutil.rmtree(shard_folder(partial, int(row["shard"])), ignore_errors=True)
        replica = {"model": self.model, "device": self.device, "threads": self.ray.cpus_per_worker}
        with ray_session(self.ray):
            for record in map_shards(rows, worker, replica | arguments, self.ray):
                self.written.append(record)
                done += int(record[key])
                if progress is not None:
                    progress(done, total, stage)
