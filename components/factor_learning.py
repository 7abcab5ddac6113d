"""Learning a factor dictionary from the Transformer factors page, for a model that has none yet.

The fit is a corpus pass (``python -m xray factors``, run and followed by :func:`components.corpus_pass.run_pass`):
a progress bar with a time estimate per stage and a Cancel button (the store build and the fit both resume from
their last checkpoint next time), and the page reruns on the new dictionary once it is saved. Another session
opening the page meanwhile follows the same job.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st

from components.corpus import store_settings
from components.corpus_pass import CorpusPass, report_ended, run_pass
from components.factors import cached_dictionary
from components.jobs import job_running
from components.run_marker import stop_page
from components.sidebar import Selection
from xray.cache import default_cache_root, read_status
from xray.corpora.builtin import BUILTIN_CORPORA, SEARCH_CORPUS
from xray.factors.dictionary import dictionary_path
from xray.factors.solver import FactorSettings
from xray.translation import _


def _fit(model_name: str) -> tuple[CorpusPass, Path]:
    """The fit as a pass with no arguments yet (it follows a fit under way), and the status file it writes; both
    named after the dictionary it writes."""
    stem = dictionary_path(model_name, default_cache_root()).stem
    folder = default_cache_root() / "factors"
    name, status = f"factors-{stem}", folder / f".{stem}.status.json"
    job = CorpusPass(
        name=name,
        label=_("Learning a factor dictionary for '{model}'").format(model=model_name),
        arguments=(),
        log=folder / f".{stem}.log",
        status=lambda: read_status(status) if job_running(name) else None,
        failure=_("The dictionary could not be learned"),
    )
    return job, status


def _arguments(selection: Selection, corpus: str, settings: FactorSettings, samples: int, status: Path) -> list[str]:
    arguments = ["factors", "--model", selection.model_name, "--corpus", corpus]
    arguments += ["--cache-dir", str(default_cache_root()), "--status", str(status)]
    arguments += ["--factors", str(settings.factors), "--sparsity", str(settings.sparsity)]
    arguments += ["--epochs", str(settings.epochs), "--samples", str(samples), "--seed", str(settings.seed)]
    return arguments + (["--bf16"] if store_settings(selection).bf16 else [])


def _learning_form(selection: Selection) -> tuple[str, FactorSettings, int] | None:
    """The corpus and settings to learn with, once the user asks to learn; None until then."""
    defaults = FactorSettings()
    with st.form("factors.learn"):
        corpus = st.selectbox(
            _("Corpus"),
            list(BUILTIN_CORPORA),
            index=list(BUILTIN_CORPORA).index(SEARCH_CORPUS),
            key="factors.learn.corpus",
        )
        columns = st.columns(4)
        factors = columns[0].number_input(_("Factors"), 2, 20_000, defaults.factors, step=100)
        sparsity = columns[1].number_input(
            _("Sparsity (λ)"),
            0.001,
            10.0,
            defaults.sparsity,
            step=0.01,
            format="%.3f",
            help=_("Higher: fewer factors per token."),
        )
        epochs = columns[2].number_input(_("Epochs"), 1, 50, defaults.epochs)
        samples = columns[3].number_input(
            _("Samples"), 1_000, 2_000_000, 100_000, step=10_000, help=_("Hidden states drawn from all layers alike.")
        )
        learn = st.form_submit_button(
            _("Learn a dictionary"), type="primary", icon=":material/model_training:", key="factors.learn.start"
        )
    if not learn:
        return None
    return corpus, FactorSettings(int(factors), float(sparsity), int(epochs)), int(samples)


def learn_dictionary_panel(selection: Selection) -> None:
    """Say that the model has no dictionary, and learn one on request (or follow the fit already running); then
    rerun on the new dictionary. Stops the page until there is one."""
    job, status = _fit(selection.model_name)
    if not job_running(job.name):
        report_ended(job)
        st.info(
            _(
                "No factor dictionary has been learned for '{model}' yet. Learn one here (the corpus's hidden states "
                "are computed first, then the dictionary: a few minutes for a small model on a laptop CPU), or from "
                "the command line: `{command}`."
            ).format(model=selection.model_name, command=f'python -m xray factors --model "{selection.model_name}"'),
            icon=":material/info:",
        )
        chosen = _learning_form(selection)
        if chosen is None:
            stop_page()
        corpus, settings, samples = chosen
        status.unlink(missing_ok=True)
        st.session_state.pop(job.cancelled_key, None)  # the user asked for it: no Resume button
        job = replace(job, arguments=tuple(_arguments(selection, corpus, settings, samples, status)))
    st.caption(
        _("Learning a factor dictionary for '{model}'; it is saved for every later visit.").format(
            model=selection.model_name
        )
    )
    path = dictionary_path(selection.model_name, default_cache_root())
    run_pass(job, lambda: path if path.is_file() else None)
    cached_dictionary.clear()
    st.rerun()
