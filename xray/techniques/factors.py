"""Transformer factors (Yun, Chen, Olshausen & LeCun 2021, "Transformer visualization via dictionary learning")
on the sidebar sentence: every token's hidden state, at every level, written as a sparse non-negative mix of one
dictionary shared by all levels (:mod:`xray.factors`: the solver, the dictionary, learning and the corpus side).

Shapes: hidden states ``(levels, tokens, hidden)``, codes ``(levels, tokens, factors)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xray.factors.dictionary import FactorDictionary
from xray.results import json_text
from xray.translation import _


@dataclass(frozen=True)
class SentenceFactors:
    """The sidebar sentence's factor codes.

    tokens: the input tokens; codes: (levels, tokens, factors), non-negative; level 0 is the embeddings.
    steps: (levels, tokens) the FISTA steps each code took to settle.
    """

    tokens: list[str]
    codes: np.ndarray
    steps: np.ndarray | None = None

    def strongest(self, level: int, count: int) -> np.ndarray:
        """The ``count`` factors with the largest code on any token at ``level``, strongest first."""
        return np.argsort(-self.codes[level].max(axis=0), kind="stable")[:count]

    def token_factors(self, token: int, count: int) -> pd.DataFrame:
        """For one token: level, factor, code, the ``count`` strongest factors at every level."""
        records = []
        for level, codes in enumerate(self.codes[:, token]):
            for factor in np.argsort(-codes, kind="stable")[:count]:
                if codes[factor] > 0:
                    records.append({"level": level, "factor": int(factor), "code": round(float(codes[factor]), 4)})
        return pd.DataFrame(records, columns=["level", "factor", "code"])

    def table(self) -> pd.DataFrame:
        """Long form of the non-zero codes: level, position, token, factor, code."""
        levels, positions, factors = np.nonzero(self.codes)
        return pd.DataFrame(
            {
                "level": levels,
                "position": positions,
                "token": np.asarray(self.tokens)[positions],
                "factor": factors,
                "code": self.codes[levels, positions, factors].round(4),
            }
        )

    def to_json(self) -> str:
        return json_text({"tokens": self.tokens, "codes": self.table().to_dict(orient="records")}, indent=None)


def sentence_factors(dictionary: FactorDictionary, tokens: list[str], states: np.ndarray) -> SentenceFactors:
    """Codes of every token at every level: ``states`` (levels, tokens, hidden), e.g. the Attention page's."""
    levels, count, hidden = states.shape
    if levels != dictionary.importance.shape[0]:
        raise ValueError(
            _(
                "This dictionary was learned on a model with {learned} levels; this one has {levels}. Learn a "
                "dictionary for this model first."
            ).format(learned=dictionary.importance.shape[0], levels=levels)
        )
    codes, steps = dictionary.coding(states.reshape(levels * count, hidden))
    return SentenceFactors(tokens, codes.reshape(levels, count, -1), steps.reshape(levels, count))
