"""Learning a factor dictionary from the Transformer factors page, for a model that has none yet.

The fit runs as a child job (``python -m xray factors``, see :mod:`components.jobs`): the page follows its
status file with a progress bar and a time estimate per stage, a Cancel button interrupts it as Ctrl-C would
(the store build and the fit both resume from their last checkpoint next time), and the page reruns on the new
dictionary once it is saved. Another session opening the page meanwhile follows the same job.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from components.corpus import store_settings
from components.factors import cached_dictionary
from components.feedback import remaining
from components.jobs import cancel_job, finished_job, job_running, start_job
from components.sidebar import Selection
from xray.cache import default_cache_root, read_status
from xray.corpora.builtin import BUILTIN_CORPORA, SEARCH_CORPUS
from xray.factors.dictionary import dictionary_path
from xray.factors.solver import FactorSettings

POLL_S = 0.5
INTERRUPTED = 130  # the command line's exit code after Ctrl-C (or Cancel)


def _files(model_name: str) -> tuple[str, Path, Path]:
    """The job's name, its status file and its log, named after the dictionary it writes."""
    stem = dictionary_path(model_name, default_cache_root()).stem
    folder = default_cache_root() / "factors"
    return f"factors-{stem}", folder / f".{stem}.status.json", folder / f".{stem}.log"


def _arguments(selection: Selection, corpus: str, settings: FactorSettings, samples: int, status: Path) -> list[str]:
    arguments = ["factors", "--model", selection.model_name, "--corpus", corpus]
    arguments += ["--cache-dir", str(default_cache_root()), "--status", str(status)]
    arguments += ["--factors", str(settings.factors), "--sparsity", str(settings.sparsity)]
    arguments += ["--epochs", str(settings.epochs), "--samples", str(samples), "--seed", str(settings.seed)]
    return arguments + (["--bf16"] if store_settings(selection).bf16 else [])


def _report_ended(name: str, log: Path) -> None:
    """Rerun on the new dictionary if the job just finished; say so if it was cancelled or failed."""
    ended = finished_job(name, log)
    if ended is None:
        return
    code, message = ended
    if code == 0:
        cached_dictionary.clear()
        st.rerun()
    if code == INTERRUPTED:
        st.info(
            "Learning was cancelled. Learn again with the same settings to resume from the last checkpoint.",
            icon=":material/info:",
        )
    else:
        st.error(f"The dictionary could not be learned: {message}", icon=":material/error:")


def _learning_form(selection: Selection) -> tuple[str, FactorSettings, int] | None:
    """The corpus and settings to learn with, once the user asks to learn; None until then."""
    defaults = FactorSettings()
    with st.form("factors.learn"):
        corpus = st.selectbox(
            "Corpus",
            list(BUILTIN_CORPORA),
            index=list(BUILTIN_CORPORA).index(SEARCH_CORPUS),
            key="factors.learn.corpus",
        )
        columns = st.columns(4)
        factors = columns[0].number_input("Factors", 2, 20_000, defaults.factors, step=100)
        sparsity = columns[1].number_input(
            "Sparsity (λ)",
            0.001,
            10.0,
            defaults.sparsity,
            step=0.01,
            format="%.3f",
            help="Higher: fewer factors per token.",
        )
        epochs = columns[2].number_input("Epochs", 1, 50, defaults.epochs)
        samples = columns[3].number_input(
            "Samples", 1_000, 2_000_000, 100_000, step=10_000, help="Hidden states drawn from all layers alike."
        )
        learn = st.form_submit_button(
            "Learn a dictionary", type="primary", icon=":material/model_training:", key="factors.learn.start"
        )
    if not learn:
        return None
    return corpus, FactorSettings(int(factors), float(sparsity), int(epochs)), int(samples)


def _follow(name: str, status_path: Path) -> None:
    """A progress bar with an estimate per stage until the job ends, and a Cancel button; then a rerun."""
    st.button("Cancel", on_click=cancel_job, args=(name,), icon=":material/cancel:", key="factors.cancel")
    bar = st.progress(0.0, text="Starting…")
    stages: dict[str, float] = {}
    while job_running(name):
        status = read_status(status_path)
        if status is not None:
            started = stages.setdefault(status.stage, time.perf_counter())
            text = f"{status.stage.capitalize()}: {status.done:,} of {status.total:,}"
            bar.progress(min(status.share, 1.0), text=text + remaining(started, status.done, status.total))
        time.sleep(POLL_S)
    st.rerun()


def learn_dictionary_panel(selection: Selection) -> None:
    """Say that the model has no dictionary, and learn one on request (or follow the fit already running); stops
    the page."""
    name, status_path, log = _files(selection.model_name)
    if not job_running(name):
        _report_ended(name, log)
        st.info(
            f"No factor dictionary has been learned for '{selection.model_name}' yet. Learn one here (the corpus's "
            "hidden states are computed first, then the dictionary: a few minutes for a small model on a laptop "
            f'CPU), or from the command line: `python -m xray factors --model "{selection.model_name}"`.',
            icon=":material/info:",
        )
        chosen = _learning_form(selection)
        if chosen is None:
            st.stop()
        corpus, settings, samples = chosen
        status_path.unlink(missing_ok=True)
        start_job(name, _arguments(selection, corpus, settings, samples, status_path), log)
    st.caption(f"Learning a factor dictionary for '{selection.model_name}'; it is saved for every later visit.")
    _follow(name, status_path)
