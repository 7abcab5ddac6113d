"""The activation store's format and its reading: every word piece's hidden state at every level, computed once per
(model, revision, corpus) and kept on disk, so a restart computes nothing (:mod:`xray.store.builder` builds it).

Levels are the model's hidden states: level 0 is the embedding output, level ``L + 1`` the output of transformer
layer ``L`` (the sidebar's layer ``L``). Special tokens ([CLS], [SEP], <s>, ...) are not stored.

A store is a folder under the cache root, named after the model and a key (store version, model, revision,
corpus fingerprint, tokens per text)::

    manifest.json        written last: a folder without it is never read
    texts.parquet        the corpus table plus first_row, token_count, truncated (one row per text)
    tokens.parquet       text_id, position, piece, start, end, pos, dep, ent (one row per stored piece; a text's
                         pieces are consecutive rows, texts in the order they were computed: by length)
    level_XX.npy         (pieces, hidden) float16, memory-mapped on read
    pooled.npy           (levels, texts, hidden) float16: the mean of each text's stored pieces

The manifest keeps each data file's size and sha256 (``files``): :func:`open_store` and :func:`locate_store`
check the sizes on every open (a stat each) and ``python -m xray verify`` the checksums; a store found damaged is
moved aside, never read, and the next build makes it again. A manifest from before sizes were kept has no
``files``: such a store is read as before, unchecked.

A store built by several workers (``python -m xray index --ray``) keeps each level in shards instead of one file,
``shards/NNNNN/level_XX.npy`` (consecutive rows each; the manifest lists their row counts), and is read as one:
:meth:`ActivationStore.vectors` joins them (:class:`xray.store.shards.ShardedRows`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from xray.cache import cache_name, checksum_problem, discard_folder, size_problem
from xray.corpora.corpus import Corpus
from xray.models.batching import bf16_is_fast
from xray.models.loading import LoadedModel, model_revision
from xray.store.shards import ShardedRows, level_file
from xray.translation import _

STORE_VERSION = 1
MANIFEST = "manifest.json"


class StoreError(ValueError):
    """A store cannot be built or read; the message says what to do."""


class StoreDamagedError(StoreError):
    """A finished store's files no longer hold what was published (cut short, missing, altered): the store was
    moved aside, so the next build makes it again."""


@dataclass(frozen=True)
class StoreSettings:
    """batch_size: texts per forward pass. bf16: run under bfloat16 autocast (stored as float16 either way).
    max_tokens: word pieces per text at most, special tokens included; longer texts are cut and marked.
    """

    batch_size: int = 64
    bf16: bool = False
    max_tokens: int = 128

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}.")
        if self.max_tokens < 3:
            raise ValueError(f"max_tokens must be at least 3 (two special tokens and a word), got {self.max_tokens}.")


@dataclass(frozen=True)
class StoreManifest:
    """What a finished store holds; written last, checked on every read."""

    store_version: int
    model: str
    revision: str
    corpus_name: str
    corpus_fingerprint: str
    label_column: str | None
    levels: int
    hidden_size: int
    pieces: int
    texts: int
    max_tokens: int
    precision: str
    clipped_values: int
    build_seconds: float
    shards: tuple[int, ...] = ()
    """Rows of each shard, in order, for a store built in shards; empty for a store kept as one file a level."""
    files: dict[str, dict] = field(default_factory=dict, hash=False)
    """Each data file's path in the folder, size and sha256 when published (:func:`xray.cache.file_facts`); empty
    in a manifest written before they were kept."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "shards", tuple(int(rows) for rows in self.shards))


def page_store_settings(device: torch.device) -> StoreSettings:
    """The settings the app's corpus pages build a store with: bfloat16 autocast on a GPU that runs it natively,
    else float32. Never bfloat16 on a CPU, even one with AVX-512 BF16 or AMX: the shipped factor dictionary's top
    contexts and the lesson's claims were measured on float32 stores, and bfloat16 moves them (on the word-sense
    set, another factor tells bank's senses apart best)."""
    return StoreSettings(bf16=device.type == "cuda" and bf16_is_fast(device))


def store_name(loaded: LoadedModel, corpus: Corpus, settings: StoreSettings) -> str:
    """The store folder's name: a readable model slug plus a key over everything the vectors depend on."""
    key = f"{STORE_VERSION}|{loaded.name}|{model_revision(loaded)}|{corpus.fingerprint}|{settings.max_tokens}"
    return cache_name(loaded.name, key)


@dataclass(frozen=True, eq=False)
class ActivationStore:
    """A finished store, read lazily: vectors stay on disk until a level is asked for.

    texts: one row per text (the corpus columns plus first_row, token_count, truncated).
    tokens: one row per stored piece (text_id, position, piece, start, end, pos, dep, ent).
    """

    folder: Path
    manifest: StoreManifest
    texts: pd.DataFrame
    tokens: pd.DataFrame

    @property
    def levels(self) -> int:
        return self.manifest.levels

    def check_level(self, level: int) -> None:
        if not 0 <= level < self.levels:
            raise ValueError(
                _("Level {level} does not exist: this store has levels 0 to {last}.").format(
                    level=level, last=self.levels - 1
                )
            )

    def vectors(self, level: int) -> np.ndarray | ShardedRows:
        """(pieces, hidden) float16, memory-mapped (read from disk as touched); a sharded store's shards joined."""
        self.check_level(level)
        if self.manifest.shards:
            return ShardedRows.open(self.folder, level, len(self.manifest.shards))
        return np.load(level_file(self.folder, level), mmap_mode="r")

    def pooled(self, level: int) -> np.ndarray:
        """(texts, hidden) float16: each text's mean stored vector at ``level``."""
        self.check_level(level)
        return np.load(self.folder / "pooled.npy", mmap_mode="r")[level]

    @property
    def layout(self) -> str:
        """16 hex digits naming which piece each row holds: files that point at rows (a factor's top contexts)
        check it, since a store rebuilt under the same name by another version may order its rows otherwise."""
        digest = hashlib.sha256(self.tokens["text_id"].to_numpy(np.int64).tobytes())
        digest.update(self.tokens["start"].to_numpy(np.int64).tobytes())
        return digest.hexdigest()[:16]

    def context(self, row: int) -> tuple[str, int, int]:
        """(text, start, end) of stored piece ``row``: its text and its character span there."""
        piece = self.tokens.iloc[row]
        return str(self.texts.iloc[int(piece.text_id)]["text"]), int(piece.start), int(piece.end)


def read_manifest(folder: Path) -> StoreManifest:
    """The manifest of a finished store. Raises StoreError if the folder is incomplete or of another version."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise StoreError(
            _("{folder} is not a finished store (no {manifest}); build it again.").format(
                folder=folder, manifest=MANIFEST
            )
        )
    try:
        manifest = StoreManifest(**json.loads(manifest_path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError) as error:
        raise StoreError(
            _("{folder} was written by another version of Transformer X-Ray; build it again.").format(folder=folder)
        ) from error
    if manifest.store_version != STORE_VERSION:
        raise StoreError(
            _("{folder} is store version {version}, this app reads {expected}.").format(
                folder=folder, version=manifest.store_version, expected=STORE_VERSION
            )
        )
    return manifest


def damaged(folder: Path, problem: str) -> StoreDamagedError:
    """Move the damaged store ``folder`` aside (never read again; the next build makes it anew) and return the
    error that says so, naming ``problem``."""
    discard_folder(folder)
    return StoreDamagedError(
        _("The activation store {folder} is damaged ({problem}); it was moved aside: build it again.").format(
            folder=folder.name, problem=problem
        )
    )


def store_problem(folder: Path, manifest: StoreManifest, *, checksums: bool = False) -> str | None:
    """What is wrong with the published store's files (a size, or with ``checksums`` also a sha256, differing from
    the manifest's), or None. A manifest without file facts (an older build) finds nothing wrong."""
    check = checksum_problem if checksums else size_problem
    return check(folder, manifest.files)


def open_store(folder: Path) -> ActivationStore:
    """Read a finished store. Raises StoreError if the folder is incomplete or of another version, and
    StoreDamagedError (the folder moved aside) when a file's size differs from the manifest's."""
    manifest = read_manifest(folder)
    problem = store_problem(folder, manifest)
    if problem is not None:
        raise damaged(folder, problem)
    texts = pd.read_parquet(folder / "texts.parquet")
    tokens = pd.read_parquet(folder / "tokens.parquet")
    shards_disagree = bool(manifest.shards) and sum(manifest.shards) != manifest.pieces
    if len(texts) != manifest.texts or len(tokens) != manifest.pieces or shards_disagree:
        raise StoreError(
            _("{folder} is damaged (its tables do not match its manifest); build it again.").format(folder=folder)
        )
    return ActivationStore(folder, manifest, texts, tokens)


def locate_store(
    loaded: LoadedModel, corpus: Corpus, root: Path, settings: StoreSettings
) -> tuple[Path, StoreManifest] | None:
    """The folder and manifest of the finished store for this model and corpus under ``root``, or None, reading
    only the manifest and the sizes of its files (cheap enough for every page run). A folder under the right name
    that belongs to another model, corpus or version is moved aside and deleted, never read; a damaged one too, and
    StoreDamagedError says so."""
    folder = root / store_name(loaded, corpus, settings)
    if not folder.is_dir():
        return None
    try:
        manifest = read_manifest(folder)
    except StoreError:
        discard_folder(folder)
        return None
    expected = (loaded.name, model_revision(loaded), corpus.fingerprint, settings.max_tokens)
    if (manifest.model, manifest.revision, manifest.corpus_fingerprint, manifest.max_tokens) != expected:
        discard_folder(folder)
        return None
    problem = store_problem(folder, manifest)
    if problem is not None:
        raise damaged(folder, problem)
    return folder, manifest


def find_store(loaded: LoadedModel, corpus: Corpus, root: Path, settings: StoreSettings) -> ActivationStore | None:
    """The finished store for this model and corpus under ``root`` (see :func:`locate_store`), read, or None."""
    located = locate_store(loaded, corpus, root, settings)
    return open_store(located[0]) if located is not None else None
