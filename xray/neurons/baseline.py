"""An offline explainer and simulator with no language model: the baseline a language model's explanations are
compared against (scored the same way, labelled a baseline on the page).

Explainer: from the explanation records, each token's mean activation (0-10) over all its occurrences there,
case-folded and stripped of spaces; the explanation lists the strongest, e.g. ``tokens like "bank" (8.0),
"river" (6.5)``. Simulator: reads that list back from the explanation text alone and predicts each token's
listed value, 0 for tokens not listed. It sees only the explanation, as the paper's simulator does; what it
cannot express (context, position) is what a language model's explanation may add.
"""

from __future__ import annotations

import functools
import json
import re
from types import MappingProxyType

import numpy as np

from xray.translation import N_, Message

LISTED_TOKENS = 12
MIN_MEAN = 1.0  # tokens whose mean activation is below this are left out of the explanation
NOTHING = N_("nothing in these records: it never activates on them")
_ENTRY = re.compile(r'("(?:[^"\\]|\\.)*") \((\d+(?:\.\d+)?)\)')


def token_key(token: str) -> str:
    """How the baseline compares tokens: stripped of spaces and case-folded (" Bank" and "bank" are one)."""
    return token.strip().casefold()


def explain_baseline(tokens: list[list[str]], activations: list[np.ndarray]) -> Message:
    """The tokens that drive the neuron in these records (per record, tokens and (tokens,) activations 0-10). The
    explanation is English, as the simulator reads it and the table saves it; a page draws it in the run's language
    with :func:`~xray.translation.translated` (the listed tokens and values stay as they are)."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for record_tokens, record_activations in zip(tokens, activations, strict=True):
        for token, activation in zip(record_tokens, record_activations, strict=True):
            key = token_key(token)
            if key:
                sums[key] = sums.get(key, 0.0) + float(activation)
                counts[key] = counts.get(key, 0) + 1
    means = {key: sums[key] / counts[key] for key in sums}
    strongest = sorted((key for key in means if means[key] >= MIN_MEAN), key=lambda key: (-means[key], key))
    if not strongest:
        return Message(NOTHING)
    listed = ", ".join(f"{json.dumps(key)} ({means[key]:.1f})" for key in strongest[:LISTED_TOKENS])
    return Message(N_("tokens like {listed}"), listed=listed)


def simulate_baseline(explanation: str, tokens: list[str]) -> np.ndarray:
    """(tokens,) predicted activations 0-10: each token's value in the explanation's list, else 0."""
    values = _listed(explanation)
    return np.array([values.get(token_key(token), 0.0) for token in tokens], dtype=np.float64)


@functools.lru_cache(maxsize=256)
def _listed(explanation: str) -> MappingProxyType:
    """The explanation's list read back, token to value (read once per explanation: each simulates 15 texts)."""
    return MappingProxyType({json.loads(quoted): float(value) for quoted, value in _ENTRY.findall(explanation)})
