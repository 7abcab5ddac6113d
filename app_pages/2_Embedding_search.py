"""Embedding search (exBERT): the corpus tokens the model treats most like a token of the sidebar text."""

from __future__ import annotations

import streamlit as st

from components.corpus import offer_sense_example, start_corpus_page
from components.downloads import chart_with_downloads, download, download_row
from components.embedding_search import cached_occurrences, cached_predictions, cached_token_search, cached_word_search
from components.feedback import user_errors
from components.model import cached_attention, cached_focus_position
from components.navigation import PageInfo
from components.run_marker import stop_page
from components.url_options import adopt_linked_option
from xray.levels import level_name
from xray.models.token_predictions import prediction_support
from xray.rendering.charts import token_bars
from xray.rendering.corpus_charts import count_bars, purity_lines
from xray.store.search import KIND_NAMES
from xray.techniques.embedding_search import NONE, SUMMARY_COLUMNS
from xray.translation import N_, _, number, percent, translated

BY_TOKEN, BY_WORD = N_("A token of the sidebar text"), N_("A word of the corpus")
SUMMARY_TITLES = {"pos": N_("Part of speech"), "dep": N_("Dependency"), "ent": N_("Entity"), "label": N_("Label")}
PURITY_LABELS = 6
SHOWN_COLUMNS = {
    "rank": N_("rank"),
    "cosine": N_("cosine"),
    "left": N_("left"),
    "piece": N_("piece"),
    "right": N_("right"),
    "label": N_("label"),
    "pos": N_("pos"),
    "dep": N_("dep"),
    "ent": N_("ent"),
}  # the neighbours' columns the page shows, and their headers
PREDICTION_COLUMNS = {"token": N_("token"), "probability": N_("probability")}

PAGE = PageInfo(
    title="Embedding search",
    icon="🔎",
    caption=(
        "Which tokens of a corpus does the model treat like this one, at this layer? The hidden state of the chosen "
        "token is compared (cosine) with every word piece of the corpus, at the sidebar layer; the lines below "
        "show, layer by layer, which labels its neighbours carry, so you can watch the model tell the senses of a "
        "word apart. As exBERT (Hoover et al. 2020), with the purity curve added."
    ),
    question=(
        "Which corpus tokens does the model treat like this one, layer by layer? exBERT's nearest neighbours with "
        "their part of speech, dependency and entity, and a curve of how pure the neighbourhood is at every layer."
    ),
)

page = start_corpus_page(PAGE)
selection, store, key, level = page.selection, page.store, page.key, page.level
manifest = store.manifest

controls = st.columns([2, 1])
adopt_linked_option("search.by", (BY_TOKEN, BY_WORD), _)
by = controls[0].segmented_control(
    _("Search by"),
    (BY_TOKEN, BY_WORD),
    default=BY_TOKEN,
    format_func=_,
    key="search.by",
    required=True,
    bind="query-params",
)
k = controls[1].slider(_("Neighbours (k)"), 5, 100, 20, step=5, key="search.k", bind="query-params")

attention = None
if by == BY_TOKEN:
    with user_errors(_("reading the sidebar text")):
        attention = cached_attention(selection.model_name, selection.text, selection.text_b)
    with user_errors(_("finding the focus token")):
        position = cached_focus_position(selection.model_name, selection.text, selection.focus)
    st.caption(
        _(
            "Searching from the sidebar's focus token **{focus}** (the piece '{piece}'); pick another word there."
        ).format(focus=selection.focus_label, piece=attention.tokens[position])
    )
    offer_sense_example(key, selection.focus.text)
    with user_errors(_("searching the corpus")), st.spinner(_("Searching every level…")):
        result = cached_token_search(selection.model_name, selection.text, selection.text_b, position, key, level, k)
else:
    word = st.text_input(_("Word"), "bank", key="search.word", bind="query-params").strip()
    with user_errors(_("looking for the word")):
        occurrences = cached_occurrences(key, word)
    if occurrences.empty:
        st.info(
            _("'{word}' does not occur in {corpus}; try another word.").format(word=word, corpus=manifest.corpus_name)
        )
        stop_page()
    contexts = {
        int(row): f"…{left[-40:]}«{found}»{text[start + len(found) :][:40]}… ({label})"
        for row, left, found, text, start, label in occurrences[
            ["row", "left", "word", "text", "start", "label"]
        ].itertuples(index=False)
    }
    st.caption(
        _("Pick one of the {count} places '{word}' occurs (up to 200 are listed).").format(
            count=number(len(occurrences), 0), word=word
        )
    )
    row = st.selectbox(_("Occurrence to search from"), list(contexts), format_func=contexts.get, key="search.row")
    with user_errors(_("searching the corpus")), st.spinner(_("Searching every level…")):
        result = cached_word_search(key, row, word, level, k)

if result.index_kind != "exact":
    compressed = _(
        "This level is held in a compressed ({kind}) index to save memory; it finds {share} of the exact top 10 "
        "(measured on 200 sample queries; a neighbour tied with the exact 10th counts). The purity curve uses "
        "exact search."
    ).format(kind=_(KIND_NAMES[result.index_kind]), share=percent(result.recall_at_10))
    if result.index_kind == "IVF-PQ":  # how its queries are answered: the lists visited, the exact re-ranking
        compressed += " " + translated(result.engine_note)
    st.caption(compressed)
else:
    st.caption(translated(result.engine_note))
st.info(result.verdict(PURITY_LABELS), icon=":material/insights:")

leading = result.leading_labels(PURITY_LABELS)
if leading:
    chart = purity_lines(result.purity, store.levels, level, leading, k)
    chart_with_downloads(chart, f"neighbourhood_purity {result.query} {level_name(level)} k{k}", "search.purity_chart")

st.subheader(_("The {k} nearest word pieces at {level}").format(k=k, level=translated(level_name(level))))
neighbours = result.neighbours[list(SHOWN_COLUMNS)]
st.dataframe(neighbours.rename(columns=lambda column: _(SHOWN_COLUMNS[column])), hide_index=True, width="stretch")

summaries = [column for column in SUMMARY_COLUMNS if (result.neighbours[column] != "").any()]
if summaries:
    columns = st.columns(2)  # two per row: four side by side clip their labels on a laptop screen
    for index, column in enumerate(summaries):
        counts = result.summary(column).replace({"value": {NONE: _(NONE)}})
        columns[index % 2].altair_chart(count_bars(counts, _(SUMMARY_TITLES[column])), width="content")
if not (store.tokens["pos"] != "").any():
    st.caption(_("This store was built without spaCy tags, so part of speech, dependency and entity are empty."))

if attention is not None:
    with st.expander(
        _("What '{token}' attends to at layer {layer}").format(token=result.query, layer=selection.layer),
        expanded=False,
    ):
        weights = attention.main.attentions[selection.layer, :, position].mean(axis=0)
        bars = token_bars(weights, attention.main.key_tokens, _("Attention averaged over heads"), _("weight"))
        chart_with_downloads(bars, f"attention_from {result.query} L{selection.layer}", "search.attention_chart")
    with st.expander(_("What the model predicts here"), expanded=False):
        reason = prediction_support(selection.model)
        if reason:
            st.info(reason, icon=":material/block:")
        else:
            with user_errors(_("predicting the token")):
                predictions = cached_predictions(selection.model_name, selection.text, position, 10)
            if predictions.kind == "next":
                st.caption(_("The model's top 10 tokens to follow '{token}'.").format(token=result.query))
            else:
                rank = predictions.rank_of_original
                found = (
                    _("it ranks '{token}' itself number {rank}").format(token=result.query, rank=rank)
                    if rank
                    else _("the original is not among them")
                )
                st.caption(
                    _("'{token}' masked: the model's top 10 tokens for the gap ({found}).").format(
                        token=result.query, found=found
                    )
                )
            shown = predictions.table().rename(columns=lambda column: _(PREDICTION_COLUMNS[column]))
            st.dataframe(shown, hide_index=True)

with st.expander(_("Downloads")):
    row = download_row()
    download(
        _("Neighbours (CSV)"),
        lambda: result.table().to_csv(index=False),
        "neighbours.csv",
        "text/csv",
        "search.csv",
        row,
    )
    download(
        _("Purity by level (CSV)"),
        lambda: result.purity.to_csv(index=False),
        "purity.csv",
        "text/csv",
        "search.purity",
        row,
    )
    download(_("Search (JSON)"), result.to_json, "search.json", "application/json", "search.json", row)
