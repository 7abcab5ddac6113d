"""The scoring of Bills et al. (2023): activations normalised to integers 0-10, and how well a simulation of a
neuron's activations, made from its explanation alone, correlates with the true ones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCALE = 10


def normalised(activations: np.ndarray, max_activation: float) -> np.ndarray:
    """Activations as integers 0-10 against the neuron's maximum over its records, as the paper's prompts show
    them: ``min(10, floor(10 · relu(a) / max_activation))``; all zero when the neuron never activates."""
    if max_activation <= 0:
        return np.zeros(np.shape(activations), dtype=np.int64)
    scaled = np.floor(SCALE * np.maximum(np.asarray(activations, dtype=np.float64), 0.0) / max_activation)
    return np.minimum(SCALE, scaled).astype(np.int64)


@dataclass(frozen=True)
class Score:
    """correlation: Pearson's r of true and simulated activations pooled over every token of every scoring record
    (the paper's main score); 0.0 where either side is constant (nothing to correlate), with ``constant`` saying
    which. explained_variance: 1 − Var(true − simulated) / Var(true), on the same pooled tokens (0-10 scale)."""

    correlation: float
    explained_variance: float
    tokens: int
    constant: str | None

    def summary(self) -> str:
        if self.constant is not None:
            return f"Score 0: the {self.constant} activations are constant, so there is nothing to correlate."
        return (
            f"Correlation {self.correlation:.2f} between true and simulated activations over {self.tokens:,} tokens "
            f"(explained variance {self.explained_variance:.2f})."
        )


def score(true: list[np.ndarray], simulated: list[np.ndarray]) -> Score:
    """Score a simulation: ``true[i]`` and ``simulated[i]`` are one record's (tokens,) activations, normalised to
    0-10 (true) and predicted (simulated). ValueError when a record's lengths differ or there are no tokens."""
    if len(true) != len(simulated) or any(len(a) != len(b) for a, b in zip(true, simulated, strict=False)):
        raise ValueError("Each scoring record needs one simulated activation per token.")
    pooled_true = np.concatenate([np.asarray(record, dtype=np.float64) for record in true]) if true else np.zeros(0)
    if len(pooled_true) == 0:
        raise ValueError("There are no tokens to score.")
    pooled_simulated = np.concatenate([np.asarray(record, dtype=np.float64) for record in simulated])
    flat = [name for name, values in (("true", pooled_true), ("simulated", pooled_simulated)) if np.ptp(values) == 0]
    explained = _explained_variance(pooled_true, pooled_simulated)
    if flat:
        return Score(0.0, explained, len(pooled_true), " and ".join(flat))
    return Score(float(np.corrcoef(pooled_true, pooled_simulated)[0, 1]), explained, len(pooled_true), None)


def _explained_variance(true: np.ndarray, simulated: np.ndarray) -> float:
    variance = float(np.var(true))
    return 0.0 if variance == 0 else 1.0 - float(np.var(true - simulated)) / variance
