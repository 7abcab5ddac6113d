"""The Which units page's corpus pass: samples of every kind of unit at every level scored by the baseline, as a
child job (``python -m xray units``, see :mod:`components.corpus_pass`) that writes the table beside the store,
which the page then reads. Nothing is started before the user asks: the pass takes minutes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from components.corpus_pass import CorpusPass, run_pass_on_request, saved_corpus
from components.factors import cached_dictionary
from components.jobs import job_running
from components.model import borrowed_model
from xray.cache import default_cache_root, read_status
from xray.corpora.corpus import Corpus
from xray.factors.dictionary import dictionary_path
from xray.models.mlp import mlp_width
from xray.neurons.saved import saved_unit_scores
from xray.store.format import open_store, page_store_settings, store_name
from xray.techniques.neuron_explanations import BaselineExplainer
from xray.translation import Message, _
from xray.units.compare import UNIT_KINDS, UnitScores, sample_units
from xray.units.cost import endpoint_cost


def unit_kinds(model_name: str) -> tuple[str, ...]:
    """The kinds the pass can score for ``model_name``: factors only where it has a dictionary."""
    if dictionary_path(model_name, default_cache_root()).is_file():
        return UNIT_KINDS
    return tuple(kind for kind in UNIT_KINDS if kind != "factor")


def _store_folder(model_name: str, corpus: Corpus) -> Path:
    return default_cache_root() / _store_folder_name(model_name, corpus.fingerprint, corpus)


@st.cache_data(show_spinner=False, max_entries=16)
def _store_folder_name(model_name: str, corpus_fingerprint: str, _corpus: Corpus) -> str:
    loaded = borrowed_model(model_name)
    return store_name(loaded, _corpus, page_store_settings(loaded.device))


@st.cache_data(show_spinner=False, max_entries=16)
def _unit_totals(model_name: str) -> tuple[dict[str, int], int]:
    """Units of each kind but factors and random directions at a level (neuron, basis, pca), and the model's layers."""
    loaded = borrowed_model(model_name)
    return {"neuron": mlp_width(loaded), "basis": loaded.hidden_size, "pca": loaded.hidden_size}, loaded.num_layers


def saved_scores(model_name: str, corpus: Corpus, units: int) -> UnitScores | None:
    """The baseline's scores of the ``units`` units of every kind at every level that the pass samples (a kind with
    fewer units has all of them), where the table beside the store holds every one; None until then. Rows of other
    runs (another count, another explainer) stay in the table and are left out here."""
    table = saved_unit_scores(_store_folder(model_name, corpus))
    if not len(table):
        return None
    table = table[table["explainer"] == BaselineExplainer().name]
    dictionary = cached_dictionary(model_name)
    sizes, layers = _unit_totals(model_name)
    totals = sizes | {"random": units}
    totals["factor"] = dictionary.factors if dictionary is not None else 0
    chosen = []
    for kind in unit_kinds(model_name):
        for level in range(1 if kind == "neuron" else 0, layers + 1):
            wanted = sample_units(totals[kind], units, 0, kind, level)
            rows = table[(table["kind"] == kind) & (table["level"] == level) & table["unit"].isin(wanted)]
            if len(rows) < len(wanted):
                return None
            chosen.append(rows)
    return UnitScores(model_name, corpus.name, pd.concat(chosen).reset_index(drop=True), seed=0)


@st.cache_data(show_spinner=False, max_entries=16)
def endpoint_cost_line(model_name: str, corpus_fingerprint: str, units: int, _corpus: Corpus) -> Message:
    """What the same ``units`` units would cost with a language model (:func:`endpoint_cost`), in a sentence (English,
    drawn with :func:`~xray.translation.translated`)."""
    return endpoint_cost(open_store(_store_folder(model_name, _corpus)), units).summary()


def _pass(model_name: str, corpus: Corpus, units: int, started: bool) -> CorpusPass:
    root = default_cache_root()
    name = f"units-{_store_folder(model_name, corpus).name}-{units}"  # a run of another count is another job
    status = root / f".{name}.status.json"
    arguments: tuple[str, ...] = ()
    if started:
        arguments = ("units", "--model", model_name, "--table", str(saved_corpus(corpus, root, name)))
        arguments += ("--cache-dir", str(root), "--units", str(units), "--status", str(status))
        arguments += ("--kinds", *unit_kinds(model_name))
    return CorpusPass(
        name=name,
        label=_("Scoring {units} units of each kind at every level of '{model}'").format(units=units, model=model_name),
        arguments=arguments,
        log=root / f".{name}.log",
        status=lambda: read_status(status) if job_running(name) else None,
        failure=_("The units could not be scored"),
    )


def scored_units(model_name: str, corpus: Corpus, units: int, key: str) -> UnitScores | None:
    """The saved scores, else a button that runs the pass (or the pass already under way, followed); None while
    the user has not asked. key: the button's key."""
    return run_pass_on_request(
        lambda started: _pass(model_name, corpus, units, started),
        lambda: saved_scores(model_name, corpus, units),
        label=_("Score {units} units of each kind at every level of '{model}'").format(units=units, model=model_name),
        key=key,
        help=_("A few minutes on a laptop CPU."),
    )
