"""Records of every MLP neuron in one pass, against the bare forward pass; and the baseline per neuron.

Run: ``HF_HUB_OFFLINE=1 python -m bench.neurons``. On the embedded MiniLM (6 x 1,536 neurons) over the default
corpus (about 110k word pieces), in one process:

- the bare forward pass over the same texts, batches and lengths (no hooks), as the baseline;
- :func:`build_records` into an empty temporary folder: its time as a ratio of the baseline (goal: under 2x), and
  the growth of the process's peak resident memory (VmHWM) over the peak the bare pass had reached (goal: under
  1 GB);
- explaining, simulating and scoring single neurons with the offline baseline: the median over 20 neurons (goal:
  under 1 s each);
- the whole of layer 3 by the baseline (:func:`explain_layer`, 1,536 neurons) beside its floor, the bare forward
  pass over the union of those neurons' record texts (same batches, no hooks, tokenizing left out), timed just
  before and just after it: the ratio to the faster of the two (goal: under 2x); and the page's estimate
  (:func:`estimate_layer`, timed on samples first) against the measured time.
Nothing is asserted; figures are from one run on this machine.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from pathlib import Path

import torch

from xray.corpora.builtin import SEARCH_CORPUS, load_builtin
from xray.models.loading import EMBEDDED_MODEL, LoadedModel, load_model
from xray.neurons.records import MAX_TOKENS, NeuronRecords, _run, build_records, encode_texts, forward_batches
from xray.techniques.neuron_explanations import (
    BaselineExplainer,
    BaselineSimulator,
    _layer_ids,
    _texts,
    _union,
    estimate_layer,
    explain_layer,
    explain_neuron,
    neuron_records,
)

LAYER = 3


def peak_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, flags=re.M).group(1)) / 1024


def bare_forward(loaded: LoadedModel, texts: list[str]) -> float:
    """Seconds of the bare forward pass over ``texts`` in the batches the records use (tokenizing left out)."""
    encoding = encode_texts(loaded, texts, MAX_TOKENS)
    started = time.perf_counter()
    with torch.inference_mode():
        for chunk in forward_batches(encoding, 64):
            _run(loaded, encoding, chunk)
    return time.perf_counter() - started


def whole_layer(loaded: LoadedModel, records: NeuronRecords) -> str:
    """The whole layer by the baseline beside its floor, and the page's estimate against it."""
    neurons = list(range(records.manifest.neurons))
    union, _ = _union(records, neurons, _layer_ids(records, LAYER, neurons, 0))
    texts = _texts(records, union)
    estimate = estimate_layer(loaded, records, LAYER, BaselineExplainer(), BaselineSimulator())
    before = bare_forward(loaded, texts)
    started = time.perf_counter()
    rows = explain_layer(loaded, records, LAYER, BaselineExplainer(), BaselineSimulator())
    seconds = time.perf_counter() - started
    after = bare_forward(loaded, texts)
    floor = min(before, after)
    return (
        f"whole layer {LAYER} ({len(rows):,} neurons; the union of their record texts: {len(texts):,} texts): "
        f"explain_layer {seconds:.1f} s, bare forward over the union {before:.1f} s before and {after:.1f} s after "
        f"({seconds / floor:.2f}x the faster; goal under 2x); the page's estimate {estimate.seconds:.1f} s "
        f"({estimate.seconds / seconds:.2f}x the measured time): {estimate.summary()}"
    )


def main() -> None:
    loaded = load_model(EMBEDDED_MODEL)
    corpus = load_builtin(SEARCH_CORPUS)
    bare = bare_forward(loaded, corpus.texts)
    bare_peak = peak_mb()

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        records = build_records(loaded, corpus, Path(folder))
        seconds = time.perf_counter() - started
        extra = peak_mb() - bare_peak
        manifest = records.manifest
        print(
            f"{manifest.layers} x {manifest.neurons:,} neurons over {manifest.tokens:,} pieces of {manifest.texts:,} "
            f"texts: bare forward {bare:.1f} s, records {seconds:.1f} s ({seconds / bare:.2f}x the bare pass; goal "
            f"under 2x, tokenizing included); peak memory {extra:+.0f} MB over the bare pass's (goal under 1,024)"
        )
        times = []
        for neuron in range(0, 1_536, 77)[:20]:
            started = time.perf_counter()
            explain_neuron(neuron_records(loaded, records, LAYER, neuron), BaselineExplainer(), BaselineSimulator())
            times.append(time.perf_counter() - started)
        print(
            f"baseline explain + simulate + score of one neuron (layer {LAYER}, records included): median "
            f"{statistics.median(times):.3f} s, slowest {max(times):.3f} s over {len(times)} neurons (goal under 1 s)"
        )
        print(whole_layer(loaded, records))


if __name__ == "__main__":
    main()
