"""Building the activation store (:mod:`xray.store.format`): tokenize the corpus once, run the model batch by batch,
write every stored piece's hidden state at every level.

A build writes into ``.<name>.partial/`` under an exclusive file lock and, every few seconds, flushes and records
the batches finished, so an interrupted build resumes from its last checkpoint; it becomes visible only by an
atomic rename once complete. A second process asking for the same store while it builds gets
:class:`StoreBusyError` with the share done, or, where it asks to wait (the command line does, so two servers on
one cache build a store once), waits for that build and reads its store.

spaCy's word tags depend on the texts only: the built-in corpora's ship with the package
(:mod:`xray.corpora.shipped_tags`), and any other corpus's are kept beside the stores (``tags-<corpus>.parquet``) and
shared by every model's store of that corpus: tagging is paid once per corpus, not once per model, and never for the
built-in corpora.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import torch

from xray.cache import (
    CACHE_ENV,
    FLOAT16_MAX,
    BuildStatus,
    file_facts,
    held_lock,
    lock_held,
    read_status,
    write_atomically,
    write_json,
    write_status,
)
from xray.corpora.corpus import Corpus
from xray.corpora.linguistics import (
    PIPELINE_PACKAGE,
    TAG_COLUMNS,
    piece_tag_columns,
    tag_texts,
    tags_from_table,
    tags_table,
)
from xray.corpora.shipped_tags import known_tags
from xray.memory import release_free_memory
from xray.models.batching import hidden_states, pad_batch
from xray.models.loading import LoadedModel, model_revision
from xray.progress import Progress, in_stage
from xray.store.format import (
    MANIFEST,
    STORE_VERSION,
    ActivationStore,
    StoreError,
    StoreManifest,
    StoreSettings,
    find_store,
    open_store,
    store_name,
)
from xray.store.shards import SHARDS, level_file, shard_folder
from xray.translation import N_, _

PROGRESS = "progress.json"
STATUS = "status.json"
CHECKPOINT_S = 5.0
TAGGING_BATCH = 32  # texts per spaCy batch: half the peak memory of 256, as fast (measured on the default corpus)

TAGGING = N_("tagging words with spaCy")
COMPUTING = N_("computing hidden states")
"""The build's stages, as its progress names them (English; drawn translated)."""


class StoreBusyError(StoreError):
    """Another process is building the same store right now; ``status`` is how far it is (None before it says)."""

    def __init__(self, message: str, status: BuildStatus | None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class StorePlan:
    """The corpus tokenized once: piece ids per text, which pieces are stored, and where their rows start."""

    input_ids: list[list[int]]
    keep: list[np.ndarray]
    first_row: np.ndarray
    truncated: np.ndarray
    tokens: pd.DataFrame
    batches: list[np.ndarray]

    @property
    def pieces(self) -> int:
        return len(self.tokens)


def corpus_tags(corpus: Corpus, root: Path, progress: Progress | None = None) -> list:
    """spaCy's tags of every word of ``corpus``: the shipped tags of the built-in corpora's texts
    (:mod:`xray.corpora.shipped_tags`) and, for any other text, read from ``root`` when an earlier build kept them,
    else tagged (with progress) and kept."""
    tagged = known_tags(corpus.texts)
    missing = [index for index, words in enumerate(tagged) if words is None]
    if not missing:
        return tagged
    version = re.sub(r"[^A-Za-z0-9.]+", "-", PIPELINE_PACKAGE)
    path = root / f"tags-{corpus.fingerprint}-{version}.parquet"
    if path.is_file():
        return tags_from_table(pd.read_parquet(path), len(corpus))
    report = in_stage(progress, TAGGING) if progress else None
    fresh = tag_texts([corpus.texts[i] for i in missing], batch_size=TAGGING_BATCH, progress=report)
    for index, words in zip(missing, fresh, strict=True):
        tagged[index] = words
    write_atomically(path, lambda temporary: tags_table(tagged).to_parquet(temporary, index=False))
    return tagged


def plan_store(loaded: LoadedModel, corpus: Corpus, settings: StoreSettings, tagged: list | None) -> StorePlan:
    """The corpus tokenized once and laid out: texts sorted by length into forward batches of
    ``settings.batch_size``, each text's stored pieces on consecutive rows in that order. tagged: per text its
    spaCy words (:func:`corpus_tags`), or None to leave the tag columns empty."""
    tokenizer = loaded.tokenizer
    if not tokenizer.is_fast:
        raise StoreError(
            _("'{model}' has no fast tokenizer, so its pieces cannot be mapped to characters.").format(
                model=loaded.name
            )
        )
    max_tokens = min(settings.max_tokens, loaded.max_length)
    texts = corpus.texts
    fields = ("input_ids", "offset_mapping", "special_tokens_mask")
    options = {"return_offsets_mapping": True, "return_special_tokens_mask": True}
    encoding = {field: list(values) for field, values in tokenizer(texts, truncation=False, **options).items()}
    truncated = np.array([len(ids) > max_tokens for ids in encoding["input_ids"]])
    long = np.flatnonzero(truncated).tolist()
    if long:  # tokenized again, cut: one full pass plus the few long texts costs less than two passes
        cut = tokenizer([texts[i] for i in long], truncation=True, max_length=max_tokens, **options)
        for field in fields:
            for index, values in zip(long, cut[field], strict=True):
                encoding[field][index] = values
    keep = [np.flatnonzero(np.array(mask) == 0) for mask in encoding["special_tokens_mask"]]
    counts = np.array([len(kept) for kept in keep])
    if counts.sum() == 0:
        raise StoreError(_("The corpus has no word pieces besides special tokens."))
    lengths = np.array([len(ids) for ids in encoding["input_ids"]])
    order = np.argsort(lengths, kind="stable")
    first_row = np.empty(len(texts), dtype=np.int64)
    first_row[order] = np.concatenate([[0], np.cumsum(counts[order])[:-1]])
    spans = [[tuple(encoding["offset_mapping"][i][j]) for j in keep[i]] for i in order]
    columns = {
        "text_id": np.repeat(order, counts[order]),
        "position": np.concatenate([keep[i] for i in order]),
        "piece": [
            piece
            for i in order
            for piece in tokenizer.convert_ids_to_tokens([encoding["input_ids"][i][j] for j in keep[i]])
        ],
        "start": [span[0] for text_spans in spans for span in text_spans],
        "end": [span[1] for text_spans in spans for span in text_spans],
    }
    pieces = int(counts.sum())
    if tagged is not None:
        columns |= piece_tag_columns([tagged[i] for i in order], spans)
    else:
        columns |= dict.fromkeys(TAG_COLUMNS, [""] * pieces)
    batches = [order[start : start + settings.batch_size] for start in range(0, len(order), settings.batch_size)]
    return StorePlan(
        input_ids=encoding["input_ids"],
        keep=keep,
        first_row=first_row,
        truncated=truncated,
        tokens=pd.DataFrame(columns),
        batches=batches,
    )


@contextmanager
def exclusive_build(lock_path: Path, partial: Path, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the build lock, or raise StoreBusyError saying how far the other build is. waiting: instead, wait for
    the other build to end (called once when it starts waiting), then hold the lock."""
    try:
        with held_lock(lock_path, wait=waiting is not None, on_wait=waiting):
            yield
    except BlockingIOError:
        raise StoreBusyError(
            _("Another session is building this store right now; it will be used as soon as it is done."),
            read_status(partial / STATUS),
        ) from None


def build_status(root: Path, name: str) -> BuildStatus | None:
    """How far the build of store ``name`` under ``root`` is, or None when none is running there."""
    if not lock_held(root / f".{name}.lock"):
        return None
    return read_status(root / f".{name}.partial" / STATUS) or BuildStatus(0, 0, "starting")


def _read_progress(partial: Path) -> dict:
    try:
        return json.loads((partial / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


class StoreArrays:
    """The store's arrays, opened for writing (created on a fresh build, reopened on a resume); a distributed
    build's shard writes its own with this class too.

    Level files are written with ``os.pwrite``, one contiguous slab per batch and level (rows follow the batch
    order), which costs far less than page-faulting a fresh memory map; the small pooled array is a memory map.
    """

    def __init__(self, partial: Path, levels: int, pieces: int, texts: int, hidden: int, fresh: bool) -> None:
        mode = "w+" if fresh else "r+"
        self.row_bytes = hidden * np.dtype(np.float16).itemsize
        self.files, self.offsets = [], []
        for level in range(levels):
            path = partial / f"level_{level:02d}.npy"
            if fresh:
                np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(pieces, hidden)).flush()
            self.offsets.append(np.load(path, mmap_mode="r").offset)
            self.files.append(os.open(path, os.O_WRONLY))
        self.pooled = np.lib.format.open_memmap(
            partial / "pooled.npy", mode=mode, dtype=np.float16, shape=(levels, texts, hidden) if fresh else None
        )

    def write_rows(self, level: int, first_row: int, rows: np.ndarray) -> None:
        """Write ``rows`` (n, hidden) float16 of ``level`` from row ``first_row`` on."""
        os.pwrite(self.files[level], np.ascontiguousarray(rows), self.offsets[level] + first_row * self.row_bytes)

    def flush(self) -> None:
        self.pooled.flush()

    def close(self) -> None:
        for descriptor in self.files:
            os.close(descriptor)


class StoreEngine(Protocol):
    """Computes a store's vectors into ``partial`` (resuming what an interrupted run of the same engine left
    there), then publishes it as ``final`` (:func:`publish_store`) and opens it; called under the build's lock."""

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
    ) -> ActivationStore: ...


def build_store(
    loaded: LoadedModel,
    corpus: Corpus,
    root: Path,
    settings: StoreSettings | None = None,
    *,
    tags: bool = True,
    progress: Progress | None = None,
    engine: StoreEngine | None = None,
    waiting: Callable[[], None] | None = None,
) -> ActivationStore:
    """The store for ``loaded`` over ``corpus`` under ``root``: found if finished, else built (or resumed).

    tags: tag every piece with spaCy's part of speech, dependency and entity (else those columns hold "").
    engine: what computes the vectors once the corpus is tagged, under the build's lock; default: this process,
    batch after batch (:func:`xray.distributed.store.RayStoreEngine` runs them on Ray workers, in shards).
    waiting: while another process builds it (a second server on the same cache, a command line), wait for that
    build and return its store, calling ``waiting()`` once as it starts waiting (if the other build stopped
    unfinished, this one resumes it). None: raise StoreBusyError at once instead.
    Raises StoreError when the disk cannot take it.
    """
    settings = settings or StoreSettings()
    found = find_store(loaded, corpus, root, settings)
    if found is not None:
        return found
    name = store_name(loaded, corpus, settings)
    partial = root / f".{name}.partial"
    try:
        partial.mkdir(parents=True, exist_ok=True)
        with exclusive_build(root / f".{name}.lock", partial, waiting):
            found = find_store(loaded, corpus, root, settings)
            if found is not None:
                return found
            started = time.perf_counter()

            def report(done: int, total: int, stage: str) -> None:
                write_status(partial / STATUS, BuildStatus(done, total, stage))
                if progress is not None:
                    progress(done, total, stage)

            tagged = corpus_tags(corpus, root, report) if tags else None
            build = engine or _build_locked
            return build(loaded, corpus, root / name, partial, settings, tagged, report, started)
    except OSError as error:
        raise StoreError(
            _(
                "Could not write the store under {root} ({reason}). Free some disk space or point {variable} at a "
                "folder with room; the finished part is kept and the build resumes from there."
            ).format(root=root, reason=error.strerror or error, variable=CACHE_ENV)
        ) from error


def _build_locked(
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
    identity = {
        "name": final.name,
        "batch_size": settings.batch_size,
        "pieces": plan.pieces,
        "tags": tagged is not None,
    }
    previous = _read_progress(partial)
    fresh = previous.get("identity") != identity
    if fresh:  # a distributed build's shards left here are not this build's
        shutil.rmtree(partial / SHARDS, ignore_errors=True)
    levels = loaded.num_layers + 1
    arrays = StoreArrays(partial, levels, plan.pieces, len(corpus), loaded.hidden_size, fresh)
    done: set[int] = set() if fresh else set(previous.get("batches_done", []))
    pieces_done = 0 if fresh else previous.get("pieces_done", 0)
    clipped = 0 if fresh else previous.get("clipped_values", 0)
    pad_id = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else 0
    autocast = torch.autocast(loaded.device.type, dtype=torch.bfloat16, enabled=settings.bf16)
    checkpointed = time.perf_counter()
    total = plan.pieces

    def checkpoint() -> None:
        """Flush the arrays, then record the batches written so far: a resume trusts only recorded batches. Also
        hands freed batch buffers back to the system, which batches of varying length would otherwise pile up."""
        arrays.flush()
        release_free_memory()
        record = {"identity": identity, "batches_done": sorted(done), "pieces_done": pieces_done}
        write_json(partial / PROGRESS, record | {"pieces": total, "clipped_values": clipped})

    states: tuple[torch.Tensor, ...] = ()
    try:
        with torch.inference_mode(), autocast:
            for number, batch in enumerate(plan.batches):
                if number in done:
                    continue
                states = hidden_states(loaded, pad_batch([plan.input_ids[i] for i in batch], pad_id, loaded.device))
                clipped += _write_batch(arrays, plan, batch, states)
                done.add(number)
                pieces_done += int(sum(len(plan.keep[i]) for i in batch))
                if time.perf_counter() - checkpointed >= CHECKPOINT_S:
                    checkpoint()
                    checkpointed = time.perf_counter()
                if progress is not None:
                    progress(pieces_done, plan.pieces, COMPUTING)
        checkpoint()
    finally:
        arrays.close()
    publish_store(loaded, corpus, final, partial, settings, plan, clipped, time.perf_counter() - started)
    del plan, states
    release_free_memory()
    return open_store(final)


def stored_rows(
    states: tuple[torch.Tensor, ...], keep: list[np.ndarray]
) -> Iterator[tuple[int, np.ndarray, np.ndarray, int]]:
    """Per level, (level, rows, means, clipped) of one forward batch: its texts' stored pieces, text after text
    (kept, hidden) float16, each text's mean of them (batch, hidden) float16, and how many values were clipped to
    float16's range. The single-process build and every shard of a distributed one write exactly these.

    states: per level (batch, sequence, hidden), on any device; keep: per text of the batch, the positions stored.
    """
    counts = torch.tensor([len(kept) for kept in keep])
    if not int(counts.sum()):
        return
    batch_rows = torch.repeat_interleave(torch.arange(len(keep)), counts)
    positions = torch.from_numpy(np.concatenate(keep))
    divisor = counts.clamp(min=1)[:, None]
    for level, state in enumerate(states):
        picked = state[batch_rows.to(state.device), positions.to(state.device)].float().cpu()  # (kept, hidden)
        low, high = torch.aminmax(picked)
        clipped = 0
        if max(-float(low), float(high)) > FLOAT16_MAX:  # rare: counted only when some value is out of range
            clipped = int((picked.abs() > FLOAT16_MAX).sum())
            picked = picked.clamp(-FLOAT16_MAX, FLOAT16_MAX)
        sums = torch.zeros(len(keep), picked.shape[1]).index_add_(0, batch_rows, picked)
        yield level, picked.half().numpy(), (sums / divisor).half().numpy(), clipped


def _write_batch(arrays: StoreArrays, plan: StorePlan, batch: np.ndarray, states: tuple[torch.Tensor, ...]) -> int:
    """Write one batch's stored pieces and pooled vectors at every level; returns the values clipped to float16.

    The batch's texts' rows are consecutive by construction: one contiguous slab per level."""
    first_row = int(plan.first_row[batch[0]])
    clipped = 0
    for level, rows, means, level_clipped in stored_rows(states, [plan.keep[text] for text in batch]):
        arrays.write_rows(level, first_row, rows)
        arrays.pooled[level, batch] = means
        clipped += level_clipped
    return clipped


def publish_store(
    loaded: LoadedModel,
    corpus: Corpus,
    final: Path,
    partial: Path,
    settings: StoreSettings,
    plan: StorePlan,
    clipped: int,
    seconds: float,
    shards: tuple[int, ...] = (),
) -> None:
    """Write the tables and the manifest (with every data file's size and sha256), then make the store visible with
    one atomic rename.

    shards: the rows of each shard of a store written in shards (:mod:`xray.distributed.store`), else empty."""
    texts = corpus.table.reset_index(drop=True).assign(
        first_row=plan.first_row, token_count=[len(kept) for kept in plan.keep], truncated=plan.truncated
    )
    texts.to_parquet(partial / "texts.parquet", index=False)
    plan.tokens.to_parquet(partial / "tokens.parquet", index=False)
    levels = loaded.num_layers + 1
    folders = [shard_folder(partial, shard) for shard in range(len(shards))] if shards else [partial]
    vectors = [level_file(folder, level) for folder in folders for level in range(levels)]
    data = ["texts.parquet", "tokens.parquet", "pooled.npy", *(str(path.relative_to(partial)) for path in vectors)]
    manifest = StoreManifest(
        store_version=STORE_VERSION,
        model=loaded.name,
        revision=model_revision(loaded),
        corpus_name=corpus.name,
        corpus_fingerprint=corpus.fingerprint,
        label_column=corpus.label_column,
        levels=levels,
        hidden_size=loaded.hidden_size,
        pieces=plan.pieces,
        texts=len(corpus),
        max_tokens=settings.max_tokens,
        precision="bf16" if settings.bf16 else "fp32",
        clipped_values=clipped,
        build_seconds=round(seconds, 3),
        shards=shards,
        files=file_facts(partial, data),
    )
    write_json(partial / MANIFEST, asdict(manifest))  # before the checkpoint goes: a full disk here loses nothing
    (partial / PROGRESS).unlink(missing_ok=True)
    (partial / STATUS).unlink(missing_ok=True)
    os.replace(partial, final)
