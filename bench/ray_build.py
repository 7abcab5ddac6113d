"""The store built on Ray against the single-process build, on this machine, in one run.

Run: ``HF_HUB_OFFLINE=1 python -m bench.ray_build`` (``--sentences``, ``--model``; ``--model bert-base`` is a
randomly initialised BERT-base: the architecture's speed, no download). Every build goes into an empty folder of its
own, with the same model, corpus (BBC News sentences; spaCy's tags off, they are the same work either way), device
(CPU) and precision (fp32):

1. the single-process build (``python -m xray index``): the baseline;
2. Ray with one worker holding every CPU (``--ray --workers 1 --cpus-per-worker N``): the engine's overhead;
3. Ray with one worker per CPU (``--ray --workers N``).

Each Ray figure is split into the start-up (Ray, the actor pool, each replica loading the model: paid once a build)
and the rest, and every store is checked bit-equal to the baseline's. Last, the measured throughput per worker is
turned into what BERT-base over 10 million sentences asks of a cluster (store size, worker-hours).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
from transformers import BertConfig, BertModel

from xray.corpora.bbc_sentences import load_bbc_sentences
from xray.distributed.engine import RaySettings
from xray.distributed.store import RayStoreEngine
from xray.models.loading import EMBEDDED_MODEL, load_model
from xray.store.builder import build_store
from xray.store.format import ActivationStore, StoreSettings

SENTENCES_10M = 10_000_000


def bert_base_folder(folder: Path) -> str:
    """A randomly initialised BERT-base (12 layers, 768 wide: ``BertConfig()``'s defaults) with MiniLM's tokenizer
    (the same uncased WordPiece vocabulary), saved where every worker loads it."""
    BertModel(BertConfig()).eval().save_pretrained(folder)
    load_model(EMBEDDED_MODEL).tokenizer.save_pretrained(folder)
    return str(folder)


def same(store: ActivationStore, baseline: ActivationStore) -> bool:
    return all(
        np.array_equal(np.asarray(store.vectors(level)).view(np.uint16), baseline.vectors(level).view(np.uint16))
        for level in range(baseline.levels)
    )


def ray_build(loaded, corpus, model: str, settings: StoreSettings, ray_settings: RaySettings, root: Path):
    """(store, seconds, start-up seconds): a Ray build from scratch, Ray started for it and shut down after, in
    eight shards or more (every worker busy to the end)."""
    started = time.perf_counter()
    ray.init(num_cpus=ray_settings.local_cpus, include_dashboard=False, log_to_driver=False)
    shard_texts = max(settings.batch_size, len(corpus) // 8)
    engine = RayStoreEngine(ray_settings, model, "cpu", shard_texts=shard_texts)
    try:
        store = build_store(loaded, corpus, root, settings, tags=False, engine=engine)
    finally:
        ray.shutdown()
    seconds = time.perf_counter() - started
    shard_seconds = sum(float(record["seconds"]) for record in engine.written) / ray_settings.workers
    return store, seconds, max(0.0, seconds - shard_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=8_000, help="BBC News sentences (default: %(default)s)")
    parser.add_argument("--model", default=EMBEDDED_MODEL, help="a model, or bert-base (random weights)")
    arguments = parser.parse_args()
    cpus = os.cpu_count() or 1
    corpus = load_bbc_sentences(arguments.sentences)
    settings = StoreSettings()
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as scratch:
        root = Path(scratch)
        model = bert_base_folder(root / "bert-base") if arguments.model == "bert-base" else arguments.model
        loaded = load_model(model, device="cpu")
        build_store(loaded, load_bbc_sentences(64, seed=1), root / "warm-up", settings, tags=False)  # first-call costs
        started = time.perf_counter()
        baseline = build_store(loaded, corpus, root / "single", settings, tags=False)
        single_seconds = time.perf_counter() - started
        pieces = baseline.manifest.pieces
        print(
            f"{loaded.name}: {len(corpus):,} sentences, {pieces:,} stored pieces at {baseline.levels} levels, "
            f"fp32 on {cpus} CPUs"
        )
        print(f"  single process:           {single_seconds:7.1f} s   1.00x   {pieces / single_seconds:8,.0f} pieces/s")
        throughput = {}
        for workers, per_worker in ((1, cpus), (cpus, 1)):
            ray_settings = RaySettings(workers=workers, cpus_per_worker=per_worker, local_cpus=cpus)
            store, seconds, startup = ray_build(loaded, corpus, model, settings, ray_settings, root / f"ray{workers}")
            throughput[workers] = pieces / (seconds - startup) / workers
            print(
                f"  Ray, {workers} worker(s) x {per_worker} CPU: {seconds:7.1f} s   {seconds / single_seconds:4.2f}x   "
                f"{pieces / seconds:8,.0f} pieces/s (start-up {startup:.1f} s; without it "
                f"{(seconds - startup) / single_seconds:4.2f}x); bit-equal to the single process: "
                f"{same(store, baseline)}"
            )
        print("  goal: Ray at one worker within 25% of the single process (1.25x)")
        print(
            "  per worker, start-up left out: "
            + "; ".join(f"{workers} worker(s): {rate:,.0f} pieces/s" for workers, rate in throughput.items())
        )
        per_sentence = pieces / len(corpus)
        bytes_per_piece = baseline.levels * loaded.hidden_size * 2
        total_pieces = SENTENCES_10M * per_sentence
        terabytes = total_pieces * bytes_per_piece / 1e12
        print(
            f"  10 million such sentences: {total_pieces / 1e6:,.0f} M pieces, {terabytes:,.2f} TB of float16 levels; "
            f"at {throughput[1]:,.0f} pieces/s a {cpus}-CPU worker, {total_pieces / throughput[1] / 3600:,.0f} "
            "worker-hours"
        )


if __name__ == "__main__":
    main()
