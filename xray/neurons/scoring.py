"""The scoring of Bills et al. (2023): activations normalised to integers 0-10 for what prompts and pages show, and
how well a simulation of a neuron's activations, made from its explanation alone, correlates with the true ones.

As in the reference code (openai/automated-interpretability, ``score_from_simulation``), the score correlates the
simulation with the neuron's RAW true activations (not the 0-10 scale), pooled over every token of every scoring
record; where either side is constant the correlation is undefined (NaN), never 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xray.translation import N_, Message, _

SCALE = 10
SIDE_NAMES = {"true": N_("true"), "simulated": N_("simulated"), "true and simulated": N_("true and simulated")}
"""A :class:`Score`'s ``constant`` (which side of the correlation is constant) -> its name, drawn translated."""


def normalised(activations: np.ndarray, max_activation: float) -> np.ndarray:
    """Activations as integers 0-10 against the neuron's maximum over its records, as the paper's prompts show
    them: ``min(10, floor(10 · relu(a) / max_activation))``; all zero when the neuron never activates."""
    if max_activation <= 0:
        return np.zeros(np.shape(activations), dtype=np.int64)
    scaled = np.floor(SCALE * np.maximum(np.asarray(activations, dtype=np.float64), 0.0) / max_activation)
    return np.minimum(SCALE, scaled).astype(np.int64)


@dataclass(frozen=True)
class Score:
    """How a simulation scores, pooled over every token of every scoring record.

    correlation: Pearson's r of the RAW true activations and the simulated ones (the paper's main score); NaN
        where either side is constant (undefined: nothing to correlate), with ``constant`` naming which.
    explained_variance: centred, ``1 − Var(true − simulated) / Var(true)``, with ``true`` on the 0-10 scale the
        simulator predicts (it is not calibrated to raw values); NaN where the 0-10 truth is constant.
    r_squared: the reference code's ``rsquared_score``, uncentred: ``1 − mean((true − simulated)²) / mean(true²)``,
        on the same 0-10 scale (the reference applies it to calibrated simulations); NaN where the truth is all 0.
    tokens: how many tokens were pooled.
    """

    correlation: float
    explained_variance: float
    r_squared: float
    tokens: int
    constant: str | None

    @property
    def defined(self) -> bool:
        return not math.isnan(self.correlation)

    def summary(self) -> Message:
        """One sentence on the score, English: drawn in the run's language by :func:`~xray.translation.translated`."""
        if self.constant is not None:
            return Message(
                N_(
                    "Score undefined: the {side} activations are constant over the {tokens} scored tokens, so there "
                    "is nothing to correlate."
                ),
                side=Message(SIDE_NAMES[self.constant]),
                tokens=self.tokens,
            )
        return Message(
            N_(
                "Correlation {correlation} between true (raw) and simulated activations over {tokens} tokens "
                "(centred explained variance {variance}, uncentred r² {r_squared}, both on the 0-10 scale)."
            ),
            correlation=self.correlation,
            tokens=self.tokens,
            variance=_shown(self.explained_variance),
            r_squared=_shown(self.r_squared),
        )


def _shown(value: float) -> float | Message:
    return Message(N_("undefined")) if math.isnan(value) else value


def score(true: list[np.ndarray], simulated: list[np.ndarray], max_activation: float) -> Score:
    """Score a simulation: ``true[i]`` and ``simulated[i]`` are one record's (tokens,) raw true activations and
    predicted ones (0-10); ``max_activation`` is the neuron's 10 on the 0-10 scale. ValueError when a record's
    lengths differ or there are no tokens."""
    if len(true) != len(simulated) or any(len(a) != len(b) for a, b in zip(true, simulated, strict=False)):
        raise ValueError(_("Each scoring record needs one simulated activation per token."))
    pooled_true = np.concatenate([np.asarray(record, dtype=np.float64) for record in true]) if true else np.zeros(0)
    if len(pooled_true) == 0:
        raise ValueError(_("There are no tokens to score."))
    pooled_simulated = np.concatenate([np.asarray(record, dtype=np.float64) for record in simulated])
    scaled = normalised(pooled_true, max_activation).astype(np.float64)
    explained = _ratio_from_one(np.var(scaled - pooled_simulated), np.var(scaled))
    r_squared = _ratio_from_one(np.mean(np.square(scaled - pooled_simulated)), np.mean(np.square(scaled)))
    flat = [name for name, values in (("true", pooled_true), ("simulated", pooled_simulated)) if np.ptp(values) == 0]
    if flat:
        return Score(math.nan, explained, r_squared, len(pooled_true), " and ".join(flat))
    correlation = float(np.corrcoef(pooled_true, pooled_simulated)[0, 1])
    return Score(correlation, explained, r_squared, len(pooled_true), None)


def _ratio_from_one(numerator: float, denominator: float) -> float:
    return math.nan if denominator == 0 else 1.0 - float(numerator) / float(denominator)
