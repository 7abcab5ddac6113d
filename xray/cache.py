"""What lives on disk, in one room: the cache root, the names of what is kept there, atomic publishing, the locks
that keep two builders of one thing apart, and the status files a page reads to follow work done in another
process.

Everything the app computes once and keeps (activation stores, neuron records, factor dictionaries, trained
tokenizers, projections) lives under :func:`default_cache_root`, in a folder or file named by :func:`cache_name`
(a readable slug and a digest of everything the content depends on), written under a temporary name and made
visible in one step (:func:`write_atomically`, :func:`publish_folder`), so a reader never sees half of it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from xray.translation import _, number

CACHE_ENV = "XRAY_CACHE_DIR"
FLOAT16_MAX = float(np.finfo(np.float16).max)
"""The largest float16: vectors kept as float16 are clipped to it (and the clipped values counted)."""


def default_cache_root() -> Path:
    """``$XRAY_CACHE_DIR`` if set, else ``~/.cache/transformer-xray``."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    return Path(configured) if configured else Path.home() / ".cache" / "transformer-xray"


def unwritable_cache(root: Path) -> str | None:
    """Why nothing can be kept under the cache root ``root`` (it cannot be made, or a file cannot be written there),
    as a message that says where to point :data:`CACHE_ENV`; None when it can be written."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=root, prefix=".write-check-")
        os.close(handle)
        os.unlink(name)
    except OSError as error:
        return _(
            "The cache folder {root} cannot be written ({reason}), so nothing computed can be kept: point {variable} "
            "at a folder this server can write, then reload the page."
        ).format(root=root, reason=error.strerror or error, variable=CACHE_ENV)
    return None


def slug(text: str, length: int = 40) -> str:
    """``text`` as letters, digits and dashes, at most ``length`` characters ("model" if nothing is left)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:length] or "model"


def cache_name(label: str, key: str) -> str:
    """A folder name: the slug of ``label``'s last path part (a model name or folder) and 16 hex digits of ``key``,
    which lists everything the content depends on (format version, model, revision, corpus fingerprint, settings)."""
    return f"{slug(Path(label).name)}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def write_atomically(path: Path, write: Callable[[Path], None], suffix: str = ".tmp") -> None:
    """``write(temporary)`` to a fresh temporary file beside ``path`` (its own for every call, so two threads or
    processes writing the same path never share one), then rename it onto ``path`` in one step.

    suffix: the temporary name's ending, for writers that insist on one (``np.savez`` adds ``.npz`` otherwise)."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_json(path: Path, content: dict) -> None:
    """``content`` as JSON at ``path``, atomically."""
    write_atomically(path, lambda temporary: temporary.write_text(json.dumps(content, indent=1), encoding="utf-8"))


def publish_folder(partial: Path, final: Path) -> None:
    """Rename the finished folder ``partial`` to ``final`` in one step. When another process published ``final``
    first, theirs is kept and ``partial`` removed; any other failure raises."""
    try:
        os.replace(partial, final)
    except OSError:
        if not final.is_dir():
            raise
        shutil.rmtree(partial, ignore_errors=True)


def discard_folder(folder: Path) -> None:
    """Move ``folder`` aside under a hidden name, then delete it: a reader that looks for it afterwards finds
    nothing (and the next build makes it again), even where the deletion fails half-way."""
    stale = folder.with_name(f".{folder.name}.stale-{os.getpid()}-{time.time_ns()}")
    folder.rename(stale)
    shutil.rmtree(stale, ignore_errors=True)


CHECKSUM = "sha256"
"""The checksum a manifest keeps of each data file: hashlib's sha256 reads the default store's 618 MB in 0.4 s here
(blake2b 1.5 s, md5 0.8 s), against about 20 s for the build."""


def file_facts(folder: Path, names: list[str]) -> dict[str, dict]:
    """What a manifest keeps of each of ``names`` (paths under ``folder``): ``{"bytes": size, "sha256": digest}``,
    read back right after writing (from the page cache)."""
    facts = {}
    for name in names:
        with (folder / name).open("rb") as handle:
            digest = hashlib.file_digest(handle, CHECKSUM).hexdigest()
        facts[name] = {"bytes": (folder / name).stat().st_size, CHECKSUM: digest}
    return facts


def size_problem(folder: Path, files: dict[str, dict]) -> str | None:
    """What is wrong with the sizes of ``files`` (:func:`file_facts`) under ``folder``, checked by a stat each: a
    file missing or of another size than when it was published; None when every size holds."""
    for name, facts in files.items():
        try:
            size = (folder / name).stat().st_size
        except OSError:
            return _("{file} is missing").format(file=name)
        if size != facts["bytes"]:
            return _("{file} holds {size} bytes where {expected} were written").format(
                file=name, size=number(size, 0), expected=number(facts["bytes"], 0)
            )
    return None


def checksum_problem(folder: Path, files: dict[str, dict]) -> str | None:
    """:func:`size_problem`, then each file read whole and its checksum compared: what differs, or None."""
    problem = size_problem(folder, files)
    if problem is not None:
        return problem
    for name, facts in files.items():
        with (folder / name).open("rb") as handle:
            digest = hashlib.file_digest(handle, CHECKSUM).hexdigest()
        if digest != facts[CHECKSUM]:
            return _("{file} was altered after it was written (its checksum differs)").format(file=name)
    return None


@contextmanager
def held_lock(path: Path, *, wait: bool = True, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the exclusive file lock at ``path`` (``flock``) for the block: one holder at a time, across processes
    and threads alike. wait: block until the lock is free; else raise BlockingIOError at once when it is held.
    on_wait: called once before blocking, when another holds the lock."""
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def lock_held(path: Path) -> bool:
    """Whether someone holds the lock at ``path`` now (a build under way in this or another process)."""
    if not path.exists():
        return False
    try:
        with held_lock(path, wait=False):
            return False
    except BlockingIOError:
        return True


@dataclass(frozen=True)
class BuildStatus:
    """How far a piece of work is: ``done`` of ``total`` in its current ``stage``, as the worker last wrote it
    (``total`` 0: it runs but has not said how much there is yet)."""

    done: int
    total: int
    stage: str

    @property
    def share(self) -> float:
        return self.done / self.total if self.total else 0.0


def read_status(path: Path) -> BuildStatus | None:
    """The status written by :func:`write_status` at ``path``, or None when there is none (yet)."""
    try:
        return BuildStatus(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, TypeError):
        return None


def write_status(path: Path, status: BuildStatus) -> None:
    """Write ``status`` at ``path`` atomically, for a page that follows the work from another process."""
    write_json(path, asdict(status))
