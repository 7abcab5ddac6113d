"""Which units can be explained? Samples of units of every kind at every level, explained, simulated and scored by
one explainer and one scorer, and their score distributions side by side.

Kinds (:data:`UNIT_KINDS`): MLP neurons (the corpus pass of :mod:`xray.neurons.records`; the neurons of layer
``l`` sit at level ``l + 1``, the output of their block; level 0, the embeddings, has none), factors of the
dictionary (their codes), and directions of the residual stream (:mod:`xray.units.directions`: the standard
basis, PCA components, random unit directions as the floor). Every unit's records are chosen, normalised and
scored by the same code (:mod:`xray.techniques.neuron_explanations`); the score is the top-and-random
correlation. Medians come with a bootstrap 95% interval and the count of units whose score is undefined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xray.factors.dictionary import FactorDictionary
from xray.factors.store_codes import build_level_codes, find_level_codes
from xray.levels import level_name
from xray.models.loading import LoadedModel
from xray.neurons.records import NeuronRecords
from xray.progress import Progress
from xray.results import json_text
from xray.store.format import ActivationStore
from xray.techniques.neuron_explanations import (
    RANDOM_RECORDS,
    TOP_RECORDS,
    Explainer,
    Simulator,
    explain_layer,
    layer_record_ids,
    scored_row,
)
from xray.translation import N_, Message, _, number, translated
from xray.units.directions import DIRECTION_KINDS, directions
from xray.units.records import UnitRecords, direction_records, factor_records

UNIT_KINDS = ("neuron", "factor", *DIRECTION_KINDS)
KIND_NAMES = {
    "neuron": N_("MLP neurons"),
    "factor": N_("factors"),
    "basis": N_("residual basis"),
    "pca": N_("PCA components"),
    "random": N_("random directions"),
}
"""A kind of unit -> its name, translated where drawn."""
SCORE = "top_and_random"
BOOTSTRAP = 1_000
SCORING = N_("scoring units")


def sample_units(total: int, count: int, seed: int, kind: str, level: int) -> np.ndarray:
    """(min(count, total),) ascending unit ids drawn without replacement, seeded per kind and level."""
    if count < 1:
        raise ValueError(_("Score at least one unit of each kind, not {count}.").format(count=count))
    generator = np.random.default_rng((seed, UNIT_KINDS.index(kind), level))
    return np.sort(generator.choice(total, min(count, total), replace=False))


def unit_row(row: dict, kind: str, level: int) -> dict:
    """A scored row (:func:`scored_row`, keyed layer and neuron) as a unit's: kind, level, unit first."""
    rest = {key: value for key, value in row.items() if key not in ("layer", "neuron")}
    return {"kind": kind, "level": level, "unit": int(row["neuron"])} | rest


def score_records(records: UnitRecords, explainer: Explainer, simulator: Simulator, *, seed: int = 0) -> list[dict]:
    """One scored row per unit of ``records``, each unit's records chosen as a neuron's are."""
    units = records.units.tolist()
    ids = layer_record_ids(records, records.level, units, seed)
    return [
        unit_row(scored_row(records.record_set(unit, chosen), explainer, simulator), records.kind, records.level)
        for unit, chosen in zip(units, ids, strict=True)
    ]


@dataclass(frozen=True)
class UnitScores:
    """Units of several kinds scored at several levels by one explainer and simulator.

    rows: one per unit (kind, level, unit, explanation, explainer, simulator, top_and_random, random_only, …), NaN
    scores where undefined; seed: the seed units and records were drawn with (and the bootstrap's).
    """

    model: str
    corpus: str
    rows: pd.DataFrame
    seed: int

    def medians(self) -> pd.DataFrame:
        """One row per kind and level: units scored, undefined (NaN scores, left out), the median top-and-random
        score of the rest and its bootstrap 95% interval (:data:`BOOTSTRAP` resamples, percentile)."""
        generator = np.random.default_rng(self.seed)
        out = []
        for (kind, level), group in self.rows.groupby(["kind", "level"], sort=False):
            scores = group[SCORE].to_numpy(dtype=np.float64)
            defined = scores[~np.isnan(scores)]
            low = high = median = np.nan
            if len(defined):
                median = float(np.median(defined))
                resampled = np.median(generator.choice(defined, (BOOTSTRAP, len(defined)), replace=True), axis=1)
                low, high = (float(value) for value in np.percentile(resampled, [2.5, 97.5]))
            out.append(
                {
                    "kind": kind,
                    "level": int(level),
                    "level_name": level_name(int(level)),
                    "units": len(scores),
                    "undefined": int(np.isnan(scores).sum()),
                    "median": round(median, 4),
                    "low": round(low, 4),
                    "high": round(high, 4),
                }
            )
        table = pd.DataFrame(out)
        table["kind"] = pd.Categorical(table["kind"], categories=UNIT_KINDS, ordered=True)
        return table.sort_values(["kind", "level"]).reset_index(drop=True).astype({"kind": str})

    def grid(self) -> pd.DataFrame:
        """One row per kind (its name), one column per level (its name): "median [low, high]" (:meth:`medians`),
        "undefined" where no unit of the kind got a defined score there, "-" where the kind has no units (neurons at
        the embeddings). In the run's language: drawn at once, never kept."""
        medians = self.medians()
        interval = _("{median} [{low}, {high}]")  # a median and its 95% interval
        cells = [
            _("undefined")
            if np.isnan(row.median)
            else interval.format(median=number(row.median), low=number(row.low), high=number(row.high))
            for row in medians.itertuples()
        ]
        grid = medians.assign(cell=cells).pivot(index="kind", columns="level", values="cell")
        kinds = [kind for kind in UNIT_KINDS if kind in grid.index]
        levels = sorted(medians["level"].unique())
        grid = grid.reindex(index=kinds, columns=levels).fillna("-")
        grid.index = [_(KIND_NAMES[kind]) for kind in kinds]
        grid.columns = [translated(level_name(int(level))) for level in levels]
        return grid

    def verdict(self) -> Message:
        """One sentence on what the medians show: each kind's median over every level, and which kind scores
        highest at how many levels. English, drawn in the run's language with :func:`~xray.translation.translated`."""
        medians = self.medians().dropna(subset=["median"])
        if medians.empty:
            return Message(N_("No unit got a defined score."))
        overall = self.rows.groupby("kind")[SCORE].median().dropna().sort_values(ascending=False)
        ranked = _listed([_kind_value(kind, float(value)) for kind, value in overall.items()])
        best = medians.loc[medians.groupby("level")["median"].idxmax()]
        leader = best["kind"].value_counts()
        return Message(
            N_(
                "Median top-and-random score over every level: {ranked}; {top} score highest at {count} of {levels} "
                "levels."
            ),
            ranked=ranked,
            top=Message(KIND_NAMES[str(leader.index[0])]),
            count=int(leader.iloc[0]),
            levels=int(best["level"].nunique()),
        )

    def table(self) -> pd.DataFrame:
        """:meth:`medians`, one row per kind and level."""
        return self.medians()

    def to_json(self) -> str:
        return json_text(
            {
                "model": self.model,
                "corpus": self.corpus,
                "seed": self.seed,
                "verdict": self.verdict(),
                "medians": self.medians().to_dict("records"),
                "units": self.rows.to_dict("records"),
            }
        )


def against_random(trained: UnitScores, random: UnitScores) -> Message:
    """One sentence: per kind scored on both, the trained model's median score over every level minus the
    random-weights model's (Heap et al.'s control: near 0 means the score does not tell trained from random).
    English, drawn in the run's language with :func:`~xray.translation.translated`."""
    medians = [scores.rows.groupby("kind")[SCORE].median() for scores in (trained, random)]
    both = [kind for kind in UNIT_KINDS if kind in medians[0].dropna() and kind in medians[1].dropna()]
    if not both:
        return Message(N_("No kind of unit got defined scores on both models."))
    gaps = [float(medians[0][kind] - medians[1][kind]) for kind in both]
    signed = [Message("-{value}" if gap < 0 else "+{value}", value=abs(gap)) for gap in gaps]
    return Message(
        N_("Trained minus random weights, median score over every level: {gaps}."),
        gaps=_listed([_kind_value(kind, gap) for kind, gap in zip(both, signed, strict=True)]),
    )


def _kind_value(kind: str, value: float | Message) -> Message:
    """ "MLP neurons 0.42": a kind's name and a value (a float, written as the run's language writes it)."""
    return Message(N_("{kind} {value}"), kind=Message(KIND_NAMES[kind]), value=value)


def _listed(items: list[Message]) -> Message:
    """``items`` joined by commas, as one Message (its template is placeholders only, the same in every language)."""
    names = [f"item{index}" for index in range(len(items))]
    return Message(", ".join(f"{{{name}}}" for name in names), **dict(zip(names, items, strict=True)))


def score_units(
    loaded: LoadedModel,
    store: ActivationStore,
    explainer: Explainer,
    simulator: Simulator,
    *,
    kinds: tuple[str, ...] = UNIT_KINDS,
    levels: tuple[int, ...] | None = None,
    units: int = 100,
    neuron_records: NeuronRecords | None = None,
    dictionary: FactorDictionary | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> UnitScores:
    """Score ``units`` units of each of ``kinds`` at each of ``levels`` (default: every level of the store).

    neuron_records: the corpus pass over the store's corpus, for neurons; dictionary: for factors (their codes of
    the store are read from :mod:`xray.factors.store_codes`, coded and kept first where missing). ValueError for
    an unknown kind or a kind whose source is missing. progress(done, total, SCORING) counts (kind, level) steps.
    """
    unknown = [kind for kind in kinds if kind not in UNIT_KINDS]
    if unknown:
        raise ValueError(f"Unknown unit kinds {unknown}; pick from {', '.join(UNIT_KINDS)}.")
    if "neuron" in kinds and neuron_records is None:
        raise ValueError("Scoring neurons needs the neuron records of this corpus (python -m xray neurons).")
    if "factor" in kinds and dictionary is None:
        raise ValueError("Scoring factors needs a factor dictionary for this model (python -m xray factors).")
    least = TOP_RECORDS + RANDOM_RECORDS
    if store.manifest.texts < least:
        raise ValueError(
            f"Scoring units needs a corpus of at least {least} texts (each unit's top {TOP_RECORDS} and "
            f"{RANDOM_RECORDS} random others); {store.manifest.corpus_name} has {store.manifest.texts}."
        )
    chosen = tuple(range(store.levels)) if levels is None else levels
    for level in chosen:
        store.check_level(level)
    steps = [(kind, level) for level in chosen for kind in kinds if not (kind == "neuron" and level == 0)]
    rows: list[dict] = []
    for done, (kind, level) in enumerate(steps, start=1):
        rows += _score_kind(loaded, store, kind, level, explainer, simulator, units, neuron_records, dictionary, seed)
        if progress is not None:
            progress(done, len(steps), SCORING)
    return UnitScores(loaded.name, store.manifest.corpus_name, pd.DataFrame(rows), seed)


def _score_kind(
    loaded: LoadedModel,
    store: ActivationStore,
    kind: str,
    level: int,
    explainer: Explainer,
    simulator: Simulator,
    units: int,
    neuron_records: NeuronRecords | None,
    dictionary: FactorDictionary | None,
    seed: int,
) -> list[dict]:
    if kind == "neuron" and neuron_records is not None:
        neurons = sample_units(neuron_records.manifest.neurons, units, seed, kind, level).tolist()
        scored = explain_layer(loaded, neuron_records, level - 1, explainer, simulator, neurons=neurons, seed=seed)
        return [unit_row(row, kind, level) for row in scored.to_dict("records")]
    if kind == "factor" and dictionary is not None:
        picked = sample_units(dictionary.factors, units, seed, kind, level)
        build_level_codes(store, dictionary, (level,))  # kept: a run of the same store again reads them
        codes = find_level_codes(store, dictionary, level)
        return score_records(factor_records(store, codes, picked), explainer, simulator, seed=seed)
    found = directions(kind, store, level, units=units, seed=seed)
    picked = sample_units(found.units, units, seed, kind, level)
    return score_records(direction_records(store, found, picked), explainer, simulator, seed=seed)
