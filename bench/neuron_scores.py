"""The offline baseline's explanation scores over 50 neurons of MiniLM's layer 3, as a distribution.

Run: ``HF_HUB_OFFLINE=1 python -m bench.neuron_scores``. Records are computed over the "Word senses" corpus into
an empty temporary folder (one pass), then neurons 0, 30, …, 1,470 of layer 3 are explained, simulated and scored
by the baseline (:func:`explain_layer`). Prints the top-and-random and random-only scores' mean, median and
quartiles over the neurons with a score, and how many are undefined (NaN: a constant side, or a neuron that never
activates) or exactly 0. Nothing is asserted; figures are from one run on this machine.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from xray.corpora.builtin import load_builtin
from xray.models.loading import EMBEDDED_MODEL, load_model
from xray.neurons.records import build_records
from xray.techniques.neuron_explanations import BaselineExplainer, BaselineSimulator, explain_layer

LAYER = 3
NEURONS = list(range(0, 1_500, 30))  # 50 neurons spread over the layer's 1,536


def describe(name: str, scores: np.ndarray) -> str:
    defined = scores[~np.isnan(scores)]
    q1, median, q3 = np.percentile(defined, [25, 50, 75]) if len(defined) else (np.nan,) * 3
    return (
        f"{name}: {len(defined)} of {len(scores)} neurons scored, mean {defined.mean():.3f}, median {median:.3f}, "
        f"quartiles {q1:.3f} / {q3:.3f}; undefined {int(np.isnan(scores).sum())}, exactly 0: "
        f"{int((defined == 0).sum())}"
    )


def main() -> None:
    loaded = load_model(EMBEDDED_MODEL)
    corpus = load_builtin("Word senses")
    with tempfile.TemporaryDirectory() as folder:
        records = build_records(loaded, corpus, Path(folder))
        rows = explain_layer(loaded, records, LAYER, BaselineExplainer(), BaselineSimulator(), neurons=NEURONS)
    print(f"{corpus.name}, {records.manifest.texts:,} texts; layer {LAYER}, neurons {NEURONS[0]}..{NEURONS[-1]}")
    for column in ("top_and_random", "random_only"):
        print(describe(column, rows[column].to_numpy(dtype=np.float64)))


if __name__ == "__main__":
    main()
