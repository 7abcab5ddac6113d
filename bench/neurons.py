"""Records of every MLP neuron in one pass, against the bare forward pass; and the baseline per neuron.

Run: ``HF_HUB_OFFLINE=1 python -m bench.neurons``. On the embedded MiniLM (6 x 1,536 neurons) over the default
corpus (about 110k word pieces), in one process:

- the bare forward pass over the same texts, batches and lengths (no hooks), as the baseline;
- :func:`build_records` into an empty temporary folder: its time as a ratio of the baseline (goal: under 2x), and
  the growth of the process's peak resident memory (VmHWM) over the peak the bare pass had reached (goal: under
  1 GB);
- explaining, simulating and scoring single neurons with the offline baseline: the median over 20 neurons (goal:
  under 1 s each).
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
from xray.models.loading import EMBEDDED_MODEL, load_model
from xray.neurons.records import MAX_TOKENS, _batches, _encode, _run, build_records
from xray.techniques.neuron_explanations import BaselineExplainer, BaselineSimulator, explain_neuron, neuron_records


def peak_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, flags=re.M).group(1)) / 1024


def main() -> None:
    loaded = load_model(EMBEDDED_MODEL)
    corpus = load_builtin(SEARCH_CORPUS)
    encoding = _encode(loaded, corpus.texts, MAX_TOKENS)
    started = time.perf_counter()
    with torch.inference_mode():
        for chunk in _batches(encoding, 64):
            _run(loaded, encoding, chunk)
    bare = time.perf_counter() - started
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
            explain_neuron(neuron_records(loaded, records, 3, neuron), BaselineExplainer(), BaselineSimulator())
            times.append(time.perf_counter() - started)
        print(
            f"baseline explain + simulate + score of one neuron (layer 3, records included): median "
            f"{statistics.median(times):.3f} s, slowest {max(times):.3f} s over {len(times)} neurons (goal under 1 s)"
        )


if __name__ == "__main__":
    main()
