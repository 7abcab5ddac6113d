"""The Neuron explanations page's computations: the corpus pass (records of every neuron, a child job the page
follows, see :mod:`components.corpus_pass`), one neuron explained by the baseline or a language-model endpoint, a
whole layer by the baseline, and the neurons most active on a token of the sidebar text. Endpoint answers are
cached by endpoint (never by key) and prompt inputs, so a rerun costs nothing; every result is saved to the
records' table of explained neurons outside the caches, on every run (saving the same row again changes nothing).

The endpoint comes from the deployer: ``st.secrets["llm"]`` (``base_url``, ``model``, ``api_key``) or the
environment (``XRAY_LLM_BASE_URL``, ``XRAY_LLM_MODEL``, ``XRAY_LLM_API_KEY`` or ``OPENAI_API_KEY``). A key typed on
the page (outside public mode, or where the deployer allows it) lives in the session only; no key is ever read
from the URL, shown, logged or downloaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import numpy as np
import pandas as pd
import streamlit as st

from components.corpus_pass import CorpusPass, forget_saved_corpus, run_pass, saved_corpus
from components.deploy import endpoint_settings, is_public, user_keys_allowed
from components.feedback import errors_shown_in, heavy_job, user_errors
from components.model import loaded_model
from components.page import folded
from components.run_marker import stop_page
from components.sidebar import Selection
from xray.cache import default_cache_root
from xray.corpora.corpus import Corpus
from xray.neurons.endpoint import Endpoint
from xray.neurons.records import (
    MAX_TOKENS,
    NeuronRecords,
    RecordsDamagedError,
    TextActivations,
    find_records,
    records_name,
    records_status,
    text_activations,
)
from xray.neurons.saved import save_explanations
from xray.rendering.highlight import highlight_legend, highlighted_text_html
from xray.rendering.neuron_charts import score_text, true_and_simulated
from xray.techniques.neuron_explanations import (
    TOP_EACH,
    UNIT_NAMES,
    BaselineExplainer,
    BaselineSimulator,
    EndpointExplainer,
    EndpointSimulator,
    LayerEstimate,
    NeuronExplanation,
    Record,
    estimate_layer,
    explain_layer,
    explain_neuron,
    neuron_records,
    shown_name,
)
from xray.translation import N_, _, number, translated

TIMED_NEURONS = 6
"""Neurons the baseline is timed on to estimate its cost per neuron over a whole layer."""


def corpus_records(selection: Selection, corpus: Corpus) -> NeuronRecords:
    """The records of every neuron of the sidebar model over ``corpus``: found on disk, else computed once by a
    child job (``python -m xray neurons``) that this page follows with progress and Cancel."""
    root = default_cache_root()

    def found() -> NeuronRecords | None:
        with user_errors(_("reading the MLP neurons")):
            try:
                return find_records(selection.model, corpus, root)
            except RecordsDamagedError as error:  # moved aside already: nothing is read from it
                offer_recompute(error)

    if found() is None:
        name = f"neurons-{records_name(selection.model, corpus, MAX_TOKENS)}"
        arguments = ["neurons", "--model", selection.model_name, "--table", str(saved_corpus(corpus, root, name))]
        job = CorpusPass(
            name=name,
            label=_("Reading every MLP neuron over {corpus} ({texts} texts) once; kept on disk").format(
                corpus=corpus.name, texts=number(len(corpus), 0)
            ),
            arguments=(*arguments, "--cache-dir", str(root), "--max-tokens", str(MAX_TOKENS)),
            log=root / "neurons" / f".{name}.log",
            status=lambda: records_status(selection.model, corpus, root),
            failure=_("The neuron records could not be computed"),
        )
        run_pass(job, found)
        forget_saved_corpus(root, name)
    return cached_records(selection.model_name, corpus.fingerprint, corpus)


def offer_recompute(error: RecordsDamagedError) -> NoReturn:
    """Say that the records were found damaged (and moved aside, so nothing was read from them), offer to compute
    them again, and stop the page. The records opened in this server are forgotten: none is read from a damaged
    file."""
    cached_records.clear()
    st.error(str(error), icon=":material/broken_image:")
    st.button(_("Compute the records again"), key="neurons.recompute", icon=":material/refresh:", type="primary")
    stop_page()


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_records(model_name: str, fingerprint: str, _corpus: Corpus) -> NeuronRecords:
    """The finished records of the model over the corpus (``fingerprint`` names it), opened once; ValueError while
    there are none (:func:`corpus_records` computes them)."""
    records = find_records(loaded_model(model_name), _corpus, default_cache_root())
    if records is None:
        raise ValueError(
            _("The neuron records of {corpus} are not computed yet: reload the page to compute them.").format(
                corpus=_corpus.name
            )
        )
    return records


def explained_neuron(
    model_name: str, corpus: Corpus, layer: int, neuron: int, endpoint: Endpoint | None = None
) -> NeuronExplanation:
    """One neuron explained, simulated and scored by the baseline (``endpoint`` None) or the endpoint, and saved
    to the records' table of explained neurons."""
    key = None if endpoint is None else endpoint.cache_key()
    result = _cached_explanation(model_name, corpus.fingerprint, layer, neuron, key, corpus, endpoint)
    save_explanations(cached_records(model_name, corpus.fingerprint, corpus).folder, [result.summary_row()])
    return result


@st.cache_data(show_spinner=False, max_entries=128)
def _cached_explanation(
    model_name: str,
    fingerprint: str,
    layer: int,
    neuron: int,
    endpoint_key: tuple | None,
    _corpus: Corpus,
    _endpoint: Endpoint | None,
) -> NeuronExplanation:
    records = cached_records(model_name, fingerprint, _corpus)
    record_set = neuron_records(loaded_model(model_name), records, layer, neuron)
    if _endpoint is None:
        return explain_neuron(record_set, BaselineExplainer(), BaselineSimulator())
    with st.spinner(_("Asking {endpoint} to explain and simulate the neuron…").format(endpoint=_endpoint.describe())):
        return explain_neuron(record_set, EndpointExplainer(_endpoint), EndpointSimulator(_endpoint))


def scored_layer(model_name: str, corpus: Corpus, layer: int) -> pd.DataFrame:
    """Every neuron of ``layer`` explained and scored by the baseline, with progress, and saved to the table."""
    rows = _cached_layer_scores(model_name, corpus.fingerprint, layer, corpus)
    save_explanations(cached_records(model_name, corpus.fingerprint, corpus).folder, rows.to_dict("records"))
    return rows


@st.cache_data(show_spinner=False, max_entries=16)
def _cached_layer_scores(model_name: str, fingerprint: str, layer: int, _corpus: Corpus) -> pd.DataFrame:
    with heavy_job(_("Explaining every neuron of layer {layer} with the baseline").format(layer=layer)) as progress:
        records = cached_records(model_name, fingerprint, _corpus)
        return explain_layer(
            loaded_model(model_name), records, layer, BaselineExplainer(), BaselineSimulator(), progress=progress
        )


@st.cache_data(show_spinner=False, max_entries=16)
def cached_layer_estimate(model_name: str, fingerprint: str, layer: int, _corpus: Corpus) -> LayerEstimate:
    """How long :func:`cached_layer_scores` should take on ``layer``: its fixed cost (the forward pass over the
    union of the neurons' record texts, timed on a sample of them) and its cost per neuron (timed on
    :data:`TIMED_NEURONS` neurons spread over the layer), see :func:`estimate_layer`; not saved."""
    records = cached_records(model_name, fingerprint, _corpus)
    with st.spinner(
        _("Timing the baseline on samples of layer {layer}, to estimate the whole layer…").format(layer=layer)
    ):
        estimate = estimate_layer(
            loaded_model(model_name),
            records,
            layer,
            BaselineExplainer(),
            BaselineSimulator(),
            timed_neurons=TIMED_NEURONS,
        )
    return estimate


@st.cache_data(show_spinner=False, max_entries=32)
def cached_sentence_neurons(model_name: str, text: str, layer: int) -> TextActivations:
    """Every neuron of ``layer`` on every non-special piece of ``text``: one forward pass, whichever token is
    picked."""
    return text_activations(loaded_model(model_name), [text], layer)


def activation_legend(unit: str) -> str:
    """The legend of :func:`activation_html`'s shading, for a ``unit`` ("neuron", "factor")."""
    return highlight_legend(_("activation (0-10, against the {unit}'s largest)").format(unit=_(UNIT_NAMES[unit])))


def activation_html(record: Record) -> str:
    """The record's text with each active token shaded by its activation (0-10); tokens at 0 stay plain. No legend:
    a list of records shows :func:`activation_legend` once."""
    spans = [
        (start, end, float(value) if value > 0 else None)
        for (start, end), value in zip(record.spans, record.normalised, strict=True)
    ]
    return highlighted_text_html(record.text, spans, against=None, legend=False)


BASELINE, LANGUAGE_MODEL = N_("Offline baseline"), N_("Language model (OpenAI-compatible endpoint)")
USER_KEY = "neurons.user_key"  # session state only: never bound to the URL


def endpoint_picker(key: str = "neurons.explainer") -> Endpoint | None:
    """The explainer choice (a control under ``key``); for a language model, its endpoint (public mode: the
    deployer's, fixed) or None while none is configured."""
    base_url, model_id, api_key = endpoint_settings()
    explainer = st.segmented_control(
        _("Explainer and simulator"), [BASELINE, LANGUAGE_MODEL], default=BASELINE, format_func=_, key=key
    )
    if explainer != LANGUAGE_MODEL:
        return None
    public = is_public()
    columns = st.columns(2)
    base_url = columns[0].text_input(_("Base URL"), base_url, placeholder="http://localhost:11434/v1", disabled=public)
    model_id = columns[1].text_input(_("Model"), model_id, placeholder="llama3.2", disabled=public)
    if user_keys_allowed():
        label = _("Your API key (kept for this session only)")
        api_key = st.text_input(label, type="password", key=USER_KEY) or api_key
    if public:
        served = _(
            "Any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, llama.cpp's server), as the deployer set it up."
        )
    else:
        served = _("Any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, llama.cpp's server).")
    key_state = _("An API key is configured; it is never shown.") if api_key else _("No API key is configured.")
    st.caption(f"{served} {key_state}")
    if not (base_url and model_id):
        st.info(_("No endpoint is configured: set its base URL and model to explain with a language model."))
        return None
    with user_errors(_("setting up the endpoint")):
        return Endpoint(base_url, model_id, api_key)


def explained_side_by_side(
    explain: Callable[[Endpoint | None], NeuronExplanation], endpoint: Endpoint | None, unit: str
) -> NeuronExplanation:
    """The baseline's explanation (``explain(None)``) and, with an endpoint, the language model's beside it, each
    with its scores and verdict. A language model's failure shows in its own column; the baseline's result stays.
    Returns the last one explained (the language model's where it answered). unit: "neuron", "factor"."""
    name = _(UNIT_NAMES[unit])
    with user_errors(_("explaining the {unit} with the baseline").format(unit=name)):
        results = [explain(None)]
    columns = st.columns(1 if endpoint is None else 2)
    if endpoint is not None:
        action = _("explaining the {unit} with {endpoint}").format(unit=name, endpoint=endpoint.describe())
        with columns[1], errors_shown_in(columns[1], action):
            results.append(explain(endpoint))
    for column, result in zip(columns, results, strict=False):
        column.markdown(f"**{shown_name(result.explainer)}**")
        lead = _("The main thing this {unit} does is find").format(unit=name)
        column.markdown(f"_{lead}_ {translated(result.explanation)}")
        metrics = column.columns(2)
        metrics[0].metric(_("Score (top and random)"), score_text(result.top_and_random.correlation))
        metrics[1].metric(_("Score (random only)"), score_text(result.random_only.correlation))
        column.caption(f"{translated(result.verdict(unit))} {translated(result.top_and_random.summary())}")
    return results[-1]


def show_records(result: NeuronExplanation, unit: str) -> None:
    """The texts ``result`` was explained from and samples across the unit's range (folded), then its scored texts'
    true and simulated activations."""
    name = _(UNIT_NAMES[unit])
    with st.expander(
        _("The texts the explanation was written from, and samples across the {unit}'s range").format(unit=name)
    ):
        st.html(activation_legend(unit))
        quantiles = _(
            "Texts at the 50th, 75th, 90th and 99th percentile of the {unit}'s largest activation per text"
        ).format(unit=name)
        for kind, caption, what in (
            ("explanation", _("Top texts shown to the explainer"), _("explanation texts")),
            ("quantile", quantiles, _("quantile texts")),
        ):
            st.caption(caption)
            folded(result.records.of_kind(kind), lambda record, _index: st.html(activation_html(record)), what)
    st.subheader(_("True and simulated activations"))
    st.caption(
        _(
            "Scored on {count} of the {unit}'s top 20 texts (ranks 3, 7, 11, 15 and 19) and {count} random ones "
            "({simulator}); the explanation was written from ranks 1, 5, 9, 13 and 17. The score correlates the "
            "simulation with the raw activations; here they are scaled 0-10 against the {unit}'s largest, {largest}."
        ).format(
            count=TOP_EACH, unit=name, simulator=shown_name(result.simulator), largest=number(result.max_activation, 3)
        )
    )
    st.html(activation_legend(unit))
    folded(
        result.scored[: 2 * TOP_EACH],
        lambda item, index: show_simulated(item.record, item.simulated, index),
        _("scored texts"),
    )


def show_simulated(record: Record, simulated: np.ndarray, index: int = 0) -> None:
    """A record shaded by its true activations, then its true and simulated activations as bars (the legend on the
    first of a list only)."""
    st.html(activation_html(record))
    chart = true_and_simulated(record.tokens, record.normalised, simulated, "", legend=index == 0)
    st.altair_chart(chart, width="stretch")
