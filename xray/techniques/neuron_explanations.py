"""Neuron explanations (Bills et al. 2023, "Language models can explain neurons in language models"): explain an
MLP neuron from the texts that make it fire, simulate its activations from the explanation alone, and score the
simulation against the truth.

- :func:`neuron_records`: a neuron's records from the corpus pass (:mod:`xray.neurons.records`), chosen as the
  reference code does: its top 20 texts split by interleaving into four sets of 5 (train, calibration, valid,
  test: ranks 0, 4, 8, …; 1, 5, 9, …; 2, 6, 10, …; 3, 7, 11, …); the explanation is written from the train set
  (ranks 0, 4, 8, 12, 16) and scored on the valid set (ranks 2, 6, 10, 14, 18); 10 random texts (none of the top
  20) drawn with a seed of their own per neuron (from the seed, layer and neuron); and quantile samples.
  Token-level activations are computed for those texts only, and normalised per neuron to integers 0-10 for what
  prompts and pages show.
- :func:`explain_neuron`: any :class:`Explainer` writes the explanation from the explanation set; any
  :class:`Simulator` predicts each scoring record's activations from it; scored against the RAW true activations
  "top-and-random" (5 top and 5 random records, the paper's main score) and "random-only" (10 random records).
  A score is undefined (NaN) where either side is constant.
- :func:`explain_layer`: the same for every neuron of a layer, its score distribution, row for row what each
  neuron gives alone, from one forward pass over the union of every neuron's record texts;
  :func:`estimate_layer`: its time, from that pass timed on a sample of the texts and a few neurons timed.
Explainers and simulators: the offline baseline (:mod:`xray.neurons.baseline`) or any OpenAI-compatible endpoint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from xray.models.loading import LoadedModel
from xray.neurons.baseline import explain_baseline, simulate_baseline
from xray.neurons.endpoint import Endpoint, explain, simulate
from xray.neurons.records import NeuronRecords, RankedTexts, TextActivations, padded_tokens, text_activations
from xray.neurons.scoring import SIDE_NAMES, Score, normalised, score
from xray.progress import Progress
from xray.results import json_text
from xray.translation import N_, Message, _, number

TOP_EACH = 5  # top records for the explanation, and as many for scoring (the paper's 5 + 5)
TOP_RECORDS = 20  # the top texts split by interleaving into train, calibration, valid and test (5 each)
SPLITS = ("train", "calibration", "valid", "test")
EXPLANATION_SPLIT, SCORING_SPLIT = "train", "valid"  # the reference's explanation and scoring splits
RANDOM_RECORDS = 10
QUANTILES = (0.5, 0.75, 0.9, 0.99)
NEVER_ACTIVE = "(never activates on this corpus)"
BASELINE_EXPLAINER = N_("baseline (token list, no language model)")
BASELINE_SIMULATOR = N_("baseline (reads the token list back)")
UNIT_NAMES = {"neuron": N_("neuron"), "factor": N_("factor")}
"""What an explanation can be about -> its name, drawn translated (``unit`` of :meth:`NeuronExplanation.verdict`)."""


def shown_name(name: str) -> str:
    """An explainer's or simulator's name as a page shows it: the baseline's in the run's language (it is saved and
    cached in English), a language model's as it is."""
    return _(name) if name in (BASELINE_EXPLAINER, BASELINE_SIMULATOR) else name


class Explainer(Protocol):
    """Writes a one-sentence explanation from records: per record, its tokens and (tokens,) activations 0-10."""

    name: str

    def explain(self, tokens: list[list[str]], activations: list[np.ndarray]) -> str: ...


class Simulator(Protocol):
    """Predicts (tokens,) activations 0-10 of a text's tokens from an explanation alone."""

    name: str

    def simulate(self, explanation: str, tokens: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class BaselineExplainer:
    name: str = BASELINE_EXPLAINER

    def explain(self, tokens: list[list[str]], activations: list[np.ndarray]) -> str:
        return explain_baseline(tokens, activations)


@dataclass(frozen=True)
class BaselineSimulator:
    name: str = BASELINE_SIMULATOR

    def simulate(self, explanation: str, tokens: list[str]) -> np.ndarray:
        return simulate_baseline(explanation, tokens)


@dataclass(frozen=True)
class EndpointExplainer:
    """A language model behind an OpenAI-compatible endpoint writes the explanation."""

    endpoint: Endpoint

    @property
    def name(self) -> str:
        return self.endpoint.model

    def explain(self, tokens: list[list[str]], activations: list[np.ndarray]) -> str:
        return explain(self.endpoint, tokens, [[int(value) for value in record] for record in activations])


@dataclass(frozen=True)
class EndpointSimulator:
    """The same language model predicts activations from the explanation (expected value where it gives
    logprobs, else the numbers it writes)."""

    endpoint: Endpoint

    @property
    def name(self) -> str:
        return self.endpoint.model

    def simulate(self, explanation: str, tokens: list[str]) -> np.ndarray:
        return simulate(self.endpoint, explanation, tokens).values


@dataclass(frozen=True)
class Record:
    """One text of a neuron's records: text_id in the corpus, its text, tokens and their character spans, raw
    (tokens,) activations and the same normalised to 0-10 against the neuron's maximum over all its records;
    kind: explanation, top, random or quantile."""

    text_id: int
    kind: str
    text: str
    tokens: list[str]
    spans: list[tuple[int, int]]
    activations: np.ndarray
    normalised: np.ndarray


@dataclass(frozen=True)
class NeuronRecordSet:
    """A neuron's records. max_activation: its largest activation over them (normalisation's 10)."""

    layer: int
    neuron: int
    max_activation: float
    records: list[Record]

    def of_kind(self, kind: str) -> list[Record]:
        return [record for record in self.records if record.kind == kind]

    @property
    def never_active(self) -> bool:
        return self.max_activation <= 0


def top_splits(top: np.ndarray) -> dict[str, np.ndarray]:
    """The reference's interleaved splits of the top texts (most active first): split ``i`` of the four takes
    ranks ``i, i + 4, i + 8, …`` of the first 20."""
    return {name: top[index : TOP_RECORDS : len(SPLITS)] for index, name in enumerate(SPLITS)}


def neuron_seed(seed: int, layer: int, neuron: int) -> tuple[int, int, int]:
    """The seed of a neuron's random records: its own per (seed, layer, neuron), so neurons draw apart."""
    return (seed, layer, neuron)


def _record_ids(records: NeuronRecords, layer: int, neuron: int, seed: int) -> dict[str, np.ndarray]:
    top = records.top_texts(layer, neuron, TOP_RECORDS)
    splits = top_splits(top)
    return {
        "explanation": splits[EXPLANATION_SPLIT],
        "top": splits[SCORING_SPLIT],
        "random": records.random_texts(RANDOM_RECORDS, neuron_seed(seed, layer, neuron), top),
        "quantile": records.quantile_texts(layer, neuron, QUANTILES),
    }


def layer_record_ids(records: RankedTexts, layer: int, neurons: list[int], seed: int) -> list[dict[str, np.ndarray]]:
    """:func:`_record_ids` of many neurons at once (or of any units whose ``records`` rank texts the same way,
    see :mod:`xray.units.records`), each neuron's texts ranked by the records in one read of the
    layer's maxima (:meth:`NeuronRecords.top_texts_of`, :meth:`NeuronRecords.quantile_texts_of`)."""
    top = records.top_texts_of(layer, neurons, TOP_RECORDS)
    quantile = records.quantile_texts_of(layer, neurons, QUANTILES)
    ids = []
    for row, neuron in enumerate(neurons):
        splits = top_splits(top[row])
        random = records.random_texts(RANDOM_RECORDS, neuron_seed(seed, layer, neuron), top[row])
        ids.append(
            {
                "explanation": splits[EXPLANATION_SPLIT],
                "top": splits[SCORING_SPLIT],
                "random": random,
                "quantile": quantile[row],
            }
        )
    return ids


@dataclass(frozen=True)
class _RecordTexts:
    """The union of several neurons' record texts, each run once: ``text_ids`` (texts,) ascending and their texts;
    per text, ``neurons[i]`` (ascending) the neurons it is a record of, and ``computed.activations[i]``
    (tokens, len(neurons[i])) their activations on it."""

    text_ids: np.ndarray
    texts: list[str]
    neurons: list[np.ndarray]
    computed: TextActivations


def _union(records: NeuronRecords, neurons: list[int], ids: list[dict[str, np.ndarray]]) -> tuple[np.ndarray, list]:
    """The union of the neurons' record texts, (texts,) ascending, and per text the neurons (ascending) needing it."""
    text_ids = np.concatenate([np.concatenate(list(chosen.values())) for chosen in ids]).astype(np.int64)
    owners = np.repeat(np.asarray(neurons, dtype=np.int64), [sum(map(len, chosen.values())) for chosen in ids])
    pair_texts, pair_neurons = np.divmod(
        np.unique(text_ids * records.manifest.neurons + owners), records.manifest.neurons
    )
    union, starts = np.unique(pair_texts, return_index=True)
    return union, np.split(pair_neurons, starts[1:])


def _run_texts(
    loaded: LoadedModel,
    records: NeuronRecords,
    layer: int,
    union: np.ndarray,
    neurons: list[np.ndarray],
    progress: Progress | None = None,
) -> _RecordTexts:
    texts = _texts(records, union)
    computed = text_activations(
        loaded, texts, layer, records.manifest.max_tokens, text_neurons=neurons, progress=progress
    )
    return _RecordTexts(union, texts, neurons, computed)


def _texts(records: NeuronRecords, text_ids: np.ndarray) -> list[str]:
    return records.texts["text"].astype(str).to_numpy()[text_ids].tolist()


def _neuron_set(found: _RecordTexts, layer: int, neuron: int, chosen: dict[str, np.ndarray]) -> NeuronRecordSet:
    """The neuron's records, from texts already run; normalised against its largest activation over them."""
    raw = []
    for kind, text_ids in chosen.items():
        for text_id in text_ids:
            index = int(np.searchsorted(found.text_ids, text_id))
            column = int(np.searchsorted(found.neurons[index], neuron))
            raw.append((kind, int(text_id), index, found.computed.activations[index][:, column]))
    peak = max((float(values.max()) for *_, values in raw if len(values)), default=0.0)
    built = [
        Record(
            text_id,
            kind,
            found.texts[index],
            found.computed.tokens[index],
            found.computed.spans[index],
            values,
            normalised(values, peak),
        )
        for kind, text_id, index, values in raw
    ]
    return NeuronRecordSet(layer, neuron, peak, built)


def neuron_records(
    loaded: LoadedModel, records: NeuronRecords, layer: int, neuron: int, *, seed: int = 0
) -> NeuronRecordSet:
    """The neuron's explanation, scoring and quantile records with their token-level activations."""
    records.check(layer, neuron)
    ids = _record_ids(records, layer, neuron, seed)
    found = _run_texts(loaded, records, layer, *_union(records, [neuron], [ids]))
    return _neuron_set(found, layer, neuron, ids)


@dataclass(frozen=True)
class ScoredRecord:
    record: Record
    simulated: np.ndarray


@dataclass(frozen=True)
class NeuronExplanation:
    """A neuron explained, simulated and scored.

    explanation: "the main thing this neuron does is find …" completed by ``explainer``; simulator, method: what
    simulated it and how; scored: the top and random scoring records with their (tokens,) simulations;
    top_and_random: the score on 5 top + 5 random records (the paper's main score); random_only: on 10 random
    records; both against the raw true activations, NaN where undefined; records: every record of the neuron
    (explanation, scoring and quantile texts); seconds: wall time of explaining, simulating and scoring.
    """

    layer: int
    neuron: int
    explanation: str
    explainer: str
    simulator: str
    max_activation: float
    scored: list[ScoredRecord]
    top_and_random: Score
    random_only: Score
    records: NeuronRecordSet
    seconds: float

    def verdict(self, unit: str = "neuron") -> Message:
        """One sentence on how good the explanation is, by its top-and-random score. unit: what was explained, a key
        of :data:`UNIT_NAMES`. English, drawn in the run's language with :func:`~xray.translation.translated`."""
        value = self.top_and_random.correlation
        if not self.top_and_random.defined:
            side = Message(SIDE_NAMES[self.top_and_random.constant])
            return Message(N_("No score: the {side} activations are constant on the scored texts."), side=side)
        if value >= 0.5:
            template = N_("A good explanation: its simulation correlates {value} with the {unit}.")
        elif value >= 0.2:
            template = N_("A partial explanation: its simulation correlates only {value} with the {unit}.")
        else:
            template = N_("A poor explanation: its simulation correlates {value} with the {unit}.")
        return Message(template, value=value, unit=Message(UNIT_NAMES[unit]))

    def summary_row(self) -> dict:
        """One row of the table of explained neurons."""
        return {
            "layer": self.layer,
            "neuron": self.neuron,
            "explanation": self.explanation,
            "explainer": self.explainer,
            "simulator": self.simulator,
            "top_and_random": round(self.top_and_random.correlation, 4),
            "random_only": round(self.random_only.correlation, 4),
            "explained_variance_centred": round(self.top_and_random.explained_variance, 4),
            "r_squared_uncentred": round(self.top_and_random.r_squared, 4),
            "max_activation": round(self.max_activation, 4),
        }

    def table(self) -> pd.DataFrame:
        """One row per scored token: text_id, kind, position, token, true (0-10), simulated."""
        rows = [
            {
                "text_id": item.record.text_id,
                "kind": item.record.kind,
                "position": position,
                "token": token,
                "true": int(item.record.normalised[position]),
                "simulated": round(float(item.simulated[position]), 3),
            }
            for item in self.scored
            for position, token in enumerate(item.record.tokens)
        ]
        return pd.DataFrame(rows, columns=["text_id", "kind", "position", "token", "true", "simulated"])

    def to_json(self) -> str:
        return json_text(self.summary_row() | {"seconds": self.seconds, "tokens": self.table().to_dict("records")})


def explain_neuron(records: NeuronRecordSet, explainer: Explainer, simulator: Simulator) -> NeuronExplanation:
    """Explain the neuron from its explanation records, simulate its scoring records, and score them.

    Raises ValueError when the neuron never activates on its records (there is nothing to explain).
    """
    if records.never_active:
        raise ValueError(
            _(
                "Neuron {neuron} of layer {layer} never activates above 0 on this corpus, so there is nothing to "
                "explain. Pick another neuron."
            ).format(neuron=records.neuron, layer=records.layer)
        )
    started = time.perf_counter()
    shown = records.of_kind("explanation")
    explanation = explainer.explain([record.tokens for record in shown], [record.normalised for record in shown])
    scored = [
        ScoredRecord(record, np.asarray(simulator.simulate(explanation, record.tokens), dtype=np.float64))
        for record in records.of_kind("top") + records.of_kind("random")
    ]
    top = [item for item in scored if item.record.kind == "top"]
    random = [item for item in scored if item.record.kind == "random"]
    mixed = top + random[:TOP_EACH]
    return NeuronExplanation(
        layer=records.layer,
        neuron=records.neuron,
        explanation=explanation,
        explainer=explainer.name,
        simulator=simulator.name,
        max_activation=records.max_activation,
        scored=scored,
        top_and_random=_score(mixed, records.max_activation),
        random_only=_score(random, records.max_activation),
        records=records,
        seconds=time.perf_counter() - started,
    )


def _score(items: list[ScoredRecord], max_activation: float) -> Score:
    """Against the raw true activations, as the reference scores (0-10 is only for prompts and pages)."""
    return score([item.record.activations for item in items], [item.simulated for item in items], max_activation)


def most_active_neurons(activations: np.ndarray, count: int) -> pd.DataFrame:
    """The ``count`` neurons most active in ``activations`` (neurons,), most active first: neuron, activation."""
    neurons = np.argsort(-activations, kind="stable")[:count]
    return pd.DataFrame({"neuron": neurons, "activation": activations[neurons].round(4)})


PROGRESS_EVERY = 32  # neurons explained between two progress reports


def explain_layer(
    loaded: LoadedModel,
    records: NeuronRecords,
    layer: int,
    explainer: Explainer,
    simulator: Simulator,
    *,
    neurons: list[int] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """:meth:`NeuronExplanation.summary_row` of every neuron of ``layer`` (or of ``neurons``), row for row what
    :func:`explain_neuron` gives on :func:`neuron_records`. The union of their record texts is run once, in
    batches, keeping of each text only the activations of the neurons it is a record of. Neurons that never
    activate, and those whose score is undefined (a constant side), get a row with a NaN score.

    progress(done, total) counts steps: each text run, then each neuron explained (total: texts + neurons).
    """
    chosen = list(range(records.manifest.neurons)) if neurons is None else neurons
    for neuron in chosen:
        records.check(layer, neuron)
    ids = layer_record_ids(records, layer, chosen, seed)
    union, text_neurons = _union(records, chosen, ids)
    total = len(union) + len(chosen)
    report = None if progress is None else lambda done, _texts, _stage="": progress(done, total)
    found = _run_texts(loaded, records, layer, union, text_neurons, report)
    rows = []
    for step, (neuron, neuron_ids) in enumerate(zip(chosen, ids, strict=True), start=1):
        rows.append(scored_row(_neuron_set(found, layer, neuron, neuron_ids), explainer, simulator))
        if progress is not None and (step % PROGRESS_EVERY == 0 or step == len(chosen)):
            progress(len(union) + step, total)
    return pd.DataFrame(rows)


def scored_row(record_set: NeuronRecordSet, explainer: Explainer, simulator: Simulator) -> dict:
    """:meth:`NeuronExplanation.summary_row` of the unit, or a row with NaN scores where it never activates."""
    if record_set.never_active:
        return (
            {"layer": record_set.layer, "neuron": record_set.neuron, "explanation": NEVER_ACTIVE}
            | {"explainer": explainer.name, "simulator": simulator.name}
            | {"top_and_random": np.nan, "random_only": np.nan}
        )
    return explain_neuron(record_set, explainer, simulator).summary_row()


@dataclass(frozen=True)
class LayerEstimate:
    """How long :func:`explain_layer` takes on every neuron of a layer, from timed samples.

    neurons: the layer's; texts: the union of their record texts (run once); choosing_s: choosing every neuron's
    records (done in full: it also gives the union); forward_s: the forward pass over the union, timed on
    ``timed_texts`` of its texts and scaled by the tokens its batches hold (padding included); per_neuron_s:
    building one neuron's records, explaining, simulating and scoring it, timed on ``timed_neurons`` neurons.
    """

    neurons: int
    texts: int
    choosing_s: float
    forward_s: float
    per_neuron_s: float
    timed_texts: int
    timed_neurons: int

    @property
    def seconds(self) -> float:
        return self.choosing_s + self.forward_s + self.neurons * self.per_neuron_s

    def summary(self) -> str:
        """Where the time goes, in the run's language (drawn at once, never kept)."""
        return _(
            "about {seconds} s: {forward} s for one forward pass over the {texts} texts of the layer's records (timed "
            "on {timed_texts}), {per_neuron} ms a neuron for {neurons} neurons' records, explanations, simulations "
            "and scores (timed on {timed_neurons}), {choosing} s choosing the records"
        ).format(
            seconds=number(self.seconds, 0),
            forward=number(self.forward_s, 1),
            texts=number(self.texts, 0),
            timed_texts=number(self.timed_texts, 0),
            per_neuron=number(1000 * self.per_neuron_s, 1),
            neurons=number(self.neurons, 0),
            timed_neurons=self.timed_neurons,
            choosing=number(self.choosing_s, 1),
        )


def estimate_layer(
    loaded: LoadedModel,
    records: NeuronRecords,
    layer: int,
    explainer: Explainer,
    simulator: Simulator,
    *,
    timed_texts: int = 256,
    timed_neurons: int = 6,
    seed: int = 0,
) -> LayerEstimate:
    """The time :func:`explain_layer` takes on the whole of ``layer``: its fixed cost (the forward pass over the
    union of the neurons' record texts, timed on ``timed_texts`` texts drawn from it) and its cost per neuron
    (timed on ``timed_neurons`` neurons spread over the layer, their texts run first)."""
    chosen = list(range(records.manifest.neurons))
    records.check(layer, 0)
    started = time.perf_counter()
    ids = layer_record_ids(records, layer, chosen, seed)
    union, text_neurons = _union(records, chosen, ids)
    choosing_s = time.perf_counter() - started

    drawn = np.sort(np.random.default_rng(seed).choice(len(union), size=min(timed_texts, len(union)), replace=False))
    started = time.perf_counter()
    sample = _run_texts(loaded, records, layer, union[drawn], [text_neurons[index] for index in drawn])
    sample_s = time.perf_counter() - started
    max_tokens = records.manifest.max_tokens
    scale = padded_tokens(loaded, _texts(records, union), max_tokens) / padded_tokens(loaded, sample.texts, max_tokens)

    timed = sorted({int(n) for n in np.linspace(0, len(chosen) - 1, timed_neurons).round()})
    found = _run_texts(loaded, records, layer, *_union(records, timed, [ids[n] for n in timed]))
    started = time.perf_counter()
    for neuron in timed:
        scored_row(_neuron_set(found, layer, neuron, ids[neuron]), explainer, simulator)
    per_neuron_s = (time.perf_counter() - started) / len(timed)
    return LayerEstimate(len(chosen), len(union), choosing_s, sample_s * scale, per_neuron_s, len(drawn), len(timed))
