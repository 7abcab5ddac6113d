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
from xray.techniques.neuron_explanations import BaselineExplainer, most_active_neurons

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
    f"{manifest.layers} layers × {manifest.neurons:,} neurons, read over {manifest.tokens:,} word pieces of "
    f"{manifest.texts:,} texts of {manifest.corpus_name} (each text's first {manifest.max_tokens} pieces). "
    f"Showing layer {layer} (the sidebar layer)."
)

with user_errors("reading the sentence's neurons"):
    sentence = cached_sentence_neurons(selection.model_name, selection.text, layer)
try:
    token = piece_of_word(sentence.spans[0], selection.focus)
except ValueError:  # past the pieces the records read of each text
    token = None
if token is None:
    st.info(
        f"The focus token {selection.focus_label} lies past the first {MAX_TOKENS} pieces of your text, which is all "
        "this page reads of it; pick an earlier word to see the neurons most active on it.",
        icon=":material/info:",
    )
    strongest = 0
else:
    active = most_active_neurons(sentence.activations[0][token], SHOWN_NEURONS)
    strongest = int(active["neuron"].iloc[0])
    with st.expander(f"The neurons of layer {layer} most active on the focus token {selection.focus_label}"):
        st.caption(f"On the piece '{sentence.tokens[0][token]}' of your sentence; pick another word in the sidebar.")
        st.dataframe(active, hide_index=True)
        value_links("Explain one of them", active["neuron"].tolist(), "neuron", key="neurons.open", target=NEURON)

neuron = index_input(
    "Neuron",
    manifest.neurons,
    strongest,
    key=NEURON,
    owner="layers have",
    instead="the focus token's most active neuron",
    help=f"Opens on the neuron most active on {selection.focus_label} at layer {layer} (where the page reads it).",
)
endpoint = endpoint_picker()

shown = explained_side_by_side(
    lambda chosen: explained_neuron(selection.model_name, corpus, layer, neuron, chosen), endpoint, "neuron"
)
show_records(shown, "neuron")

st.subheader(f"Every neuron of layer {layer}")
saved = saved_explanations(records.folder)
baseline_rows = saved[(saved["layer"] == layer) & (saved["explainer"] == BaselineExplainer().name)]
if len(baseline_rows) < manifest.neurons:
    with user_errors("timing the baseline"):
        estimate = cached_layer_estimate(selection.model_name, corpus.fingerprint, layer, corpus)
    st.caption(f"Scoring the whole layer takes {estimate.summary()}.")
if len(baseline_rows) < manifest.neurons and st.button(
    f"Score every neuron of layer {layer} with the baseline (about {estimate.seconds:,.0f} s)", key="neurons.layer"
):
    with user_errors("explaining the layer"):
        scored_layer(selection.model_name, corpus, layer)
    saved = saved_explanations(records.folder)
histogram = score_histogram(saved, layer)
caption = (
    f"{left_out(saved, layer):,} of the {int((saved['layer'] == layer).sum()):,} scores of layer {layer} are left out "
    "of the histogram: they are undefined (the neuron never activates, or the true or simulated activations are "
    "constant on the scored texts, so there is nothing to correlate)."
)
chart_with_downloads(histogram, f"neuron_scores_layer{layer}", "neurons.histogram", caption=caption)

with st.expander("Every neuron explained so far, and downloads"):
    st.dataframe(saved, hide_index=True, width="stretch")
    row = download_row()
    download("Table (CSV)", saved.to_csv(index=False), "neuron_explanations.csv", "text/csv", "neurons.csv", row)
    download(
        "This neuron (JSON)", shown.to_json, f"neuron_{layer}_{neuron}.json", "application/json", "neurons.json", row
    )
