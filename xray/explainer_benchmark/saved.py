"""A run of the explainers over a corpus on disk: which texts it takes, where it lives (named by everything it
depends on), and running it so that an interruption keeps every finished chunk and the next run resumes there.

Files, under ``<cache root>/explainers/``: ``<name>.json``, the finished run (:class:`ExplainerBenchmark`); while it
runs, ``.<name>.partial.jsonl``, one finished text per line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from xray.cache import cache_name
from xray.corpora.corpus import Corpus
from xray.explainer_benchmark.run import ExplainedText, explain_texts
from xray.explainer_benchmark.summary import ExplainerBenchmark, load_benchmark
from xray.models.classifiers import Classifier, ClassifierSpec
from xray.progress import Progress
from xray.techniques.lime_explain import MAX_SAMPLES, MIN_SAMPLES, check_range
from xray.techniques.shap_explain import MIN_EVALS

FORMAT = 1
HELD_OUT_COLUMN = "in_training"
"""The corpus column that marks texts the classifier was trained on (BBC News sentences have it)."""


@dataclass(frozen=True)
class BenchmarkSettings:
    """texts: how many texts of the corpus (its first, in its order); held_out: leave out the texts its
    ``in_training`` column marks, where it has one; max_evals, num_samples, steps: SHAP's, LIME's and integrated
    gradients' budgets; seed: of the random orders; only_positive: ferret's ``only_pos``."""

    texts: int = 200
    held_out: bool = True
    max_evals: int = 500
    num_samples: int = 1000
    steps: int = 50
    seed: int = 0
    only_positive: bool = True

    def __post_init__(self) -> None:
        if self.texts < 1:
            raise ValueError(f"Benchmark at least one text, not {self.texts}.")
        if self.max_evals < MIN_EVALS:
            raise ValueError(f"SHAP needs at least {MIN_EVALS} evaluations a text, not {self.max_evals}.")
        check_range("LIME's samples", self.num_samples, MIN_SAMPLES, MAX_SAMPLES)


def chosen_texts(corpus: Corpus, settings: BenchmarkSettings) -> tuple[list[str], list[str] | None]:
    """The texts the run takes and their labels (None without a label column): the first ``settings.texts`` of
    ``corpus``, those it marks as training texts left out where ``settings.held_out``."""
    table = corpus.table
    if settings.held_out and HELD_OUT_COLUMN in table.columns:
        table = table[~table[HELD_OUT_COLUMN].astype(bool)]
    table = table.head(settings.texts)
    if table.empty:
        raise ValueError(f"'{corpus.name}' has no held-out texts to benchmark on; include its training texts.")
    labels = table[corpus.label_column].astype(str).tolist() if corpus.label_column else None
    return table["text"].astype(str).tolist(), labels


def benchmark_path(root: Path, spec: ClassifierSpec, corpus: Corpus, settings: BenchmarkSettings) -> Path:
    """Where the finished run of ``spec`` over ``corpus`` with ``settings`` lives."""
    key = json.dumps([FORMAT, asdict(spec), corpus.fingerprint, asdict(settings)], sort_keys=True)
    return root / "explainers" / f"{cache_name(corpus.name, key)}.json"


def _partial_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}.partial.jsonl")


def _kept_rows(partial: Path) -> list[ExplainedText]:
    """The texts an interrupted run finished; a last line cut short by the interruption is left out."""
    if not partial.is_file():
        return []
    rows = []
    for line in partial.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(ExplainedText.from_dict(json.loads(line)))
        except (json.JSONDecodeError, KeyError):
            break
    return rows


def saved_benchmark(
    root: Path, spec: ClassifierSpec, corpus: Corpus, settings: BenchmarkSettings
) -> ExplainerBenchmark | None:
    """The finished run, or None where it has not finished."""
    path = benchmark_path(root, spec, corpus, settings)
    return load_benchmark(path) if path.is_file() else None


def run_benchmark(
    classifier: Classifier,
    spec: ClassifierSpec,
    corpus: Corpus,
    settings: BenchmarkSettings,
    root: Path,
    progress: Progress | None = None,
    coalesce: bool | None = None,
) -> ExplainerBenchmark:
    """The run of ``classifier`` (which ``spec`` names) over ``corpus``: found on disk, or computed, resuming after
    the texts an interrupted run finished, and saved. ``progress``: ``(texts done, texts)``; coalesce: as
    :func:`xray.explainer_benchmark.run.explain_texts` takes it (the values do not depend on it)."""
    found = saved_benchmark(root, spec, corpus, settings)
    if found is not None:
        return found
    path = benchmark_path(root, spec, corpus, settings)
    partial = _partial_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    done = _kept_rows(partial)
    texts, labels = chosen_texts(corpus, settings)

    def keep(rows: list[ExplainedText]) -> None:
        with partial.open("a", encoding="utf-8") as file:
            file.writelines(json.dumps(row.to_dict()) + "\n" for row in rows)

    rows = explain_texts(
        classifier,
        texts,
        labels,
        max_evals=settings.max_evals,
        num_samples=settings.num_samples,
        steps=settings.steps,
        seed=settings.seed,
        only_positive=settings.only_positive,
        done=done,
        on_chunk=keep,
        progress=progress,
        coalesce=coalesce,
    )
    benchmark = ExplainerBenchmark(classifier.name, corpus.name, asdict(settings), rows)
    benchmark.save(path)
    partial.unlink(missing_ok=True)
    return benchmark
