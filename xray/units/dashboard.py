"""One factor at one level seen as a feature, as Neuronpedia's and SAELens's feature dashboards show one: how
often it is active over a corpus (its density, and a histogram of its non-zero codes), an explanation written
from its top texts, simulated and scored by the neurons' code (:func:`explain_neuron`, any explainer and
simulator), its top and quantile texts, and any text of the user's coded and simulated.

The records are the units pass's (:func:`xray.units.records.factor_records` on the store's kept codes), so a
factor explained here gets the row the Which units page scores it with (:func:`xray.units.compare.unit_row`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xray.factors.store_codes import LevelCodes
from xray.levels import level_name
from xray.neurons.scoring import Score, normalised, score
from xray.results import json_text
from xray.store.format import ActivationStore
from xray.techniques.neuron_explanations import (
    Explainer,
    NeuronExplanation,
    Record,
    Simulator,
    explain_neuron,
    layer_record_ids,
)
from xray.translation import N_, Message, _, number, translated
from xray.units.compare import unit_row
from xray.units.records import factor_records

HISTOGRAM_BINS = 30


@dataclass(frozen=True)
class FactorDashboard:
    """A factor over a store's corpus at one level.

    pieces: the stored pieces (every piece of every text, up to the store's ``max_tokens`` a text); active: (k,)
    float32 the factor's non-zero codes on them; explanation: explained, simulated and scored from its records,
    None where the factor is active on no stored piece (nothing to explain).
    """

    factor: int
    level: int
    corpus: str
    pieces: int
    active: np.ndarray
    explanation: NeuronExplanation | None

    @property
    def density(self) -> float:
        """The share of stored pieces the factor is active on (code above 0)."""
        return len(self.active) / max(self.pieces, 1)

    def histogram(self, bins: int = HISTOGRAM_BINS) -> pd.DataFrame:
        """The non-zero codes in ``bins`` equal bins from 0 to the largest: start, end, pieces."""
        counts, edges = np.histogram(self.active, bins=bins, range=(0.0, float(self.active.max(initial=0.0)) or 1.0))
        return pd.DataFrame({"start": edges[:-1].round(5), "end": edges[1:].round(5), "pieces": counts})

    def verdict(self) -> Message:
        """One sentence: how often the factor is active, and how good its explanation is. English, drawn in the
        run's language with :func:`~xray.translation.translated`."""
        where = {"factor": self.factor, "pieces": self.pieces, "level": level_name(self.level), "corpus": self.corpus}
        if self.explanation is None:
            return Message(
                N_(
                    "Factor {factor} is active on none of the {pieces} pieces at {level} of {corpus}: nothing to "
                    "explain."
                ),
                **where,
            )
        return Message(
            N_(
                "Factor {factor} is active on {active} of the {pieces} pieces at {level} of {corpus} (codes up to "
                "{largest}). {explained}"
            ),
            **where,
            active=len(self.active),
            largest=float(self.active.max()),
            explained=self.explanation.verdict("factor"),
        )

    def summary_row(self) -> dict | None:
        """The factor's row of the store's unit table (kind "factor"), or None where it has no explanation."""
        if self.explanation is None:
            return None
        return unit_row(self.explanation.summary_row(), "factor", self.level)

    def to_json(self) -> str:
        explained = {} if self.explanation is None else self.explanation.summary_row()
        return json_text(
            explained
            | {
                "factor": self.factor,
                "level": self.level,
                "corpus": self.corpus,
                "pieces": self.pieces,
                "density": round(self.density, 6),
                "verdict": self.verdict(),
                "histogram": self.histogram().to_dict("records"),
            }
        )


def factor_dashboard(
    store: ActivationStore,
    codes: LevelCodes,
    factor: int,
    explainer: Explainer,
    simulator: Simulator,
    *,
    seed: int = 0,
) -> FactorDashboard:
    """The dashboard of ``factor`` at the level of ``codes`` (the store's kept codes), explained by ``explainer``
    and simulated by ``simulator``; its records chosen as the units pass chooses them (``seed`` likewise)."""
    active = codes.active(factor)
    explanation = None
    if len(active):
        records = factor_records(store, codes, np.array([factor]))
        [chosen] = layer_record_ids(records, codes.level, [factor], seed)
        explanation = explain_neuron(records.record_set(factor, chosen), explainer, simulator)
    return FactorDashboard(factor, codes.level, store.manifest.corpus_name, store.manifest.pieces, active, explanation)


@dataclass(frozen=True)
class TextTest:
    """A text of the user's: record, its pieces' codes of the factor (normalised 0-10 against the factor's largest
    over the corpus's records); simulated: (pieces,) the explanation's simulation of it; score: their agreement."""

    record: Record
    simulated: np.ndarray
    score: Score

    def verdict(self) -> str:
        """One sentence in the run's language (drawn at once, never kept)."""
        largest = number(float(self.record.activations.max(initial=0.0)), 3)
        if not self.score.defined:
            return _("Largest code here {largest}; no score on this text alone: {summary}").format(
                largest=largest, summary=translated(self.score.summary())
            )
        return _(
            "Largest code here {largest}; the explanation's simulation correlates {correlation} with the factor on "
            "this text."
        ).format(largest=largest, correlation=number(self.score.correlation))


def scored_user_text(
    explanation: NeuronExplanation, simulator: Simulator, text: str, spans: list[tuple[int, int]], codes: np.ndarray
) -> TextTest:
    """``text`` with its pieces' ``spans`` and (pieces,) ``codes`` of the explained factor, simulated from the
    explanation and scored against the codes as a record is."""
    if len(spans) != len(codes):
        raise ValueError(f"One code per piece: got {len(codes)} codes for {len(spans)} pieces.")
    values = np.asarray(codes, dtype=np.float64)
    peak = explanation.max_activation
    pieces = [text[start:end] for start, end in spans]
    record = Record(-1, "test", text, pieces, list(spans), values, normalised(values, peak))
    simulated = np.asarray(simulator.simulate(explanation.explanation, pieces), dtype=np.float64)
    return TextTest(record, simulated, score([values], [simulated], peak))
