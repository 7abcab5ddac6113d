"""The Transformer factors page's factor dashboard: one factor at one level as a feature over a corpus (its density,
the histogram of its non-zero codes, an explanation simulated and scored by the neurons' code, its top and
quantile texts, any text of the user's tested), as Neuronpedia's and SAELens's dashboards show a feature.

It reads the codes of every stored piece, computed once per level by a child job (``python -m xray codes``, see
:mod:`components.corpus_pass`) only when the user asks, and saves every explanation to the store's table of
scored units, the one the Which units page reads.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from components.corpus import StoreKey, activation_store, cached_builtin, cached_open_store
from components.corpus_pass import CorpusPass, run_pass_on_request, saved_corpus
from components.downloads import chart_with_downloads, download
from components.factors import cached_dictionary, cached_sentence_factors
from components.feedback import user_errors
from components.jobs import job_running
from components.neuron_explanations import endpoint_picker, explained_side_by_side, show_records, show_simulated
from components.sidebar import Selection
from xray.cache import default_cache_root, read_status
from xray.corpora.builtin import BUILTIN_CORPORA
from xray.corpora.corpus import Corpus
from xray.factors.store_codes import LevelCodes, coded_levels, dictionary_digest, find_level_codes
from xray.levels import level_name
from xray.neurons.endpoint import Endpoint
from xray.neurons.saved import save_unit_scores
from xray.rendering.corpus_charts import code_histogram
from xray.techniques.neuron_explanations import (
    BaselineExplainer,
    BaselineSimulator,
    EndpointExplainer,
    EndpointSimulator,
    NeuronExplanation,
    Simulator,
)
from xray.text import prepare_text
from xray.translation import _, number, percent, translated
from xray.units.dashboard import FactorDashboard, factor_dashboard, scored_user_text
from xray.words import token_spans

DEFAULT_CORPUS = "Word senses"
CODING_SECONDS_PER_PIECE = 26 / 7_316
"""FISTA's time per stored piece and level, measured on this project's 2-core CPU (Word senses: 7,316 pieces in
about 26 s); the help of the start button scales it to the store, the progress bar then measures the real rate."""


def _codes_pass(selection: Selection, corpus: Corpus, key: StoreKey, level: int, started: bool) -> CorpusPass:
    root = default_cache_root()
    digest = dictionary_digest(cached_dictionary(selection.model_name))
    name = f"codes-{key[0]}-{digest}-L{level}"
    status = root / f".{name}.status.json"
    arguments: tuple[str, ...] = ()
    if started:
        arguments = ("codes", "--model", selection.model_name, "--table", str(saved_corpus(corpus, root, name)))
        arguments += ("--cache-dir", str(root), "--level", str(level), "--status", str(status))
    return CorpusPass(
        name=name,
        label=_("Coding every stored piece of {corpus} at {level} once; kept on disk").format(
            corpus=corpus.name, level=translated(level_name(level))
        ),
        arguments=arguments,
        log=root / f".{name}.log",
        status=lambda: read_status(status) if job_running(name) else None,
        failure=_("The factor codes could not be computed"),
    )


def level_codes(selection: Selection, corpus: Corpus, key: StoreKey, level: int) -> LevelCodes | None:
    """The codes of every piece of the store ``key`` at ``level``: kept on disk, else computed by a pass the user
    starts with a button (followed with progress and Cancel); None while the user has not asked."""
    store = cached_open_store(key)
    dictionary = cached_dictionary(selection.model_name)

    def found() -> LevelCodes | None:
        return (
            cached_level_codes(selection.model_name, key, level) if level in coded_levels(store, dictionary) else None
        )

    seconds = store.manifest.pieces * CODING_SECONDS_PER_PIECE
    return run_pass_on_request(
        lambda started: _codes_pass(selection, corpus, key, level, started),
        found,
        label=_("Code every piece of {corpus} at {level}").format(
            corpus=corpus.name, level=translated(level_name(level))
        ),
        key="factors.dashboard.start",
        help=_(
            "Codes the {pieces} stored pieces at this level once (about {seconds} s on a 2-core laptop CPU) and keeps "
            "them beside the store, for every factor."
        ).format(pieces=number(store.manifest.pieces, 0), seconds=number(seconds, 0)),
    )


@st.cache_resource(show_spinner=False, max_entries=2)
def cached_level_codes(model_name: str, key: StoreKey, level: int) -> LevelCodes:
    """The kept codes of one level (a sparse matrix of every stored piece), read once; ValueError while there are
    none (:func:`level_codes` computes them)."""
    codes = find_level_codes(cached_open_store(key), cached_dictionary(model_name), level)
    if codes is None:
        raise ValueError(
            _("The codes of {level} are not computed yet: reload the page to compute them.").format(
                level=translated(level_name(level))
            )
        )
    return codes


def dashboard(model_name: str, key: StoreKey, level: int, factor: int, endpoint: Endpoint | None) -> FactorDashboard:
    """The factor's dashboard explained by the baseline (``endpoint`` None) or the endpoint; its explanation saved
    to the store's table of scored units (outside the caches, so every run saves; the same row is written once)."""
    found = _cached_dashboard(
        model_name, key, level, factor, None if endpoint is None else endpoint.cache_key(), endpoint
    )
    row = found.summary_row()
    if row is not None:
        save_unit_scores(cached_open_store(key).folder, [row])
    return found


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_dashboard(
    model_name: str, key: StoreKey, level: int, factor: int, endpoint_key: tuple | None, _endpoint: Endpoint | None
) -> FactorDashboard:
    store, codes = cached_open_store(key), cached_level_codes(model_name, key, level)
    if _endpoint is None:
        return factor_dashboard(store, codes, factor, BaselineExplainer(), BaselineSimulator())
    with st.spinner(_("Asking {endpoint} to explain and simulate the factor…").format(endpoint=_endpoint.describe())):
        return factor_dashboard(store, codes, factor, EndpointExplainer(_endpoint), EndpointSimulator(_endpoint))


def show_factor_dashboard(selection: Selection, factor: int, level: int) -> None:
    """The dashboard section of ``factor`` at ``level``: the corpus to read it over, the codes pass when they are
    not kept yet, then the density, histogram, explanation, texts and test box."""
    shown_level = translated(level_name(level))
    st.subheader(_("Factor {factor} as a feature at {level}").format(factor=factor, level=shown_level))
    choices = list(BUILTIN_CORPORA)
    corpus_name = st.selectbox(
        _("Corpus the factor is read over"),
        choices,
        index=choices.index(DEFAULT_CORPUS),
        key="factors.feature_corpus",
        bind="query-params",
        help=_("Every piece of its texts is coded, as Neuronpedia reads a feature over its whole data set."),
    )
    with user_errors(_("loading {corpus}").format(corpus=corpus_name)):
        corpus = cached_builtin(corpus_name)
    key = activation_store(selection, corpus)
    with user_errors(_("reading the factor codes")):
        codes = level_codes(selection, corpus, key, level)
    if codes is None:
        st.caption(
            _(
                "The dashboard reads factor {factor}'s code on every piece of {corpus} at {level}: how often it is "
                "active, a histogram of its codes, an explanation scored as a neuron's is, and a box to test any "
                "text. The codes are computed once per level, for every factor."
            ).format(factor=factor, corpus=corpus.name, level=shown_level)
        )
        return
    endpoint = endpoint_picker(key="factors.explainer")
    with user_errors(_("reading the factor over the corpus")):
        baseline = dashboard(selection.model_name, key, level, factor, None)
    columns = st.columns(3)
    columns[0].metric(
        _("Density"), percent(baseline.density, 2), help=_("Share of the stored pieces the factor is active on.")
    )
    columns[1].metric(
        _("Active pieces"),
        number(len(baseline.active), 0),
        help=_("Of {pieces} stored pieces.").format(pieces=number(baseline.pieces, 0)),
    )
    columns[2].metric(_("Largest code"), number(float(baseline.active.max(initial=0.0)), 3))
    stem = f"factor_{factor}_{level_name(level).replace(' ', '')}_{corpus.name.replace(' ', '_')}"
    if len(baseline.active):
        title = _("Factor {factor}'s non-zero codes at {level}, over {corpus}").format(
            factor=factor, level=shown_level, corpus=corpus.name
        )
        chart_with_downloads(code_histogram(baseline.histogram(), title), f"{stem}_histogram", "factors.density")
    download(_("Dashboard (JSON)"), baseline.to_json, f"{stem}.json", "application/json", "factors.dashboard.json")
    if baseline.explanation is None:
        st.info(translated(baseline.verdict()), icon=":material/info:")
        return

    def explained(chosen: Endpoint | None) -> NeuronExplanation:
        return (baseline if chosen is None else dashboard(selection.model_name, key, level, factor, chosen)).explanation

    shown = explained_side_by_side(explained, endpoint, "factor")
    show_records(shown, "factor")
    simulator = BaselineSimulator() if shown is baseline.explanation else EndpointSimulator(endpoint)
    _test_box(selection, shown, simulator, level, factor)


def _test_box(
    selection: Selection, explanation: NeuronExplanation, simulator: Simulator, level: int, factor: int
) -> None:
    """Any text coded, and simulated from the explanation by ``simulator`` (the one that scored it): is the factor
    where the explanation says it is?"""
    st.subheader(_("Test a text of yours"))
    text = st.text_input(
        _("Text to test the explanation on"),
        selection.text,
        key="factors.test_text",
        bind="query-params",
        help=_(
            "Opens on the sidebar text. Its codes of the factor are shaded; the bars set them beside the simulation."
        ),
    )
    with user_errors(_("coding the text")):
        prepared = prepare_text(text).text
        coded = cached_sentence_factors(selection.model_name, prepared, None).codes[level][:, factor]
        loaded = selection.model
        spans = token_spans(loaded.tokenizer, prepared, loaded.max_length)
        kept = [position for position, (start, end) in enumerate(spans) if end > start]  # no special tokens
        tested = scored_user_text(explanation, simulator, prepared, [spans[i] for i in kept], np.asarray(coded)[kept])
    show_simulated(tested.record, tested.simulated)
    st.caption(tested.verdict())
