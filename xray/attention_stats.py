"""Per-head summary statistics of self-attention, and attention rollout (Abnar & Zuidema 2020)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STATISTICS: dict[str, str] = {
    "entropy": "Entropy of a query's attention, in bits, averaged over queries (0 = one key only).",
    "to_first": "Attention to the first token ([CLS] or BOS), averaged over queries.",
    "to_special": "Attention to all special tokens ([CLS], [SEP], <s>, </s>, ...), averaged over queries.",
    "to_self": "Attention of each token to itself, averaged over tokens.",
    "to_previous": "Attention to the previous token, averaged over tokens that have one.",
    "to_next": "Attention to the next token, averaged over tokens that have one.",
}


@dataclass(frozen=True)
class HeadStatistics:
    """One (layers, heads) array per statistic named in :data:`STATISTICS`.

    to_previous and to_next are NaN for a one-token input, which has no neighbours.
    """

    entropy: np.ndarray
    to_first: np.ndarray
    to_special: np.ndarray
    to_self: np.ndarray
    to_previous: np.ndarray
    to_next: np.ndarray

    def table(self) -> pd.DataFrame:
        """One row per (layer, head), one column per statistic."""
        layers, heads = np.indices(self.entropy.shape)
        return pd.DataFrame(
            {"layer": layers.ravel(), "head": heads.ravel(), **{name: self.get(name).ravel() for name in STATISTICS}}
        )

    def get(self, name: str) -> np.ndarray:
        if name not in STATISTICS:
            raise ValueError(f"Unknown statistic {name!r}; choose one of {', '.join(STATISTICS)}.")
        return getattr(self, name)


def _check_self_attention(attentions: np.ndarray) -> None:
    if attentions.ndim != 4 or attentions.shape[2] != attentions.shape[3]:
        raise ValueError(f"Expected self-attention of shape (layers, heads, tokens, tokens), got {attentions.shape}.")


def head_statistics(attentions: np.ndarray, special_mask: np.ndarray) -> HeadStatistics:
    """Summaries of ``attentions`` (layers, heads, tokens, tokens) per head.

    special_mask: (tokens,) True at special tokens.
    """
    _check_self_attention(attentions)
    tokens = attentions.shape[-1]
    if special_mask.shape != (tokens,):
        raise ValueError(f"special_mask must have shape ({tokens},), got {special_mask.shape}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(attentions > 0, attentions * np.log2(attentions), 0.0)
    diagonal = np.diagonal(attentions, axis1=2, axis2=3)
    previous = np.diagonal(attentions, offset=-1, axis1=2, axis2=3)
    following = np.diagonal(attentions, offset=1, axis1=2, axis2=3)
    nan = np.full(attentions.shape[:2], np.nan)
    return HeadStatistics(
        entropy=-plogp.sum(-1).mean(-1),
        to_first=attentions[..., 0].mean(-1),
        to_special=attentions[..., special_mask].sum(-1).mean(-1),
        to_self=diagonal.mean(-1),
        to_previous=previous.mean(-1) if tokens > 1 else nan,
        to_next=following.mean(-1) if tokens > 1 else nan,
    )


def attention_rollout(attentions: np.ndarray, residual_weight: float = 0.5) -> np.ndarray:
    """Attention rollout: how much each token's representation at a layer draws on each input token.

    Per layer the heads are averaged, the residual stream is added as
    ``residual_weight * I + (1 - residual_weight) * A`` and rows renormalised; the layers are
    then multiplied from the bottom up (Abnar & Zuidema 2020).

    attentions: (layers, heads, tokens, tokens). Returns (layers, tokens, tokens): entry
    ``[l, i, j]`` is the share of input token j in token i after layer l; rows sum to 1.
    """
    _check_self_attention(attentions)
    if not 0.0 <= residual_weight <= 1.0:
        raise ValueError(f"residual_weight must lie in [0, 1], got {residual_weight}.")
    tokens = attentions.shape[-1]
    mixed = residual_weight * np.eye(tokens) + (1.0 - residual_weight) * attentions.mean(axis=1, dtype=np.float64)
    mixed /= mixed.sum(axis=-1, keepdims=True)
    rollout = np.empty_like(mixed)
    running = np.eye(tokens)
    for layer, layer_matrix in enumerate(mixed):
        running = layer_matrix @ running
        rollout[layer] = running
    return rollout
