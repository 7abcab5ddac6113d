"""Records of factors and residual directions, read from the activation store as neuron records are computed.

For some units at one level: every stored piece's activation (a factor's code, a direction's projection) and
each text's largest, so a unit's top, random and quantile texts are chosen from the whole corpus exactly as a
neuron's are (:func:`xray.techniques.neuron_explanations.layer_record_ids`), and its records carry the stored
pieces' own activations: no forward pass. Texts are the store's (its first ``max_tokens`` pieces each).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xray.factors.store_codes import LevelCodes
from xray.neurons.records import quantile_texts, random_texts, top_texts
from xray.neurons.scoring import normalised
from xray.store.format import ActivationStore
from xray.techniques.neuron_explanations import NeuronRecordSet, Record
from xray.units.directions import Directions


@dataclass(frozen=True, eq=False)
class UnitRecords:
    """Some units of one kind at one level over a store: the units' ids, (pieces, units) float32 activations of
    every stored piece, and (units, texts) float32 each text's largest (-inf for a text with no stored piece).

    Ranks texts as :class:`xray.neurons.records.RankedTexts` asks, by unit id (``layer`` is the level)."""

    store: ActivationStore
    kind: str
    level: int
    units: np.ndarray
    activations: np.ndarray
    maxima: np.ndarray

    def column(self, unit: int) -> int:
        found = np.flatnonzero(self.units == unit)
        if len(found) == 0:
            raise ValueError(f"{self.kind} {unit} is not among the units read at level {self.level}.")
        return int(found[0])

    def _maxima(self, level: int, units: list[int]) -> np.ndarray:
        if level != self.level:
            raise ValueError(f"These records are of level {self.level}, not {level}.")
        return self.maxima[[self.column(unit) for unit in units]]

    def top_texts_of(self, layer: int, units: list[int], count: int) -> np.ndarray:
        return top_texts(self._maxima(layer, units), count)

    def quantile_texts_of(self, layer: int, units: list[int], quantiles: tuple[float, ...]) -> np.ndarray:
        return quantile_texts(self._maxima(layer, units), quantiles)

    def random_texts(self, count: int, seed: int | tuple[int, ...], excluded: np.ndarray) -> np.ndarray:
        return random_texts(self.store.manifest.texts, count, seed, excluded)

    def record_set(self, unit: int, chosen: dict[str, np.ndarray]) -> NeuronRecordSet:
        """The unit's records for the texts ``chosen`` (kind: text ids), each with its stored pieces' activations,
        normalised against the unit's largest over them."""
        column = self.column(unit)
        texts = self.store.texts["text"].astype(str).to_numpy()
        raw = []
        for kind, text_ids in chosen.items():
            for text_id in text_ids:
                rows = _text_rows(self.store, int(text_id))
                raw.append((kind, int(text_id), rows, self.activations[rows, column].astype(np.float64)))
        peak = max((float(values.max()) for *_, values in raw if len(values)), default=0.0)
        starts, ends = self.store.tokens["start"].to_numpy(), self.store.tokens["end"].to_numpy()
        built = []
        for kind, text_id, rows, values in raw:
            text = texts[text_id]
            spans = list(zip(starts[rows].tolist(), ends[rows].tolist(), strict=True))
            pieces = [text[start:end] for start, end in spans]
            built.append(Record(text_id, kind, text, pieces, spans, values, normalised(values, peak)))
        return NeuronRecordSet(self.level, unit, peak, built)


def _text_rows(store: ActivationStore, text_id: int) -> np.ndarray:
    """The store rows of one text's pieces, in text order."""
    first = int(store.texts["first_row"].iloc[text_id])
    return np.arange(first, first + int(_piece_counts(store)[text_id]))


def _piece_counts(store: ActivationStore) -> np.ndarray:
    """(texts,) how many pieces the store holds of each text."""
    return np.bincount(store.tokens["text_id"].to_numpy(), minlength=store.manifest.texts)


def text_maxima(store: ActivationStore, activations: np.ndarray) -> np.ndarray:
    """(units, texts) each text's largest activation of each unit, from (pieces, units) activations of the store's
    rows; -inf for a text with no stored piece."""
    counts = _piece_counts(store)
    firsts = store.texts["first_row"].to_numpy().astype(np.int64)
    maxima = np.full((activations.shape[1], len(counts)), -np.inf, dtype=np.float32)
    present = np.flatnonzero(counts > 0)
    order = present[np.argsort(firsts[present], kind="stable")]
    if len(order):
        reduced = np.maximum.reduceat(activations, firsts[order], axis=0)  # (present texts, units), rows contiguous
        maxima[:, order] = reduced.T
    return maxima


def direction_records(store: ActivationStore, found: Directions, units: np.ndarray) -> UnitRecords:
    """The records of the directions ``units`` (columns of ``found``) at its level."""
    activations = found.activations(store.vectors(found.level), np.asarray(units))
    return UnitRecords(store, found.kind, found.level, np.asarray(units), activations, text_maxima(store, activations))


def factor_records(store: ActivationStore, codes: LevelCodes, units: np.ndarray) -> UnitRecords:
    """The records of the factors ``units`` at the level of ``codes``, the store's kept codes (every factor of the
    dictionary took part in the coding, as on the factors page)."""
    activations = codes.columns(np.asarray(units))
    return UnitRecords(store, "factor", codes.level, np.asarray(units), activations, text_maxima(store, activations))
