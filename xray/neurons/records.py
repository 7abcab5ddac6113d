"""Activation records of MLP neurons over a corpus (Bills et al. 2023), in one pass over every layer.

The pass keeps, for every text and every neuron, the neuron's largest activation over the text's tokens: one
float16 ``(texts, neurons)`` array per layer, written batch by batch into a memory-mapped file, so memory never
holds the token-level activations (MiniLM: 6 × 1,536 neurons). A neuron's top records, random records and
quantile samples are chosen from that array exactly, and their token-level activations are computed again for the
few texts shown or scored (:func:`text_activations`).

Texts are cut at ``max_tokens`` word pieces (64, the paper's excerpt length); corpus texts here are sentences, so
an excerpt is a whole sentence. Folders live under ``<cache>/neurons/<model>-<key>``, keyed by model, revision,
corpus content and ``max_tokens``, and appear at once when complete (written under a temporary name, then renamed).
One builder at a time holds a lock (another waits, then finds the finished folder); the pass checkpoints the
batches it has written every few seconds, so an interrupted pass (Ctrl-C, a page's Cancel) resumes where it
stopped, and it writes how far it is to a status file (:func:`records_status`) that a page follows.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import torch

from xray.cache import (
    FLOAT16_MAX,
    BuildStatus,
    cache_name,
    checksum_problem,
    discard_folder,
    file_facts,
    held_lock,
    lock_held,
    publish_folder,
    read_status,
    size_problem,
    write_json,
    write_status,
)
from xray.corpora.corpus import Corpus
from xray.memory import release_free_memory
from xray.models.batching import hidden_states, pad_batch
from xray.models.loading import LoadedModel, model_revision
from xray.models.mlp import captured_mlp, mlp_modules, mlp_width
from xray.progress import Progress
from xray.store.shards import SHARDS
from xray.translation import N_, _

RECORDS_VERSION = 1
MAX_TOKENS = 64
TEXT_BATCH = 16
"""Texts per forward pass of :func:`text_activations`, which runs inside the app's server: at 64 texts of 64 pieces
one batch of the embedded model held about 200 MB of transient buffers, at 16 about 60 MB, in the same time (both
measured on 256 record texts on 2 cores). The records pass, a child process, keeps its own ``batch_size``."""
MANIFEST = "manifest.json"
TEXTS = "texts.parquet"
PROGRESS = "progress.json"
STATUS = "status.json"
CHECKPOINT_S = 5.0
READING = N_("reading every neuron")  # a stage name: English in the status file, translated where drawn


@dataclass(frozen=True)
class RecordsManifest:
    """What a records folder holds: model, revision and corpus it was computed on; texts, layers, neurons per
    layer, tokens read (non-special word pieces), max_tokens per text, and the seconds the pass took."""

    version: int
    model: str
    revision: str
    corpus_name: str
    corpus_fingerprint: str
    texts: int
    layers: int
    neurons: int
    tokens: int
    max_tokens: int
    seconds: float
    files: dict[str, dict] = field(default_factory=dict, hash=False)
    """Each data file's size and sha256 when published (:func:`xray.cache.file_facts`); empty in a manifest written
    before they were kept (its folder is read unchecked, as before)."""


class RankedTexts(Protocol):
    """What choosing a unit's records needs (:func:`xray.techniques.neuron_explanations.layer_record_ids`): the
    texts ranked by each unit's per-text maxima at a layer or level. :class:`NeuronRecords` ranks MLP neurons;
    :class:`xray.units.records.UnitRecords` ranks factors and directions of the residual stream."""

    def top_texts_of(self, layer: int, units: list[int], count: int) -> np.ndarray: ...

    def quantile_texts_of(self, layer: int, units: list[int], quantiles: tuple[float, ...]) -> np.ndarray: ...

    def random_texts(self, count: int, seed: int | tuple[int, ...], excluded: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class NeuronRecords:
    """A finished records folder: per layer, each text's largest activation of each neuron."""

    folder: Path
    manifest: RecordsManifest
    texts: pd.DataFrame

    def maxima(self, layer: int) -> np.ndarray:
        """(texts, neurons) float16, memory-mapped: each text's largest activation of each neuron."""
        self.check(layer, 0)
        return np.load(self.folder / f"maxima_{layer}.npy", mmap_mode="r")

    def check(self, layer: int, neuron: int) -> None:
        """ValueError for a layer or neuron out of range."""
        if not 0 <= layer < self.manifest.layers:
            raise ValueError(
                _("Layer {layer} does not exist: this model has layers 0 to {last}.").format(
                    layer=layer, last=self.manifest.layers - 1
                )
            )
        if not 0 <= neuron < self.manifest.neurons:
            raise ValueError(
                _("Neuron {neuron} does not exist: each layer has neurons 0 to {last}.").format(
                    neuron=neuron, last=self.manifest.neurons - 1
                )
            )

    def top_texts(self, layer: int, neuron: int, count: int) -> np.ndarray:
        """The ``count`` texts where the neuron is most active, most active first."""
        return self.top_texts_of(layer, [neuron], count)[0]

    def layer_maxima(self, layer: int, neurons: list[int]) -> np.ndarray:
        """(neurons, texts) float32: each text's largest activation of each of ``neurons``, in one read."""
        for neuron in neurons:
            self.check(layer, neuron)
        return np.ascontiguousarray(np.asarray(self.maxima(layer)[:, neurons], dtype=np.float32).T)

    def top_texts_of(self, layer: int, neurons: list[int], count: int) -> np.ndarray:
        """(neurons, count): :meth:`top_texts` of every one of ``neurons``, sorted together."""
        return top_texts(self.layer_maxima(layer, neurons), count)

    def random_texts(self, count: int, seed: int | tuple[int, ...], excluded: np.ndarray) -> np.ndarray:
        """:func:`random_texts` over this corpus's texts."""
        return random_texts(self.manifest.texts, count, seed, excluded)

    def quantile_texts(self, layer: int, neuron: int, quantiles: tuple[float, ...]) -> np.ndarray:
        """One text per quantile of the neuron's per-text maxima: the text whose maximum is nearest it."""
        return self.quantile_texts_of(layer, [neuron], quantiles)[0]

    def quantile_texts_of(self, layer: int, neurons: list[int], quantiles: tuple[float, ...]) -> np.ndarray:
        """(neurons, quantiles): :meth:`quantile_texts` of every one of ``neurons``, sorted together."""
        return quantile_texts(self.layer_maxima(layer, neurons), quantiles)


def top_texts(maxima: np.ndarray, count: int) -> np.ndarray:
    """(units, count): per unit, its ``count`` texts with the largest maxima, largest first (ties by text id).

    maxima: (units, texts) each text's largest activation of each unit (a neuron, a factor, a direction)."""
    return np.argsort(-maxima, axis=1, kind="stable")[:, :count]


def quantile_texts(maxima: np.ndarray, quantiles: tuple[float, ...]) -> np.ndarray:
    """(units, quantiles): per unit, the text at each quantile of its per-text maxima (units, texts)."""
    order = np.argsort(maxima, axis=1, kind="stable")
    texts = order.shape[1]
    return order[:, np.minimum((np.asarray(quantiles) * texts).astype(int), texts - 1)]


def random_texts(texts: int, count: int, seed: int | tuple[int, ...], excluded: np.ndarray) -> np.ndarray:
    """``count`` of ``texts`` texts drawn at random, none of ``excluded``: ``numpy.random.default_rng(seed)`` draws
    them from the other texts in order without replacement (a unit passes a seed of its own, e.g. (seed, layer,
    neuron))."""
    allowed = np.setdiff1d(np.arange(texts), excluded)
    return np.random.default_rng(seed).choice(allowed, size=min(count, len(allowed)), replace=False)


def records_name(loaded: LoadedModel, corpus: Corpus, max_tokens: int) -> str:
    key = f"{RECORDS_VERSION}|{loaded.name}|{model_revision(loaded)}|{corpus.fingerprint}|{max_tokens}"
    return cache_name(loaded.name, key)


class RecordsDamagedError(ValueError):
    """A finished records folder's files no longer hold what was published (cut short, missing, altered): it was
    moved aside, so the next pass computes it again."""


def records_problem(folder: Path, manifest: RecordsManifest, *, checksums: bool = False) -> str | None:
    """What is wrong with the published records' files (a size, or with ``checksums`` also a sha256, differing
    from the manifest's), or None; a manifest without file facts (an older pass) finds nothing wrong."""
    return (checksum_problem if checksums else size_problem)(folder, manifest.files)


def open_records(folder: Path) -> NeuronRecords:
    """A records folder written by :func:`build_records`; ValueError for anything else, RecordsDamagedError (the
    folder moved aside) when a file's size differs from the manifest's."""
    try:
        manifest = RecordsManifest(**json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
        texts = pd.read_parquet(folder / TEXTS)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(
            _("{folder} holds no finished neuron records; compute them again.").format(folder=folder.name)
        ) from error
    if manifest.version != RECORDS_VERSION:
        raise ValueError(
            _("{folder} was written by another version; compute the records again.").format(folder=folder.name)
        )
    problem = records_problem(folder, manifest)
    if problem is not None:
        discard_folder(folder)
        raise RecordsDamagedError(
            _("The neuron records {folder} are damaged ({problem}); they were moved aside: compute them again.").format(
                folder=folder.name, problem=problem
            )
        )
    return NeuronRecords(folder, manifest, texts)


def find_records(loaded: LoadedModel, corpus: Corpus, root: Path, max_tokens: int = MAX_TOKENS) -> NeuronRecords | None:
    """The finished records of ``loaded`` over ``corpus`` under ``root``, or None when there are none yet."""
    folder = root / "neurons" / records_name(loaded, corpus, max_tokens)
    return open_records(folder) if (folder / MANIFEST).is_file() else None


def encode_texts(loaded: LoadedModel, texts: list[str], max_tokens: int) -> dict[str, list]:
    """``texts`` tokenized as the pass reads them: cut at ``max_tokens``, with offsets and special-token masks."""
    if not loaded.tokenizer.is_fast:
        raise ValueError(
            _("'{model}' has no fast tokenizer, so its pieces cannot be mapped to characters.").format(
                model=loaded.name
            )
        )
    return loaded.tokenizer(
        texts,
        truncation=True,
        max_length=min(max_tokens, loaded.max_length),
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )


def encoded_corpus(loaded: LoadedModel, corpus: Corpus, max_tokens: int) -> tuple[dict[str, list], int]:
    """``corpus``'s texts as the pass reads them (:func:`encode_texts`) and how many non-special tokens they hold.
    ValueError for a corpus with none."""
    encoding = encode_texts(loaded, corpus.texts, max_tokens)
    tokens = sum(len(mask) - sum(mask) for mask in encoding["special_tokens_mask"])
    if tokens == 0:
        raise ValueError(_("The corpus has no word pieces besides special tokens."))
    return encoding, int(tokens)


def forward_batches(encoding: dict[str, list], batch_size: int) -> list[np.ndarray]:
    """The pass's forward batches: text indices sorted by length (stable), ``batch_size`` at a time."""
    lengths = np.array([len(ids) for ids in encoding["input_ids"]])
    order = np.argsort(lengths, kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def _run(loaded: LoadedModel, encoding: dict[str, list], chunk: np.ndarray) -> dict[str, torch.Tensor]:
    pad_id = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else 0
    batch = pad_batch([encoding["input_ids"][i] for i in chunk], pad_id, loaded.device)
    hidden_states(loaded, batch)
    return batch


def _content_mask(encoding: dict[str, list], chunk: np.ndarray, length: int) -> torch.Tensor:
    """(batch, length) True on the non-special tokens of each text."""
    mask = torch.zeros(len(chunk), length, dtype=torch.bool)
    for row, index in enumerate(chunk):
        special = torch.tensor(encoding["special_tokens_mask"][index], dtype=torch.bool)
        mask[row, : len(special)] = ~special
    return mask


class RecordsEngine(Protocol):
    """Computes the records into ``folder``'s partial folder (resuming what an interrupted run of the same engine
    left there) and publishes them as ``folder`` (:func:`publish_records`); called under the records' lock."""

    def __call__(
        self,
        loaded: LoadedModel,
        corpus: Corpus,
        folder: Path,
        max_tokens: int,
        batch_size: int,
        progress: Progress | None,
    ) -> None: ...


def build_records(
    loaded: LoadedModel,
    corpus: Corpus,
    root: Path,
    *,
    max_tokens: int = MAX_TOKENS,
    batch_size: int = 64,
    progress: Progress | None = None,
    engine: RecordsEngine | None = None,
) -> NeuronRecords:
    """Records of every neuron of every layer over ``corpus``, found under ``root`` or computed once (one pass),
    resuming an interrupted pass from its last checkpoint; while another builder holds the lock, waits for it.
    ``progress(done, total, READING)`` over texts.

    engine: what computes the maxima under the lock; default: this process, batch after batch
    (:class:`xray.distributed.records.RayRecordsEngine` runs them on Ray workers, in shards).
    Raises ValueError for a family whose MLP cannot be read or a corpus with no word pieces.
    """
    found = find_records(loaded, corpus, root, max_tokens)
    if found is not None:
        return found
    folder = root / "neurons" / records_name(loaded, corpus, max_tokens)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with held_lock(_lock_path(folder)):
        found = find_records(loaded, corpus, root, max_tokens)
        if found is not None:  # the builder we waited for finished them
            return found
        (engine or _build_locked)(loaded, corpus, folder, max_tokens, batch_size, progress)
    return open_records(folder)


def records_status(loaded: LoadedModel, corpus: Corpus, root: Path, max_tokens: int = MAX_TOKENS) -> BuildStatus | None:
    """How far the pass that builds these records is, or None when no builder runs now."""
    folder = root / "neurons" / records_name(loaded, corpus, max_tokens)
    if not lock_held(_lock_path(folder)):
        return None
    return read_status(partial_path(folder) / STATUS) or BuildStatus(0, 0, N_("starting"))


def _lock_path(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}.lock")


def partial_path(folder: Path) -> Path:
    """Where the records of ``folder`` are written until they are published."""
    return folder.with_name(f".{folder.name}.partial")


def _read_progress(partial: Path) -> dict:
    try:
        return json.loads((partial / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _build_locked(
    loaded: LoadedModel,
    corpus: Corpus,
    folder: Path,
    max_tokens: int,
    batch_size: int,
    progress: Progress | None,
) -> None:
    """The pass itself, under the lock: into the partial folder (resumed when it holds this pass's checkpoint),
    then published as ``folder``."""
    layers, neurons = len(mlp_modules(loaded)), mlp_width(loaded)
    encoding, tokens = encoded_corpus(loaded, corpus, max_tokens)
    partial = partial_path(folder)
    partial.mkdir(exist_ok=True)
    identity = {"name": folder.name, "batch_size": batch_size, "texts": len(corpus), "layers": layers}
    previous = _read_progress(partial)
    fresh = previous.get("identity") != identity
    if fresh:  # a distributed pass's shards left here are not this pass's
        shutil.rmtree(partial / SHARDS, ignore_errors=True)
    done: set[int] = set() if fresh else set(previous.get("batches_done", []))
    seconds = 0.0 if fresh else previous.get("seconds", 0.0)
    started = time.perf_counter()
    arrays = [
        np.lib.format.open_memmap(
            partial / f"maxima_{layer}.npy", "w+" if fresh else "r+", np.float16, (len(corpus), neurons)
        )
        for layer in range(layers)
    ]
    batches = forward_batches(encoding, batch_size)

    def checkpoint() -> None:
        """Flush the arrays, then record the batches written: a resume trusts only recorded batches."""
        for array in arrays:
            array.flush()
        elapsed = seconds + time.perf_counter() - started
        write_json(partial / PROGRESS, {"identity": identity, "batches_done": sorted(done), "seconds": elapsed})

    texts_done = sum(len(batches[number]) for number in done)
    write_status(partial / STATUS, BuildStatus(texts_done, len(corpus), READING))
    checkpointed = time.perf_counter()
    try:
        with torch.inference_mode(), captured_mlp(loaded, list(range(layers))) as captured:
            for number, chunk in enumerate(batches):
                if number in done:
                    continue
                for layer, maxima in enumerate(batch_maxima(loaded, encoding, chunk, captured)):
                    arrays[layer][chunk] = maxima
                done.add(number)
                texts_done += len(chunk)
                if time.perf_counter() - checkpointed >= CHECKPOINT_S:
                    checkpoint()
                    checkpointed = time.perf_counter()
                write_status(partial / STATUS, BuildStatus(texts_done, len(corpus), READING))
                if progress is not None:
                    progress(texts_done, len(corpus), READING)
    finally:  # an interrupted pass keeps every batch it finished
        checkpoint()
    arrays.clear()
    publish_records(loaded, corpus, folder, int(tokens), max_tokens, seconds + time.perf_counter() - started)


def batch_maxima(
    loaded: LoadedModel, encoding: dict[str, list], chunk: np.ndarray, captured: dict[int, torch.Tensor]
) -> list[np.ndarray]:
    """Per layer, (batch, neurons) float16: each text of ``chunk`` (indices into ``encoding``) and each neuron, the
    neuron's largest activation over the text's non-special tokens, from one forward pass under ``captured``
    (:func:`xray.models.mlp.captured_mlp` over every layer). The single-process pass and every shard of a
    distributed one keep exactly these."""
    batch = _run(loaded, encoding, chunk)
    mask = _content_mask(encoding, chunk, batch["input_ids"].shape[1]).to(loaded.device)
    layers = []
    for layer in sorted(captured):
        activations = captured[layer].float().masked_fill(~mask[..., None], -torch.inf)
        maxima = activations.amax(dim=1).clamp(-FLOAT16_MAX, FLOAT16_MAX)
        layers.append(maxima.cpu().numpy().astype(np.float16))
    return layers


def publish_records(
    loaded: LoadedModel, corpus: Corpus, folder: Path, tokens: int, max_tokens: int, seconds: float
) -> None:
    """Write the texts and the manifest into ``folder``'s partial folder, which holds every layer's
    ``maxima_L.npy``, then publish it as ``folder`` in one rename."""
    partial = partial_path(folder)
    corpus.table[["text"]].to_parquet(partial / TEXTS, index=False)
    layers = len(mlp_modules(loaded))
    manifest = RecordsManifest(
        RECORDS_VERSION,
        loaded.name,
        model_revision(loaded),
        corpus.name,
        corpus.fingerprint,
        len(corpus),
        layers,
        mlp_width(loaded),
        tokens,
        max_tokens,
        seconds,
        file_facts(partial, [TEXTS, *(f"maxima_{layer}.npy" for layer in range(layers))]),
    )
    write_json(partial / MANIFEST, asdict(manifest))  # before the checkpoint goes: a full disk here loses nothing
    for leftover in (PROGRESS, STATUS):
        (partial / leftover).unlink(missing_ok=True)
    publish_folder(partial, folder)
    shutil.rmtree(partial, ignore_errors=True)


@dataclass(frozen=True)
class TextActivations:
    """Token-level MLP activations of a few texts at one layer.

    tokens: per text, its non-special word pieces as they appear in the text (``text[start:end]``);
    spans: per text, each token's (start, end) character span; activations: per text, (tokens, neurons) float32
    (the neurons asked for, in that order).
    """

    tokens: list[list[str]]
    spans: list[list[tuple[int, int]]]
    activations: list[np.ndarray]


def text_activations(
    loaded: LoadedModel,
    texts: list[str],
    layer: int,
    max_tokens: int = MAX_TOKENS,
    *,
    neurons: np.ndarray | None = None,
    text_neurons: list[np.ndarray] | None = None,
    batch_size: int = TEXT_BATCH,
    progress: Progress | None = None,
) -> TextActivations:
    """The activations of ``neurons`` (default: all) on every non-special token of ``texts`` at ``layer``, run in
    batches of ``batch_size`` texts of similar length; ``progress(done, total)`` over texts after each batch.

    text_neurons: instead of ``neurons``, per text the neurons kept for that text alone (a whole layer's records
    run every text once and keep, of its (tokens, neurons) activations, the few columns of the neurons it is a
    record of). ValueError for both at once, or for one entry per text missing.
    """
    if neurons is not None and text_neurons is not None:
        raise ValueError("Pass neurons (the same for every text) or text_neurons (per text), not both.")
    if text_neurons is not None and len(text_neurons) != len(texts):
        raise ValueError(f"text_neurons needs one entry per text: {len(text_neurons)} for {len(texts)} texts.")
    every = np.asarray(neurons) if neurons is not None else slice(None)
    encoding = encode_texts(loaded, texts, max_tokens)
    tokens: list[list[str]] = [[] for _ in texts]
    spans: list[list[tuple[int, int]]] = [[] for _ in texts]
    activations: list[np.ndarray] = [np.zeros(0) for _ in texts]
    done = 0
    with torch.inference_mode(), captured_mlp(loaded, [layer]) as captured:
        for chunk in forward_batches(encoding, batch_size):
            _run(loaded, encoding, chunk)
            values = captured[layer].float().cpu().numpy()  # (batch, length, neurons)
            for row, index in enumerate(chunk):
                kept = np.flatnonzero(np.array(encoding["special_tokens_mask"][index]) == 0)
                spans[index] = [tuple(encoding["offset_mapping"][index][position]) for position in kept]
                tokens[index] = [texts[index][start:end] for start, end in spans[index]]
                activations[index] = values[row, kept][:, every if text_neurons is None else text_neurons[index]]
            done += len(chunk)
            release_free_memory()  # batches of varying length would otherwise pile up freed blocks in the heap
            if progress is not None:
                progress(done, len(texts))
    return TextActivations(tokens, spans, activations)


def padded_tokens(
    loaded: LoadedModel, texts: list[str], max_tokens: int = MAX_TOKENS, batch_size: int = TEXT_BATCH
) -> int:
    """The tokens :func:`text_activations` runs over ``texts``, padding included: what its time grows with."""
    encoding = encode_texts(loaded, texts, max_tokens)
    lengths = np.array([len(ids) for ids in encoding["input_ids"]])
    return int(sum(len(chunk) * lengths[chunk].max() for chunk in forward_batches(encoding, batch_size)))
