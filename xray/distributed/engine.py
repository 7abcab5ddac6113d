"""Ray, as the distributed builds use it: a cluster joined (or a local one started in-process) for one build, and
shards of work mapped over an actor pool of model replicas with Ray Data (``map_batches``), each result streamed
back to the driver as its shard finishes.

Every node must see the cache folder at the same path (a shared file system: NFS, Lustre, EFS, a bucket mounted
with a FUSE driver): each worker writes its own shard files there, one writer per file, written front to back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import xray

LOCAL = "local"
"""The address that starts a Ray inside this process instead of joining a cluster."""


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
