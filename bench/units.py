"""Scoring units of every kind at every level (xray/units), against the records' forward pass.

Run: ``HF_HUB_OFFLINE=1 python -m bench.units [--units 100] [--corpus "Word senses"]``. On the embedded MiniLM,
in one process and a fresh temporary cache: the neuron records' pass over the corpus (:func:`build_records`, one
forward pass reading every MLP neuron) as the baseline; the activation store over the same corpus; then
``--units`` units of each kind at each of the 7 levels scored with the offline baseline (:func:`score_units`,
one kind at a time; the factors' codes of every stored piece first, timed apart), each kind's time printed as a
ratio of the records' pass. Nothing is asserted; figures are
from one run on this machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from xray.corpora.builtin import BUILTIN_CORPORA, load_builtin
from xray.factors.dictionary import find_dictionary
from xray.factors.store_codes import build_level_codes
from xray.models.loading import EMBEDDED_MODEL, load_model
from xray.neurons.records import build_records
from xray.store.builder import build_store
from xray.store.format import page_store_settings
from xray.techniques.neuron_explanations import BaselineExplainer, BaselineSimulator
from xray.units.compare import UNIT_KINDS, score_units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--corpus", default="Word senses", choices=list(BUILTIN_CORPORA))
    arguments = parser.parse_args()
    loaded = load_model(EMBEDDED_MODEL)
    corpus = load_builtin(arguments.corpus)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        records = build_records(loaded, corpus, root)
        records_s = time.perf_counter() - started
        started = time.perf_counter()
        store = build_store(loaded, corpus, root, page_store_settings(loaded.device), tags=False)
        store_s = time.perf_counter() - started
        print(
            f"{corpus.name}: {len(corpus):,} texts, {store.manifest.pieces:,} stored pieces; records' pass "
            f"{records_s:.1f} s (the baseline), store {store_s:.1f} s ({store_s / records_s:.2f}x)"
        )
        dictionary = find_dictionary(EMBEDDED_MODEL, root)
        total = 0.0
        for kind in UNIT_KINDS:
            if kind == "factor":  # coding every stored piece once (kept), apart from scoring the factors
                started = time.perf_counter()
                build_level_codes(store, dictionary)
                seconds = time.perf_counter() - started
                total += seconds
                print(
                    f"factor codes of every stored piece at {store.levels} levels: {seconds:.1f} s "
                    f"({seconds / records_s:.2f}x the records' pass)"
                )
            started = time.perf_counter()
            scores = score_units(
                loaded,
                store,
                BaselineExplainer(),
                BaselineSimulator(),
                kinds=(kind,),
                units=arguments.units,
                neuron_records=records,
                dictionary=dictionary,
            )
            seconds = time.perf_counter() - started
            total += seconds
            print(
                f"{kind}: {len(scores.rows):,} units at {scores.rows['level'].nunique()} levels in {seconds:.1f} s "
                f"({seconds / records_s:.2f}x the records' pass, {1000 * seconds / len(scores.rows):.0f} ms a unit)"
            )
        print(f"every kind: {total:.1f} s ({total / records_s:.2f}x the records' pass)")


if __name__ == "__main__":
    main()
