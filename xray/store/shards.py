"""A store's level held in shards (written by several workers, :mod:`xray.distributed`), read as one array.

A sharded store keeps each level as one ``.npy`` file per shard, ``shards/NNNNN/level_XX.npy``: shard ``i`` holds a
run of consecutive rows (consecutive forward batches of the build's plan), so the shards, in order, are the level
the single-process build writes as one file. :class:`ShardedRows` joins them without copying: every reader of
:meth:`xray.store.format.ActivationStore.vectors` (search, projections, factors, units) reads it as it reads the
memory-mapped single file.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np

SHARDS = "shards"


def shard_folder(root: Path, shard: int) -> Path:
    """Where shard number ``shard`` of the store (or partial store) at ``root`` lives."""
    return root / SHARDS / f"{shard:05d}"


def level_file(folder: Path, level: int) -> Path:
    """The file of ``level`` in a store folder or a shard folder."""
    return folder / f"level_{level:02d}.npy"


def read_rows(vectors: np.ndarray | ShardedRows, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of a level as a fresh in-memory array: read from the file (``os.pread``) when the level is
    memory-mapped, so a scan over a whole level never holds its file pages in this process's resident memory (each
    mapped page read counts there until the map is dropped: 85 MB a level of the default store); any other array is
    sliced."""
    if isinstance(vectors, ShardedRows):
        return np.concatenate([read_rows(part, begin, end) for part, begin, end in vectors.pieces(start, stop)])
    if not _readable(vectors):
        return np.asarray(vectors[start:stop])
    stop = min(stop, len(vectors))
    out = np.empty((max(stop - start, 0), *vectors.shape[1:]), dtype=vectors.dtype)
    if out.size:
        with open(vectors.filename, "rb", buffering=0) as file:
            _read_into(file.fileno(), vectors, start, out)
    return out


def gather_rows(vectors: np.ndarray | ShardedRows, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (any order, repeats allowed) of a level as a fresh in-memory array, in that order: read from the
    file, one ``os.pread`` a run of consecutive rows, when the level is memory-mapped. A memory map's own gather of
    5,000 random rows of the default store's level left 87 MB of the file's pages resident in this process while the
    map lived (the kernel maps the cached pages around each page touched); read so, none stay. A sharded level reads
    each shard so; any other array is indexed. IndexError for a row out of range."""
    if isinstance(vectors, ShardedRows):
        return vectors[np.asarray(rows, dtype=np.int64)]
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    if rows.size and (rows.min() < -len(vectors) or rows.max() >= len(vectors)):
        raise IndexError(f"rows out of range for {len(vectors)} rows")
    if not _readable(vectors):
        return np.asarray(vectors[rows])
    unique, inverse = np.unique(np.where(rows < 0, rows + len(vectors), rows), return_inverse=True)
    out = np.empty((len(unique), *vectors.shape[1:]), dtype=vectors.dtype)
    if not len(unique):
        return out
    breaks = np.flatnonzero(np.diff(unique) != 1) + 1
    with open(vectors.filename, "rb", buffering=0) as file:
        for first, end in zip(np.r_[0, breaks], np.r_[breaks, len(unique)], strict=True):
            _read_into(file.fileno(), vectors, int(unique[first]), out[first:end])
    return out[inverse]


def _readable(vectors: np.ndarray) -> bool:
    """Whether ``vectors`` is a whole memory-mapped array of a named file, C-ordered, which :func:`_read_into` reads
    from. A slice of one (a level of the pooled vectors) is not: numpy keeps its parent's ``offset``."""
    return (
        isinstance(vectors, np.memmap)
        and vectors.filename is not None
        and isinstance(vectors.base, mmap.mmap)
        and vectors.flags.c_contiguous
    )


def _read_into(descriptor: int, vectors: np.memmap, first_row: int, out: np.ndarray) -> None:
    """Fill ``out`` (rows, ...) with ``vectors``' rows from ``first_row`` on, read from the open file."""
    row_bytes = int(np.prod(vectors.shape[1:], dtype=np.int64)) * vectors.dtype.itemsize
    view, offset = memoryview(out).cast("B"), vectors.offset + first_row * row_bytes
    while view.nbytes:
        read = os.preadv(descriptor, [view], offset)
        if read == 0:
            raise OSError(f"{vectors.filename} ends before row {first_row + len(out)}")
        view, offset = view[read:], offset + read


class ShardedRows:
    """Read-only (rows, hidden) array made of shard arrays stacked in order, each memory-mapped.

    Supports what readers of a level do with a memory map: ``len``, ``shape``, ``dtype``, ``ndim``, an int, a slice
    (any step) or an integer array (any order, repeats allowed) as the first index, and ``numpy.asarray``.
    """

    def __init__(self, parts: list[np.ndarray]) -> None:
        if not parts:
            raise ValueError("A sharded level needs at least one shard.")
        widths = {part.shape[1:] for part in parts}
        dtypes = {part.dtype for part in parts}
        if len(widths) != 1 or len(dtypes) != 1:
            raise ValueError(f"Shards disagree on their width or type: {sorted(map(str, widths | dtypes))}.")
        self.parts = parts
        self.starts = np.concatenate([[0], np.cumsum([len(part) for part in parts])]).astype(np.int64)
        self.dtype = parts[0].dtype
        self.shape = (int(self.starts[-1]), *parts[0].shape[1:])

    @classmethod
    def open(cls, folder: Path, level: int, shards: int) -> ShardedRows:
        """``level`` of the sharded store at ``folder`` (``shards`` shards), every shard memory-mapped."""
        return cls([np.load(level_file(shard_folder(folder, shard), level), mmap_mode="r") for shard in range(shards)])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        joined = np.concatenate(self.parts)
        return joined if dtype is None else joined.astype(dtype)

    def __getitem__(self, key: object) -> np.ndarray:
        rows, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        if isinstance(rows, (int, np.integer)):
            row = int(rows) + (len(self) if rows < 0 else 0)
            if not 0 <= row < len(self):
                raise IndexError(f"row {int(rows)} is out of range for {len(self)} rows")
            shard = int(np.searchsorted(self.starts, row, side="right")) - 1
            return self.parts[shard][(row - self.starts[shard], *rest)]
        if isinstance(rows, slice):
            start, stop, step = rows.indices(len(self))
            if step == 1:
                return self._contiguous(start, max(start, stop))[(slice(None), *rest)]
            rows = np.arange(start, stop, step)
        picked = np.asarray(rows)
        if picked.dtype == bool:
            picked = np.flatnonzero(picked)
        return self._gathered(picked.astype(np.int64, copy=False))[(slice(None), *rest)]

    def pieces(self, start: int, stop: int) -> list[tuple[np.ndarray, int, int]]:
        """(shard array, first row, end row) of each shard holding rows ``start:stop``, the rows local to it."""
        first = int(np.searchsorted(self.starts, start, side="right")) - 1
        found = []
        for shard in range(max(first, 0), len(self.parts)):
            begin, end = int(self.starts[shard]), int(self.starts[shard + 1])
            if begin >= stop:
                break
            found.append((self.parts[shard], max(start, begin) - begin, min(stop, end) - begin))
        return found

    def _contiguous(self, start: int, stop: int) -> np.ndarray:
        pieces = [part[begin:end] for part, begin, end in self.pieces(start, stop)]
        if len(pieces) == 1:
            return pieces[0]
        return np.concatenate(pieces) if pieces else self.parts[0][:0]

    def _gathered(self, rows: np.ndarray) -> np.ndarray:
        if rows.size and (rows.min() < -len(self) or rows.max() >= len(self)):
            raise IndexError(f"rows out of range for {len(self)} rows")
        rows = np.where(rows < 0, rows + len(self), rows)
        shards = np.searchsorted(self.starts, rows, side="right") - 1
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype)
        for shard in np.unique(shards):
            at = np.flatnonzero(shards == shard)
            out[at] = gather_rows(self.parts[shard], rows[at] - self.starts[shard])
        return out
