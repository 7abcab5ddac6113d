"""The explainers over a corpus on a page: the run (``python -m xray explain-corpus``) started on request as a child
job (see :mod:`components.corpus_pass`) that writes its result under the cache, which the page then reads; links
that open one of its texts on the Which explanation page."""

from __future__ import annotations

import shlex
from pathlib import Path

import streamlit as st

from components.classifier import cached_seconds_per_text, classifier_query
from components.corpus_pass import CorpusPass, run_pass_on_request, saved_corpus
from components.jobs import job_running
from components.navigation import discover_pages
from components.sidebar import Selection
from xray.cache import default_cache_root, read_status
from xray.corpora.builtin import BUILTIN_CORPORA
from xray.corpora.corpus import Corpus
from xray.explainer_benchmark.faithfulness import FERRET_THRESHOLDS
from xray.explainer_benchmark.run import RANDOM_ORDERS
from xray.explainer_benchmark.saved import BenchmarkSettings, benchmark_path, chosen_texts
from xray.explainer_benchmark.summary import ExplainerBenchmark, load_benchmark
from xray.models.classifiers import ClassifierSpec
from xray.translation import _, number

COMPARISON_TITLE = "Which explanation to trust?"
MOST_METHODS = 6
"""SHAP, LIME, the two gradient methods and the two attention scores (fewer without a differentiable path)."""
GRADIENT_PASSES = 3
"""Integrated gradients' cost per step, in classifier calls (a forward and a backward pass)."""


@st.cache_data(show_spinner=False, max_entries=4)
def _loaded(path: str, modified: float) -> ExplainerBenchmark:
    return load_benchmark(Path(path))


def saved_run(spec: ClassifierSpec, corpus: Corpus, settings: BenchmarkSettings) -> ExplainerBenchmark | None:
    """The finished run of ``spec`` over ``corpus`` with ``settings`` (the page's, or the same command line's)."""
    path = benchmark_path(default_cache_root(), spec, corpus, settings)
    return _loaded(str(path), path.stat().st_mtime) if path.is_file() else None


def estimated_minutes(spec: ClassifierSpec, corpus: Corpus, settings: BenchmarkSettings) -> float:
    """About how long the run takes here: the classifier calls a text costs (SHAP's and LIME's budgets, the
    faithfulness texts of every method and random order, integrated gradients' steps) at the speed measured on one
    of the corpus's texts of median length."""
    texts, _ = chosen_texts(corpus, settings)
    typical = sorted(texts, key=len)[len(texts) // 2]
    calls = settings.max_evals + settings.num_samples + 2 * len(FERRET_THRESHOLDS) * (MOST_METHODS + RANDOM_ORDERS)
    calls += GRADIENT_PASSES * settings.steps
    return len(texts) * calls * cached_seconds_per_text(spec, typical) / 60


def _arguments(spec: ClassifierSpec, source: tuple[str, ...], settings: BenchmarkSettings) -> tuple[str, ...]:
    """The command line after ``python -m xray`` that runs ``spec`` over the corpus ``source`` names (``--table``
    or ``--corpus`` and its value) with ``settings``."""
    arguments = ("explain-corpus", *source, "--classifier", spec.kind, "--model", spec.model_name)
    if spec.descriptions:
        arguments += ("--descriptions", *spec.descriptions)
    arguments += ("--bf16",) if spec.bf16 else ()
    arguments += ("--texts", str(settings.texts), "--max-evals", str(settings.max_evals))
    arguments += ("--lime-samples", str(settings.num_samples), "--steps", str(settings.steps))
    arguments += ("--seed", str(settings.seed))
    arguments += () if settings.held_out else ("--include-training",)
    return arguments + (() if settings.only_positive else ("--every-word",))


def terminal_command(spec: ClassifierSpec, corpus: Corpus, settings: BenchmarkSettings) -> str | None:
    """The shell command that runs the same as the page, for a built-in corpus (None for an upload)."""
    if corpus.name not in BUILTIN_CORPORA:
        return None
    return shlex.join(("python", "-m", "xray", *_arguments(spec, ("--corpus", corpus.name), settings)))


def _pass(spec: ClassifierSpec, corpus: Corpus, settings: BenchmarkSettings, started: bool) -> CorpusPass:
    root = default_cache_root()
    name = f"explain-{benchmark_path(root, spec, corpus, settings).stem}"
    status = root / f".{name}.status.json"
    arguments: tuple[str, ...] = ()
    if started:
        arguments = _arguments(spec, ("--table", str(saved_corpus(corpus, root, name))), settings)
        arguments += ("--status", str(status), "--cache-dir", str(root))
    return CorpusPass(
        name=name,
        label=_("Explaining {count} texts of {corpus}").format(count=number(settings.texts, 0), corpus=corpus.name),
        arguments=arguments,
        log=root / f".{name}.log",
        status=lambda: read_status(status) if job_running(name) else None,
        failure=_("The explainers could not be run over the corpus"),
    )


def benchmark_on_request(
    spec: ClassifierSpec, corpus: Corpus, settings: BenchmarkSettings, key: str
) -> ExplainerBenchmark | None:
    """The saved run, else a button that starts it (or the run already under way, followed); None while the user
    has not asked. key: the button's key."""
    minutes = estimated_minutes(spec, corpus, settings)
    return run_pass_on_request(
        lambda started: _pass(spec, corpus, settings, started),
        lambda: saved_run(spec, corpus, settings),
        label=_("Run every explainer over {count} texts").format(count=number(settings.texts, 0)),
        key=key,
        help=_(
            "{duration} here, from this machine's measured speed of the classifier; the progress bar then "
            "estimates from the texts done. Cancel keeps every finished chunk."
        ).format(duration=_duration(minutes)),
    )


def _duration(minutes: float) -> str:
    return _("Under a minute") if minutes < 1 else _("About {minutes} min").format(minutes=number(minutes, 0))


def open_text_link(selection: Selection, spec: ClassifierSpec, text: str, label: str) -> None:
    """A link that opens ``text`` in the sidebar on the Which explanation page, with this classifier."""
    path, info = next((path, info) for path, info in discover_pages() if info.title == COMPARISON_TITLE)
    st.page_link(
        st.Page(path, title=info.name, icon=info.icon),
        label=label,
        icon=info.icon,
        query_params=classifier_query(selection, spec, text),
    )
