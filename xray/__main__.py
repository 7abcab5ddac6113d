"""Command line for heavy precomputation: ``python -m xray <command> ...``.

train-head: train the embedded BBC News topic head on MiniLM and write it (default: the shipped file).
index: build the activation store of a model over a corpus (a built-in one or a .txt/.csv file), resumable; with
--ray, on Ray workers in shards (a local Ray, or a cluster).
factors: learn one dictionary of transformer factors for every layer of a model (Yun et al. 2021), resumable.
neurons: activation records of every MLP neuron over a corpus, and baseline explanations of whole layers; --ray
as for index.
units: samples of neurons, factors and residual directions at every level, scored alike by the baseline.
codes: the factor codes of every stored piece of a corpus, level by level, kept beside its activation store.
explain-corpus: SHAP, LIME, gradients and attention over many texts of a corpus, scored for faithfulness as ferret
scores them, resumable.
verify: every store's and records folder's files checked against their manifest's checksums (a damaged one is
moved aside, so the next build makes it again).
tags: spaCy's word tags of every built-in corpus's texts, written to the file the package ships.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from xray.cache import BuildStatus, default_cache_root, write_status
from xray.corpora.builtin import BUILTIN_CORPORA, SEARCH_CORPUS, load_builtin
from xray.corpora.corpus import Corpus, load_corpus
from xray.corpora.shipped_tags import SHIPPED_TAGS, write_shipped_tags
from xray.corpora.uploads import corpus_from_upload, read_upload
from xray.distributed.engine import LOCAL, RaySettings
from xray.distributed.records import RayRecordsEngine
from xray.distributed.store import RayStoreEngine
from xray.explainer_benchmark.saved import BenchmarkSettings, benchmark_path, run_benchmark
from xray.factors.corpus import learn_from_store
from xray.factors.dictionary import dictionary_path, find_dictionary
from xray.factors.solver import FactorSettings
from xray.factors.store_codes import build_level_codes, codes_folder, find_level_codes
from xray.models.classifiers import CLASSIFIER_KINDS, HEAD_FILE, ClassifierSpec, build_classifier
from xray.models.loading import EMBEDDED_MODEL, LoadedModel, load_model
from xray.models.train_head import train_topic_head
from xray.neurons.records import MAX_TOKENS, build_records
from xray.neurons.saved import UNIT_SCORES, save_explanations, save_unit_scores
from xray.progress import Progress, in_stage
from xray.store.builder import build_store
from xray.store.format import StoreSettings, page_store_settings
from xray.techniques.neuron_explanations import BaselineExplainer, BaselineSimulator, explain_layer
from xray.units.compare import UNIT_KINDS, score_units
from xray.verify import DAMAGED, verify_cache


def _train_head(arguments: argparse.Namespace) -> int:
    loaded = load_model(arguments.model)

    report = in_stage(_reporter(), "embedding articles")
    head, training = train_topic_head(loaded, seed=arguments.seed, bf16=arguments.bf16, progress=report)
    print(file=sys.stderr)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    head.save(arguments.out)
    print(
        f"held-out accuracy {training.held_out_accuracy:.4f} on {training.test_size} articles "
        f"(trained on {training.train_size}) in {training.seconds:.1f} s; wrote {arguments.out}"
    )
    return 0


def _corpus(arguments: argparse.Namespace) -> Corpus:
    if arguments.table is not None:
        return load_corpus(arguments.table)
    if arguments.file is None:
        return load_builtin(arguments.corpus)
    uploaded = read_upload(arguments.file.read_bytes(), arguments.file.name, limited=False)
    text_column = arguments.text_column or uploaded.text_columns[0]
    corpus, notices = corpus_from_upload(uploaded, text_column, arguments.label_column, limited=False)
    for notice in uploaded.notices + notices:
        print(notice, file=sys.stderr)
    return corpus


def _guarded(run: Callable[[], int], interrupted: str) -> int:
    """``run()``'s exit code; 130 after Ctrl-C (a page's Cancel), saying ``interrupted``; 1 for a ValueError or
    OSError (a bad corpus or model, a full disk), its message said."""
    try:
        return run()
    except KeyboardInterrupt:
        print(f"\ninterrupted: {interrupted}", file=sys.stderr)
        return 130
    except (ValueError, OSError) as error:
        print(f"\n{error}", file=sys.stderr)
        return 1


def _corpus_and_model(arguments: argparse.Namespace) -> tuple[Corpus, LoadedModel]:
    """The corpus and the model a corpus pass runs over; ValueError or OSError for a bad corpus or model. Where
    Ray workers run the model (``--ray``), this process only plans the work: its copy stays on the CPU."""
    device = "cpu" if getattr(arguments, "ray", None) else arguments.device
    return _corpus(arguments), load_model(arguments.model, device=device)


def _ray_settings(arguments: argparse.Namespace) -> RaySettings:
    """What ``--ray``, ``--workers``, ``--cpus-per-worker`` and ``--gpus-per-worker`` ask for; a local Ray gets the
    CPUs the workers reserve."""
    gpus = arguments.gpus_per_worker
    if gpus is None:
        gpus = 1.0 if (arguments.device or "").startswith("cuda") else 0.0
    return RaySettings(
        address=arguments.ray,
        workers=arguments.workers,
        cpus_per_worker=arguments.cpus_per_worker,
        gpus_per_worker=gpus,
        local_cpus=arguments.workers * arguments.cpus_per_worker,
    )


def _shard_report(engine: RayStoreEngine | RayRecordsEngine) -> None:
    print(
        f"\n{engine.computed:,} shards computed on {engine.ray.workers} Ray workers, {engine.reused:,} kept from an "
        "earlier run",
        file=sys.stderr,
        end="",
    )


def _reporter(status: Path | None = None) -> Progress:
    """A :class:`~xray.progress.Progress` that writes one overwritten line on stderr with the time since now, and
    the same to ``status`` (JSON) where a page follows the work."""
    started = time.perf_counter()

    def report(done: int, total: int, stage: str = "") -> None:
        elapsed = time.perf_counter() - started
        print(f"\r{stage}: {done:,}/{total:,} after {elapsed:,.0f} s", end="", file=sys.stderr, flush=True)
        if status is not None:
            write_status(status, BuildStatus(done, total, stage))

    return report


def _index(arguments: argparse.Namespace) -> int:
    try:  # bad settings, a bad or missing corpus, an unknown model: the message says what to do
        settings = StoreSettings(batch_size=arguments.batch_size, bf16=arguments.bf16, max_tokens=arguments.max_tokens)
        engine = None
        if arguments.ray:
            engine = RayStoreEngine(_ray_settings(arguments), arguments.model, arguments.device, arguments.shard_texts)
        corpus, loaded = _corpus_and_model(arguments)
    except (ValueError, OSError) as error:
        print(error, file=sys.stderr)
        return 1

    def waiting() -> None:
        print("another process is building this store: waiting for it to finish, then reading it", file=sys.stderr)

    try:
        store = build_store(
            loaded, corpus, arguments.cache_dir, settings, progress=_reporter(), engine=engine, waiting=waiting
        )
        if engine is not None:
            _shard_report(engine)
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume where it stopped", file=sys.stderr)
        return 130
    except ValueError as error:  # StoreError, and bad input found while building
        print(f"\n{error}", file=sys.stderr)
        return 1
    print(file=sys.stderr)
    manifest = store.manifest
    print(
        f"{manifest.pieces:,} word pieces of {manifest.texts:,} texts at {manifest.levels} levels "
        f"({manifest.precision}, built in {manifest.build_seconds:.1f} s): {store.folder}"
    )
    return 0


def _factors(arguments: argparse.Namespace) -> int:
    try:
        corpus, loaded = _corpus_and_model(arguments)
        settings = FactorSettings(arguments.factors, arguments.sparsity, arguments.epochs, seed=arguments.seed)
    except (ValueError, OSError) as error:
        print(error, file=sys.stderr)
        return 1
    out = arguments.out or dictionary_path(arguments.model, arguments.cache_dir)
    checkpoints = arguments.cache_dir / "factors" / f".{out.stem}.checkpoint"
    checkpoints.mkdir(parents=True, exist_ok=True)
    report = _reporter(arguments.status)
    try:
        store = build_store(loaded, corpus, arguments.cache_dir, StoreSettings(bf16=arguments.bf16), progress=report)
        dictionary = learn_from_store(
            store,
            settings,
            samples=arguments.samples,
            device=loaded.device,
            checkpoint_folder=checkpoints,
            progress=report,
        )
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume after the last finished epoch", file=sys.stderr)
        return 130
    except ValueError as error:
        print(f"\n{error}", file=sys.stderr)
        return 1
    print(file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    dictionary.save(out)
    quality = dictionary.quality
    errors = ", ".join(f"{error:.3f}" for error in quality.relative_error)
    print(
        f"{dictionary.factors:,} factors in {dictionary.seconds:.1f} s; relative error per level {errors}; "
        f"{quality.nonzeros:.1f} non-zeros per token; {quality.dead_share:.1%} dead; wrote {out}"
    )
    return 0


def _neurons(arguments: argparse.Namespace) -> int:
    def run() -> int:
        corpus, loaded = _corpus_and_model(arguments)
        report = _reporter()
        engine = None
        if arguments.ray:
            ray = _ray_settings(arguments)
            engine = RayRecordsEngine(ray, arguments.model, arguments.device, arguments.shard_texts)
        records = build_records(
            loaded,
            corpus,
            arguments.cache_dir,
            max_tokens=arguments.max_tokens,
            batch_size=arguments.batch_size,
            progress=report,
            engine=engine,
        )
        if engine is not None:
            _shard_report(engine)
        print(file=sys.stderr)
        manifest = records.manifest
        print(
            f"{manifest.layers} layers x {manifest.neurons:,} neurons over {manifest.tokens:,} tokens of "
            f"{manifest.texts:,} texts in {manifest.seconds:.1f} s: {records.folder}"
        )
        for layer in arguments.explain_layer:
            rows = explain_layer(
                loaded,
                records,
                layer,
                BaselineExplainer(),
                BaselineSimulator(),
                progress=in_stage(report, f"explaining layer {layer}"),
            )
            print(file=sys.stderr)
            save_explanations(records.folder, rows.to_dict("records"))
            scores = rows["top_and_random"]
            print(
                f"layer {layer}: baseline score (top-and-random) median {scores.median():.3f}, mean "
                f"{scores.mean():.3f} over {scores.notna().sum():,} neurons ({scores.isna().sum():,} undefined and "
                "left out: never active, or a constant side)"
            )
        return 0

    return _guarded(run, "run the same command again to resume after the last checkpoint")


def _tags(arguments: argparse.Namespace) -> int:
    texts = {text for name in BUILTIN_CORPORA for text in load_builtin(name).texts}
    started = time.perf_counter()
    report = _reporter()
    count = write_shipped_tags(texts, arguments.out, in_stage(report, "tagging words"))
    size = arguments.out.stat().st_size
    print(f"\ntagged {count:,} texts in {time.perf_counter() - started:.1f} s; wrote {arguments.out} ({size:,} bytes)")
    return 0


def _verify(arguments: argparse.Namespace) -> int:
    started = time.perf_counter()
    verdicts = verify_cache(arguments.cache_dir)
    for verdict in verdicts:
        print(verdict.line())
    damaged = sum(verdict.verdict == DAMAGED for verdict in verdicts)
    size = sum(verdict.size for verdict in verdicts)
    print(
        f"{len(verdicts)} folders under {arguments.cache_dir}, {damaged} damaged; {size:,} bytes checked in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 1 if damaged else 0


def _units(arguments: argparse.Namespace) -> int:
    kinds = tuple(arguments.kinds)

    def run() -> int:
        corpus, loaded = _corpus_and_model(arguments)
        dictionary = find_dictionary(arguments.model, arguments.cache_dir) if "factor" in kinds else None
        if "factor" in kinds and dictionary is None:
            raise ValueError(
                f"'{arguments.model}' has no factor dictionary: learn one with python -m xray factors, or leave "
                "factor out of --kinds."
            )
        report = _reporter(arguments.status)
        settings = page_store_settings(loaded.device)
        store = build_store(loaded, corpus, arguments.cache_dir, settings, progress=report)
        levels = tuple(arguments.level) or None
        if dictionary is not None:
            build_level_codes(store, dictionary, levels, progress=report)
        records = build_records(loaded, corpus, arguments.cache_dir, progress=report) if "neuron" in kinds else None
        scores = score_units(
            loaded,
            store,
            BaselineExplainer(),
            BaselineSimulator(),
            kinds=kinds,
            levels=levels,
            units=arguments.units,
            neuron_records=records,
            dictionary=dictionary,
            seed=arguments.seed,
            progress=report,
        )
        print(file=sys.stderr)
        save_unit_scores(store.folder, scores.rows.to_dict("records"))
        print(scores.grid().to_string())
        print(f"{scores.verdict()} Saved to {store.folder / UNIT_SCORES}")
        return 0

    return _guarded(run, "the store and records kept so far are reused next time")


def _codes(arguments: argparse.Namespace) -> int:
    def run() -> int:
        corpus, loaded = _corpus_and_model(arguments)
        dictionary = find_dictionary(arguments.model, arguments.cache_dir)
        if dictionary is None:
            raise ValueError(f"'{arguments.model}' has no factor dictionary: learn one with python -m xray factors.")
        report = _reporter(arguments.status)
        store = build_store(loaded, corpus, arguments.cache_dir, page_store_settings(loaded.device), progress=report)
        levels = tuple(arguments.level) or tuple(range(store.levels))
        started = time.perf_counter()
        build_level_codes(store, dictionary, levels, progress=report)
        print(file=sys.stderr)
        active = [find_level_codes(store, dictionary, level).matrix.nnz / store.manifest.pieces for level in levels]
        print(
            f"{store.manifest.pieces:,} pieces coded at levels {', '.join(map(str, levels))} in "
            f"{time.perf_counter() - started:.1f} s ({', '.join(f'{value:.1f}' for value in active)} active factors "
            f"a piece): {codes_folder(store, dictionary)}"
        )
        return 0

    return _guarded(run, "run the same command again to resume at the first level it had not finished")


def _explain_corpus(arguments: argparse.Namespace) -> int:
    def run() -> int:
        corpus = _corpus(arguments)
        descriptions = "\n".join(arguments.descriptions)
        spec = ClassifierSpec.choose(arguments.classifier, arguments.model, descriptions, arguments.bf16)
        classifier = build_classifier(spec, load_model(spec.model_name, device=arguments.device))
        settings = BenchmarkSettings(
            texts=arguments.texts,
            held_out=not arguments.include_training,
            max_evals=arguments.max_evals,
            num_samples=arguments.lime_samples,
            steps=arguments.steps,
            seed=arguments.seed,
            only_positive=not arguments.every_word,
        )
        started = time.perf_counter()
        report = in_stage(_reporter(arguments.status), "explaining texts")
        benchmark = run_benchmark(
            classifier, spec, corpus, settings, arguments.cache_dir, progress=report, coalesce=arguments.coalesce
        )
        print(file=sys.stderr)
        print(benchmark.faithfulness().to_string(index=False, float_format="%.3f"))
        print(benchmark.agreement().to_string(float_format="%.2f"))
        path = benchmark_path(arguments.cache_dir, spec, corpus, settings)
        print(f"{len(benchmark.rows)} texts in {time.perf_counter() - started:.0f} s; saved to {path}")
        return 0

    return _guarded(run, "run the same command again to resume after the last finished chunk of texts")


def _corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """--corpus / --file / --table and the CSV columns: where the texts come from."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--corpus", default=SEARCH_CORPUS, choices=list(BUILTIN_CORPORA), help="a built-in corpus")
    source.add_argument("--file", type=Path, help="a .txt (one text per line) or .csv file, with no row limit")
    source.add_argument("--table", type=Path, help="a corpus saved by the app (Parquet), e.g. an upload")
    parser.add_argument("--text-column", help="the CSV column that holds the text (default: the likely one)")
    parser.add_argument("--label-column", help="the CSV column that labels each text (optional)")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:1 (default: cuda when present)")
    parser.add_argument(
        "--cache-dir", type=Path, default=default_cache_root(), help="store root (default: %(default)s)"
    )


def _ray_arguments(parser: argparse.ArgumentParser) -> None:
    cluster = parser.add_argument_group("on Ray (pip install -r requirements-cluster.txt)")
    cluster.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL,
        metavar="ADDRESS",
        help="run the model on Ray workers, in shards: a cluster's address (auto, ray://head:10001), or none for a "
        "Ray started here; every node must see --cache-dir at the same path",
    )
    cluster.add_argument("--workers", type=int, default=1, help="model replicas at once (default: %(default)s)")
    cluster.add_argument("--cpus-per-worker", type=int, default=1, help="CPUs (torch threads) each (default: 1)")
    cluster.add_argument("--gpus-per-worker", type=float, help="GPUs each (default: 1 with --device cuda, else 0)")
    cluster.add_argument("--shard-texts", type=int, default=4096, help="texts per shard (default: %(default)s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xray", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train-head", help="train the BBC News topic head on the embedded MiniLM")
    train.add_argument("--model", default=EMBEDDED_MODEL, help="encoder to embed with (default: %(default)s)")
    train.add_argument("--seed", type=int, default=0, help="seed of the stratified 80/20 split (default: 0)")
    train.add_argument("--bf16", action="store_true", help="embed under bfloat16 autocast (faster, not bit-exact)")
    train.add_argument("--out", type=Path, default=HEAD_FILE, help="where to write the head (default: shipped file)")
    train.set_defaults(run=_train_head)
    index = commands.add_parser("index", help="build the activation store of a model over a corpus")
    index.add_argument("--model", default=EMBEDDED_MODEL, help="model name, hub id or folder (default: %(default)s)")
    _corpus_arguments(index)
    index.add_argument("--bf16", action="store_true", help="run under bfloat16 autocast (faster on recent hardware)")
    index.add_argument("--batch-size", type=int, default=64, help="texts per forward pass (default: %(default)s)")
    index.add_argument("--max-tokens", type=int, default=128, help="word pieces per text (default: %(default)s)")
    _ray_arguments(index)
    index.set_defaults(run=_index)
    factors = commands.add_parser("factors", help="learn transformer factors shared by every layer of a model")
    factors.add_argument("--model", default=EMBEDDED_MODEL, help="model name, hub id or folder (default: %(default)s)")
    _corpus_arguments(factors)
    defaults = FactorSettings()
    factors.add_argument("--factors", type=int, default=defaults.factors, help="atoms (default: %(default)s)")
    factors.add_argument("--sparsity", type=float, default=defaults.sparsity, help="λ (default: %(default)s)")
    factors.add_argument("--epochs", type=int, default=defaults.epochs, help="passes (default: %(default)s)")
    factors.add_argument(
        "--samples", type=int, default=100_000, help="vectors drawn from all layers (default: %(default)s)"
    )
    factors.add_argument("--seed", type=int, default=defaults.seed, help="(default: %(default)s)")
    factors.add_argument("--bf16", action="store_true", help="build the store under bfloat16 autocast")
    factors.add_argument(
        "--out",
        type=Path,
        help="where to write it (default: the shipped file for the embedded model, else where the "
        "app looks: <cache-dir>/factors/<model>.npz)",
    )
    factors.add_argument("--status", type=Path, help="also write progress to this JSON file (for the app)")
    factors.set_defaults(run=_factors)
    neurons = commands.add_parser("neurons", help="activation records of every MLP neuron over a corpus")
    neurons.add_argument("--model", default=EMBEDDED_MODEL, help="model name, hub id or folder (default: %(default)s)")
    _corpus_arguments(neurons)
    neurons.add_argument("--max-tokens", type=int, default=MAX_TOKENS, help="pieces per text (default: %(default)s)")
    neurons.add_argument("--batch-size", type=int, default=64, help="texts per forward pass (default: %(default)s)")
    neurons.add_argument(
        "--explain-layer",
        type=int,
        action="append",
        default=[],
        help="explain every neuron of this layer with the offline baseline and save the scores (repeatable)",
    )
    _ray_arguments(neurons)
    neurons.set_defaults(run=_neurons)
    units = commands.add_parser("units", help="score samples of neurons, factors and directions at every level")
    units.add_argument("--model", default=EMBEDDED_MODEL, help="model name, hub id or folder (default: %(default)s)")
    _corpus_arguments(units)
    units.add_argument("--kinds", nargs="+", choices=UNIT_KINDS, default=list(UNIT_KINDS), help="(default: all)")
    units.add_argument("--units", type=int, default=100, help="units of each kind per level (default: %(default)s)")
    units.add_argument("--level", type=int, action="append", default=[], help="a level to score (default: all)")
    units.add_argument("--seed", type=int, default=0, help="units, records and bootstrap (default: %(default)s)")
    units.add_argument("--status", type=Path, help="also write progress to this JSON file (for the app)")
    units.set_defaults(run=_units)
    codes = commands.add_parser("codes", help="factor codes of every stored piece of a corpus, kept beside its store")
    codes.add_argument("--model", default=EMBEDDED_MODEL, help="model name, hub id or folder (default: %(default)s)")
    _corpus_arguments(codes)
    codes.add_argument("--level", type=int, action="append", default=[], help="a level to code (default: all)")
    codes.add_argument("--status", type=Path, help="also write progress to this JSON file (for the app)")
    codes.set_defaults(run=_codes)
    explain = commands.add_parser(
        "explain-corpus", help="benchmark the explainers over many texts of a corpus (ferret's faithfulness)"
    )
    _corpus_arguments(explain)
    explain.set_defaults(corpus="BBC News sentences")
    explain.add_argument("--classifier", default="topic", choices=list(CLASSIFIER_KINDS), help="(default: topic)")
    explain.add_argument("--model", default=EMBEDDED_MODEL, help="the model of 'model' and 'zero-shot'")
    explain.add_argument("--descriptions", nargs="*", default=[], help="zero-shot: one description per class")
    explain.add_argument("--bf16", action="store_true", help="the classifier under bfloat16 autocast (faster)")
    explain.add_argument("--texts", type=int, default=200, help="texts to explain (default: %(default)s)")
    explain.add_argument("--include-training", action="store_true", help="keep texts the topic head trained on")
    explain.add_argument("--max-evals", type=int, default=500, help="SHAP's budget (default: %(default)s)")
    explain.add_argument("--lime-samples", type=int, default=1000, help="LIME's samples (default: %(default)s)")
    explain.add_argument("--steps", type=int, default=50, help="integrated gradients' steps (default: %(default)s)")
    explain.add_argument("--seed", type=int, default=0, help="of the random orders (default: %(default)s)")
    explain.add_argument("--every-word", action="store_true", help="rationales of every word, not only those above 0")
    explain.add_argument(
        "--coalesce",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="merge the classifier calls of each chunk's texts (default: on an accelerator only)",
    )
    explain.add_argument("--status", type=Path, help="also write progress to this JSON file (for the app)")
    explain.set_defaults(run=_explain_corpus)
    verify = commands.add_parser("verify", help="check every store and records folder against its checksums")
    verify.add_argument(
        "--cache-dir", type=Path, default=default_cache_root(), help="cache root (default: %(default)s)"
    )
    verify.set_defaults(run=_verify)
    tags = commands.add_parser("tags", help="tag the built-in corpora with spaCy into the file the package ships")
    tags.add_argument("--out", type=Path, default=SHIPPED_TAGS, help="where to write it (default: shipped file)")
    tags.set_defaults(run=_tags)
    arguments = parser.parse_args(argv)
    return arguments.run(arguments)


if __name__ == "__main__":
    sys.exit(main())
