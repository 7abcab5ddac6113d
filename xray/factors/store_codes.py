"""Every stored piece's factor codes, level by level, computed once and kept beside the activation store.

Coding a store by FISTA takes about half a minute a level for 7,000 pieces on a laptop CPU; the factor dashboard
(a factor's density, its histogram of non-zero codes, its top and quantile texts) and the units pass read a
factor's codes of every stored piece, so each level is coded once (``python -m xray codes``, or the page's corpus
pass) and kept: one compressed sparse (pieces, factors) matrix per level, in a folder of the store named by the
dictionary (its atoms and λ), each level written in one step as it finishes (an interrupted pass resumes at the
first level it had not finished). The codes are :func:`xray.factors.solver.chunked_codes`', the page's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse
import torch

from xray.cache import held_lock, write_atomically
from xray.factors.dictionary import FactorDictionary
from xray.factors.solver import CODING_CHUNK, chunked_codes, lipschitz
from xray.progress import Progress
from xray.store.format import ActivationStore
from xray.translation import N_, _

CODING = N_("coding every stored piece")


@dataclass(frozen=True, eq=False)
class LevelCodes:
    """The codes of every stored piece at one level: matrix, (pieces, factors) float32, sparse (CSC)."""

    level: int
    matrix: scipy.sparse.csc_array

    @property
    def factors(self) -> int:
        return int(self.matrix.shape[1])

    def check_factor(self, factor: int) -> None:
        if not 0 <= factor < self.factors:
            raise ValueError(
                _("Factor {factor} does not exist: these codes have factors 0 to {last}.").format(
                    factor=factor, last=self.factors - 1
                )
            )

    def columns(self, factors: np.ndarray) -> np.ndarray:
        """(pieces, len(factors)) float32: the codes of ``factors`` on every stored piece."""
        picked = np.asarray(factors, dtype=np.int64)
        for factor in picked.tolist():
            self.check_factor(factor)
        return np.asarray(self.matrix[:, picked].toarray(), dtype=np.float32)

    def active(self, factor: int) -> np.ndarray:
        """(k,) float32: the factor's non-zero codes, one per stored piece it is active on, in row order."""
        self.check_factor(factor)
        pointers = self.matrix.indptr
        return np.asarray(self.matrix.data[pointers[factor] : pointers[factor + 1]], dtype=np.float32)

    def density(self) -> np.ndarray:
        """(factors,) the share of stored pieces each factor is active on (code above 0)."""
        return np.diff(self.matrix.indptr) / max(self.matrix.shape[0], 1)


def dictionary_digest(dictionary: FactorDictionary) -> str:
    """16 hex digits naming what the codes depend on: the dictionary's atoms and its λ."""
    digest = hashlib.sha256(np.ascontiguousarray(dictionary.atoms, dtype=np.float32).tobytes())
    digest.update(repr(dictionary.settings.sparsity).encode())
    return digest.hexdigest()[:16]


def codes_folder(store: ActivationStore, dictionary: FactorDictionary) -> Path:
    """Where the store's codes by ``dictionary`` live: a folder of the store, one file per level."""
    return store.folder / f"factor_codes-{dictionary_digest(dictionary)}"


def _level_file(folder: Path, level: int) -> Path:
    return folder / f"level_{level:02d}.npz"


def coded_levels(store: ActivationStore, dictionary: FactorDictionary) -> list[int]:
    """The levels whose codes by ``dictionary`` are kept."""
    folder = codes_folder(store, dictionary)
    return [level for level in range(store.levels) if _level_file(folder, level).is_file()]


def find_level_codes(store: ActivationStore, dictionary: FactorDictionary, level: int) -> LevelCodes | None:
    """The kept codes of ``level`` by ``dictionary``, or None until :func:`build_level_codes` has written them."""
    _check_width(store, dictionary)
    store.check_level(level)
    path = _level_file(codes_folder(store, dictionary), level)
    if not path.is_file():
        return None
    return LevelCodes(level, scipy.sparse.csc_array(scipy.sparse.load_npz(path)))


def _check_width(store: ActivationStore, dictionary: FactorDictionary) -> None:
    if store.manifest.hidden_size != dictionary.hidden_size:
        raise ValueError(
            _(
                "The dictionary was learned on vectors of width {width} ({model}); the store holds {stored} "
                "({store_model}). Learn a dictionary for this model."
            ).format(
                width=dictionary.hidden_size,
                model=dictionary.model,
                stored=store.manifest.hidden_size,
                store_model=store.manifest.model,
            )
        )


def build_level_codes(
    store: ActivationStore,
    dictionary: FactorDictionary,
    levels: tuple[int, ...] | None = None,
    progress: Progress | None = None,
) -> None:
    """Code every stored piece at each of ``levels`` (default: every level) whose codes are not kept yet, by
    :func:`chunked_codes`, and keep each level as it finishes. One builder at a time per store and dictionary (a
    file lock). progress(pieces coded, pieces × levels to code, :data:`CODING`)."""
    _check_width(store, dictionary)
    chosen = tuple(range(store.levels)) if levels is None else levels
    for level in chosen:
        store.check_level(level)
    folder = codes_folder(store, dictionary)
    folder.mkdir(exist_ok=True)
    with held_lock(store.folder / f".{folder.name}.lock"):
        missing = [level for level in chosen if level not in coded_levels(store, dictionary)]
        atoms = torch.from_numpy(dictionary.atoms)
        bound = lipschitz(atoms)
        pieces, total = store.manifest.pieces, store.manifest.pieces * len(missing)
        for done, level in enumerate(missing):
            vectors, chunks = store.vectors(level), []
            for start in range(0, pieces, CODING_CHUNK):
                rows = np.arange(start, min(start + CODING_CHUNK, pieces))
                codes = chunked_codes(atoms, vectors, dictionary.settings.sparsity, rows=rows, bound=bound)
                chunks.append(scipy.sparse.csr_array(codes.numpy()))
                if progress is not None:
                    progress(done * pieces + int(rows[-1]) + 1, total, CODING)
            _save(_level_file(folder, level), scipy.sparse.vstack(chunks, format="csc").astype(np.float32))


def _save(path: Path, matrix: scipy.sparse.csc_array) -> None:
    write_atomically(path, lambda temporary: scipy.sparse.save_npz(temporary, matrix), ".npz")
