"""Neuron explanations (Bills et al. 2023): explain an MLP neuron from its top texts, simulate it from the
explanation alone, and score the simulation; with the offline baseline or a language-model endpoint."""

from __future__ import annotations

import streamlit as st

from components.corpus import corpus_picker
from components.downloads import chart_with_downloads, download, download_row
from components.feedback import user_errors
from components.navigation import PageInfo
from components.neuron_explanations import (
    cached_layer_estimate,
    cached_sentence_neurons,
    corpus_records,
    endpoint_picker,
    explained_neuron,
    explained_side_by_side,
    scored_layer,
    show_records,
)
from components.page import index_input, start_page, value_links
from xray.focus import piece_of_word
from xray.neurons.records import MAX_TOKENS
from xray.neurons.saved import saved_explanations
from xray.rendering.neuron_charts import left_out, score_histogram
from xray.techniques.neuron_explanations import BaselineExplainer, most_active_neurons, shown_name
from xray.translation import _, number

NEURON = "neurons.neuron"
SHOWN_NEURONS = 8

PAGE = PageInfo(
    title="Neuron explanations",
    icon="💡",
    caption=(
        "Explain an MLP neuron from the texts that make it fire, simulate its activations from the explanation "
        "alone, and score the simulation against the truth (Bills et al. 2023). The offline baseline shows what "
        "an explanation can do without a language model; an endpoint shows what one adds."
    ),
    question="What does this MLP neuron look for, and how well does an explanation predict it? (Bills et al. 2023)",
)

selection = start_page(PAGE)
corpus = corpus_picker()
records = corpus_records(selection, corpus)
manifest = records.manifest
layer = selection.layer
st.caption(
    _(
        "{layers} layers × {neurons} neurons, read over {tokens} word pieces of {texts} texts of {corpus} (each "
        "text's first {max_tokens} pieces). Showing layer {layer} (the sidebar layer)."
    ).format(
        layers=manifest.layers,
        neurons=number(manifest.neurons, 0),
        tokens=number(manifest.tokens, 0),
        texts=number(manifest.texts, 0),
        corpus=manifest.corpus_name,
        max_tokens=manifest.max_tokens,
        layer=layer,
    )
)

with user_errors(_("reading the sentence's neurons")):
    sentence = cached_sentence_neurons(selection.model_name, selection.text, layer)
try:
    token = piece_of_word(sentence.spans[0], selection.focus)
except ValueError:  # past the pieces the records read of each text
    token = None
if token is None:
    st.info(
        _(
            "The focus token {focus} lies past the first {count} pieces of your text, which is all this page reads "
            "of it; pick an earlier word to see the neurons most active on it."
        ).format(focus=selection.focus_label, count=MAX_TOKENS),
        icon=":material/info:",
    )
    strongest = 0
else:
    active = most_active_neurons(sentence.activations[0][token], SHOWN_NEURONS)
    strongest = int(active["neuron"].iloc[0])
    expander = _("The neurons of layer {layer} most active on the focus token {focus}")
    with st.expander(expander.format(layer=layer, focus=selection.focus_label)):
        st.caption(
            _("On the piece '{piece}' of your sentence; pick another word in the sidebar.").format(
                piece=sentence.tokens[0][token]
            )
        )
        st.dataframe(active, hide_index=True, column_config={"neuron": _("neuron"), "activation": _("activation")})
        value_links(_("Explain one of them"), active["neuron"].tolist(), _("neuron"), key="neurons.open", target=NEURON)

neuron = index_input(
    _("Neuron"),
    manifest.neurons,
    strongest,
    key=NEURON,
    stale=_(
        "Neuron {value} does not exist: layers have neurons 0 to {last}. Showing the focus token's most active neuron "
        "instead."
    ),
    help=_("Opens on the neuron most active on {focus} at layer {layer} (where the page reads it).").format(
        focus=selection.focus_label, layer=layer
    ),
)
endpoint = endpoint_picker()

shown = explained_side_by_side(
    lambda chosen: explained_neuron(selection.model_name, corpus, layer, neuron, chosen), endpoint, "neuron"
)
show_records(shown, "neuron")

st.subheader(_("Every neuron of layer {layer}").format(layer=layer))
saved = saved_explanations(records.folder)
baseline_rows = saved[(saved["layer"] == layer) & (saved["explainer"] == BaselineExplainer().name)]
if len(baseline_rows) < manifest.neurons:
    with user_errors(_("timing the baseline")):
        estimate = cached_layer_estimate(selection.model_name, corpus.fingerprint, layer, corpus)
    st.caption(_("Scoring the whole layer takes {estimate}.").format(estimate=estimate.summary()))
if len(baseline_rows) < manifest.neurons and st.button(
    _("Score every neuron of layer {layer} with the baseline (about {seconds} s)").format(
        layer=layer, seconds=number(estimate.seconds, 0)
    ),
    key="neurons.layer",
):
    with user_errors(_("explaining the layer")):
        scored_layer(selection.model_name, corpus, layer)
    saved = saved_explanations(records.folder)
histogram = score_histogram(saved, layer)
caption = _(
    "{left_out} of the {scores} scores of layer {layer} are left out of the histogram: they are undefined (the neuron "
    "never activates, or the true or simulated activations are constant on the scored texts, so there is nothing to "
    "correlate)."
).format(
    left_out=number(left_out(saved, layer), 0), scores=number(int((saved["layer"] == layer).sum()), 0), layer=layer
)
chart_with_downloads(histogram, f"neuron_scores_layer{layer}", "neurons.histogram", caption=caption)

headers = {  # the table's columns, and its CSV's, stay as the table saves them
    "layer": _("layer"),
    "neuron": _("neuron"),
    "explanation": _("explanation"),
    "explainer": _("explainer"),
    "simulator": _("simulator"),
    "top_and_random": _("top and random"),
    "random_only": _("random only"),
    "explained_variance_centred": _("explained variance (centred)"),
    "r_squared_uncentred": _("r² (uncentred)"),
    "max_activation": _("largest activation"),
}
with st.expander(_("Every neuron explained so far, and downloads")):
    names = {column: saved[column].map(shown_name) for column in ("explainer", "simulator")}
    st.dataframe(saved.assign(**names), hide_index=True, width="stretch", column_config=headers)
    row = download_row()
    download(_("Table (CSV)"), saved.to_csv(index=False), "neuron_explanations.csv", "text/csv", "neurons.csv", row)
    download(
        _("This neuron (JSON)"), shown.to_json, f"neuron_{layer}_{neuron}.json", "application/json", "neurons.json", row
    )
