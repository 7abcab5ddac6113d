"""Tokenizers: how the text becomes the tokens every other page shows, and BPE, WordPiece and Unigram trained on
BBC News to compare."""

from __future__ import annotations

import streamlit as st

from components.deploy import is_public
from components.downloads import chart_with_downloads, download, download_row
from components.feedback import show_notices, user_errors
from components.navigation import PageInfo
from components.page import start_page
from components.run_marker import stop_page
from components.tokenizer_turkish import show_turkish
from components.tokenizers import (
    attention_link,
    cached_corpus,
    cached_curve,
    cached_facts,
    cached_model_tokenizer,
    cached_split_attention,
    cached_training,
    comparable_models,
    compare,
    finished,
    other_tokenizers,
    requested,
    second_text,
    show_facts,
    shown,
)
from xray.rendering.export import file_stem
from xray.rendering.tokens import length_curve, measure_bars, segmentation_html, side_by_side_html
from xray.techniques.tokenizers import SPECIAL, parse_words, segment_text, word_pieces
from xray.text import isolate
from xray.tokenization.measures import TokenizerComparison
from xray.tokenization.sources import ORIGIN_NAMES
from xray.tokenization.training import ALGORITHMS
from xray.translation import _, n_, number

DEFAULT_VOCABULARY = 8_000
DEFAULT_WORDS = "unbelievably, Schwarzenegger, didn't, £1.5bn, tokenization"

PAGE = PageInfo(
    title="Tokenizers",
    icon="✂️",
    caption=(
        "Every page starts from tokens. A tokenizer normalises the text (lower-casing, accents, Unicode forms), cuts "
        "it into words, splits each word into pieces of its vocabulary and adds its special tokens: hover a piece "
        "to see its characters, or a word to see its pieces. Then train BPE, WordPiece and Unigram on BBC News and "
        "see how the algorithm and the vocabulary size change the pieces."
    ),
    question=(
        "How does the text become tokens? The model's pieces with their ids and characters, special and unknown "
        "tokens, normalisation and truncation; BPE, WordPiece and Unigram trained on BBC News and compared on "
        "tokens per word and unknown rate."
    ),
)

selection = start_page(PAGE)
with user_errors(_("reading the model's tokenizer")):
    model_source = cached_model_tokenizer(selection.model_name)
paired = second_text(selection.model_name, selection.text_b)
with user_errors(_("tokenizing the text")):
    segmentation = segment_text(model_source, selection.text, paired)
show_notices(segmentation.notices)
if selection.text_b and not paired:
    st.caption(_("The second text is this model's decoder input, which its encoder never reads: it is not shown here."))

st.subheader(_("How {model} reads the text").format(model=selection.model_name))
st.markdown(segmentation.summary())
focus = (selection.focus.start, selection.focus.end)
focus_pieces = [segmentation.pieces[index].token for index in segmentation.pieces_covering(*focus)]
st.html(segmentation_html(segmentation, "xray-tokens-model", focus))
if focus_pieces:
    read_as = n_(
        "The focus token **{focus}** (framed) is read as {count} piece: {pieces}.",
        "The focus token **{focus}** (framed) is read as {count} pieces: {pieces}.",
        len(focus_pieces),
    )
else:
    read_as = _("The focus token **{focus}** (framed) is read as no piece: the input is cut before it.")
st.caption(
    read_as.format(
        focus=selection.focus_label, count=number(len(focus_pieces), 0), pieces=" + ".join(map(isolate, focus_pieces))
    )
)
if segmentation.changes:
    before, after = st.columns(2)
    before.markdown(_("**Before normalisation**"))
    before.code("\n".join(segmentation.texts), language=None, wrap_lines=True)
    after.markdown(_("**After normalisation** (what the vocabulary sees)"))
    after.code("\n".join(segmentation.normalised), language=None, wrap_lines=True)
    changes = ", ".join(f"{isolate(word)} → {isolate(changed)}" for word, changed in segmentation.changes)
    st.caption(_("Changed words: {words}").format(words=changes))
if len(segmentation.texts) > 1:
    st.caption(
        _(
            "A sentence pair: both texts go in one input, separated by the tokenizer's special tokens, and each token "
            "carries a token type id (underlined) that tells the model which text it belongs to."
        )
    )
with st.expander(_("Every piece, and downloads")):
    pieces = segmentation.table()
    st.dataframe(shown(pieces.replace({"sentence": {SPECIAL: _(SPECIAL)}})), hide_index=True)
    row = download_row()
    download(_("Pieces (CSV)"), pieces.to_csv(index=False), "pieces.csv", "text/csv", "tokens.csv", row)
    download(_("Pieces (JSON)"), segmentation.to_json, "pieces.json", "application/json", "tokens.json", row)

st.subheader(_("What splitting a word does to the model"))
with user_errors(_("computing attention")), st.spinner(_("Running the model on the text…")):
    split = cached_split_attention(selection.model_name, selection.text, selection.text_b)
st.markdown(split.summary(selection.layer))
if split.words:
    layers = {f"layer {layer}": _("layer {layer}").format(layer=layer) for layer in range(split.within.shape[1])}
    st.dataframe(shown(split.table(), layers), hide_index=True)
    st.caption(
        _(
            "Each row: the share of its attention a piece gives the other pieces of its word, averaged over heads and "
            "pieces, at each layer; “if even” is that share were attention spread evenly over every token."
        )
    )
attention_link(selection)

st.subheader(_("About {model}'s tokenizer").format(model=selection.model_name))
with user_errors(_("reading the vocabulary")), st.spinner(_("Counting its tokens in held-out BBC News…")):
    show_facts(cached_facts(model_source.fingerprint, model_source), "model")

st.subheader(_("Train three tokenizers and compare"))
corpus = cached_corpus()
st.caption(
    _(
        "BPE, WordPiece and Unigram, trained on {training} {corpus} articles with the same normalisation (Unicode NFC, "
        "case kept) and the same cut into words, then measured on the {held_out} articles held out. Training takes a "
        "few seconds; changing a setting or pressing Stop (top right) stops it, and another click on Train starts it "
        "again."
    ).format(training=number(len(corpus.training), 0), corpus=corpus.name, held_out=number(len(corpus.held_out), 0))
)
columns = st.columns([1, 2, 2])
vocabulary = columns[0].number_input(
    _("Vocabulary size"),
    1,
    1_000_000,
    DEFAULT_VOCABULARY,
    step=1_000,
    key="tokenizers.vocabulary",
    bind="query-params",
    help=_("Between {smallest} (the alphabet) and {largest} (one entry per word).").format(
        smallest=number(corpus.limits.smallest, 0), largest=number(corpus.limits.largest, 0)
    ),
)
others = columns[1].multiselect(
    _("Also compare the tokenizer of"),
    comparable_models(selection),
    key="tokenizers.models",
    placeholder=_("Pick models…"),
    help=_("Only the tokenizer is loaded. Hub models need internet; the embedded model works offline."),
)
folder = columns[2].text_input(
    _("…and of a local folder"),
    key="tokenizers.folder",
    placeholder=_("/path/to/a/model/or/tokenizer"),
    help=_("A folder with tokenizer.json, or vocab.txt, or vocab.json and merges.txt, or spiece.model."),
    disabled=is_public(),
)
with user_errors(_("checking the vocabulary size")):
    corpus.limits.check(int(vocabulary))
train = _("Train three tokenizers")
size = requested(train, "tokenizers.training", int(vocabulary))
if size is None:
    st.info(_("Pick a vocabulary size and click “{label}”.").format(label=train), icon=":material/info:")
    show_turkish(model_source, [])
    stop_page()
with user_errors(_("training the tokenizers")):
    trained = cached_training(size)
finished("tokenizers.training", size)
if size != vocabulary:
    st.caption(
        _("Showing the tokenizers trained at {size} entries; click “{label}” for {vocabulary}.").format(
            size=number(size, 0), label=train, vocabulary=number(int(vocabulary), 0)
        )
    )
show_notices(trained.shortfalls())
if trained.reused:
    reused = _("Read from disk: trained at this size by an earlier run ({timings}).")
    st.caption(reused.format(timings=trained.timings()))
else:
    st.caption(
        _("Trained in {timings}; kept on disk, so a second run at this size, even after a restart, is instant.").format(
            timings=trained.timings()
        )
    )
st.caption(
    _(
        "Trained tokenizers are kept on disk by their settings, because a retrain can differ slightly: the "
        "`tokenizers` library breaks ties between equally frequent candidates in an order that changes from one "
        "process to the next (its trainer walks a hash map; huggingface/tokenizers#1794), so WordPiece and Unigram "
        "trained again on the same articles at the same size can keep a few different pieces."
    )
)
sources = [model_source, *trained.tokenizers, *other_tokenizers(others, folder)]

st.markdown(_("**The text, as each tokenizer cuts it**"))
with user_errors(_("tokenizing the text")):
    st.html(side_by_side_html([segment_text(source, selection.text, paired) for source in sources], "xray-tokens-all"))
words = st.text_input(_("Words to cut"), DEFAULT_WORDS, key="tokenizers.words", bind="query-params")
with user_errors(_("cutting the words")):
    st.dataframe(word_pieces(sources, parse_words(words)).rename(columns={"word": _("word")}), hide_index=True)

st.markdown(_("**On held-out {corpus}**").format(corpus=corpus.name))
with user_errors(_("measuring the tokenizers")), st.spinner(_("Tokenizing the held-out articles…")):
    comparison = compare(sources)
st.markdown("\n".join(f"- {verdict}" for verdict in comparison.verdicts()))
table = comparison.table()
origins = {origin: _(name) for origin, name in ORIGIN_NAMES.items()}
st.dataframe(shown(table.replace({"origin": origins})), hide_index=True)
chart = measure_bars(table)
chart_with_downloads(chart, file_stem("tokenizer_measures", corpus.name, f"vocabulary_{size}"), "tokenizers.bars")
row = download_row()
csv = table.to_csv(index=False)
download(_("Comparison (CSV)"), csv, "tokenizer_comparison.csv", "text/csv", "tokenizers.csv", row)
download(
    _("Comparison (JSON)"), comparison.to_json, "tokenizer_comparison.json", "application/json", "tokenizers.json", row
)
st.markdown(_("**Download a trained tokenizer** (`tokenizers.Tokenizer.from_file` and transformers read it)"))
row = download_row()
for source in trained.tokenizers:
    stem = source.name.replace(",", "").replace(" ", "_").lower()
    download(source.name, source.to_json, f"{stem}_tokenizer.json", "application/json", f"tokenizers.{stem}", row)

with st.expander(_("Vocabularies of the trained tokenizers")):
    algorithm = st.segmented_control(
        _("Tokenizer"), ALGORITHMS, default=ALGORITHMS[0], key="tokenizers.facts", required=True
    )
    chosen = trained.get(algorithm)
    show_facts(cached_facts(chosen.fingerprint, chosen), algorithm.lower())

st.markdown(_("**Sequence length against vocabulary size**"))
st.caption(
    _(
        "Trains the three again at halvings of the vocabulary size, then measures each on the held-out articles: "
        "about 15 s, most of it Unigram at the smaller sizes."
    )
)
curve_size = requested(_("Draw the curve"), "tokenizers.curve", size)
if curve_size is not None:
    with user_errors(_("training at each vocabulary size")):
        curve = cached_curve(curve_size)
    finished("tokenizers.curve", curve_size)
    references = tuple(measures for measures in comparison.measures if measures.origin != "trained")
    curve_table = TokenizerComparison(corpus.name, curve.measures + references).table()
    chart = length_curve(curve_table, corpus.name)
    stem = file_stem("sequence_length_by_vocabulary", corpus.name, f"up_to_{curve_size}")
    chart_with_downloads(chart, stem, "tokenizers.curve_chart")
    curve_csv = curve_table.to_csv(index=False)
    download(_("Curve (CSV)"), curve_csv, "tokenizer_curve.csv", "text/csv", "tokenizers.curve_csv")

show_turkish(model_source, list(trained.tokenizers))
