"""Results computed from a store kept on disk beside it, so a revisit, a second session or a server restart does not
compute them again: the Projections page's layouts, clusters and cluster suggestions (:func:`kept`).

Each result's arrays are one ``.npz`` file, named after a digest of ``about`` (everything the arrays depend on:
the store's manifest, level, unit, the sampled rows, seed, the method and its settings and version) and holding
``about`` itself, which a read checks. Files are written to a temporary name and renamed into place,
so a reader never sees half a file; a damaged or foreign file reads as missing and is fitted and written again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from xray.cache import write_atomically

log = logging.getLogger("xray")
FOLDER = "projections"
ABOUT = "about"


def rows_digest(rows: np.ndarray) -> str:
    """16 hex digits naming the sampled rows (in their order)."""
    return hashlib.sha256(np.asarray(rows, dtype=np.int64).tobytes()).hexdigest()[:16]


def cache_path(folder: Path, about: dict) -> Path:
    """Where the arrays described by ``about`` (a JSON-serialisable dict) live under ``folder``."""
    text = json.dumps(about, sort_keys=True)
    return folder / f"{hashlib.sha256(text.encode()).hexdigest()[:24]}.npz"


def read_arrays(path: Path, about: dict) -> dict[str, np.ndarray] | None:
    """The arrays stored at ``path`` for ``about``, or None when there is no such file, it is damaged, or it was
    written for something else."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if json.loads(str(stored[ABOUT])) != json.loads(json.dumps(about)):
                return None
            return {name: stored[name] for name in stored.files if name != ABOUT}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        log.warning("Fitting again: the stored projection %s is unreadable (%s)", path, error)
        return None


def write_arrays(path: Path, about: dict, arrays: dict[str, np.ndarray]) -> None:
    """Store ``arrays`` for ``about`` at ``path`` atomically. A folder one cannot write to (a read-only cache) only
    costs the next visit a fit, so it is logged, not raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        about_array = np.array(json.dumps(about, sort_keys=True))
        write_atomically(path, lambda temporary: np.savez(temporary, **{ABOUT: about_array}, **arrays), ".npz")
    except OSError as error:
        log.warning("Could not keep the projection at %s (%s); it will be fitted again next time", path, error)


def kept(
    folder: Path, about: dict, compute: Callable[[], dict[str, np.ndarray]], shapes: dict[str, tuple[int, ...]]
) -> tuple[dict[str, np.ndarray], bool]:
    """(the arrays for ``about``, True if they were read from ``folder``): read when a file there holds every array
    of ``shapes`` at its shape, else ``compute()`` and kept for next time."""
    path = cache_path(folder, about)
    arrays = read_arrays(path, about)
    if arrays is not None and all(name in arrays and arrays[name].shape == shape for name, shape in shapes.items()):
        return arrays, True
    arrays = compute()
    write_arrays(path, about, arrays)
    return arrays, False
