"""The Tokenizers page's cached computations and small widgets: the tokenizers it reads (the model's, other
models', a local folder's), the BBC News corpus, the three trained tokenizers, every tokenizer's measures on
held-out text, and the link to the Attention page.

Trained tokenizers are kept with ``st.cache_resource`` (shared, never mutated) and on disk under the cache root
(a retrain can differ, see :mod:`xray.tokenization.training`); results keyed by a tokenizer take
its fingerprint, a hash of its whole definition, so equal tokenizers share them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from components.deploy import current_policy, is_public
from components.downloads import download, download_row
from components.feedback import heavy_job
from components.model import cached_attention, loaded_model
from components.navigation import discover_pages
from components.sidebar import MODEL_CHOICES, OTHER_MODEL, Selection, selection_query
from xray.cache import default_cache_root
from xray.techniques.tokenizers import SplitWordAttention, segment_text, split_word_attention
from xray.tokenization.facts import TokenizerFacts, tokenizer_facts
from xray.tokenization.measures import HeldOutMeasures, TokenizerComparison, measure
from xray.tokenization.sources import TokenizerSource, folder_tokenizer, model_tokenizer, named_tokenizer
from xray.tokenization.training import (
    TrainedTokenizers,
    TrainingCorpus,
    bbc_corpus,
    curve_sizes,
    train_tokenizers,
)
from xray.translation import _, number, translated

ATTENTION_TITLE = "Attention"


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_model_tokenizer(model_name: str) -> TokenizerSource:
    return model_tokenizer(loaded_model(model_name))


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_named_tokenizer(name: str) -> TokenizerSource:
    return named_tokenizer(name)


@st.cache_resource(show_spinner=False, max_entries=1)
def cached_corpus() -> TrainingCorpus:
    """BBC News, one article in ten held out; its vocabulary limits are counted once, here."""
    corpus = bbc_corpus()
    _ = corpus.limits
    return corpus


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_training(vocab_size: int) -> TrainedTokenizers:
    corpus = cached_corpus()
    job = _("Training BPE, WordPiece and Unigram at {size} entries on {corpus}").format(
        size=number(vocab_size, 0), corpus=corpus.name
    )
    with heavy_job(job) as progress:
        return train_tokenizers(corpus, vocab_size, progress, root=default_cache_root())


@st.cache_data(show_spinner=False, max_entries=64)
def cached_measures(fingerprint: str, _source: TokenizerSource) -> HeldOutMeasures:
    """``_source`` measured on the held-out articles; ``fingerprint`` (its own) is the cache key."""
    return measure(_source, cached_corpus().held_out)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_facts(fingerprint: str, _source: TokenizerSource) -> TokenizerFacts:
    return tokenizer_facts(_source, cached_measures(fingerprint, _source))


def compare(sources: list[TokenizerSource]) -> TokenizerComparison:
    return TokenizerComparison(
        cached_corpus().name, tuple(cached_measures(source.fingerprint, source) for source in sources)
    )


@st.cache_data(show_spinner=False, max_entries=8)
def cached_curve(vocab_size: int) -> TokenizerComparison:
    """The three algorithms trained at :func:`curve_sizes` up to ``vocab_size`` and measured on held-out text. Each
    stage of the progress bar is the size it trains at, a number (no words to translate)."""
    sizes = curve_sizes(vocab_size, cached_corpus().limits.smallest)
    measures: list[HeldOutMeasures] = []
    with heavy_job(_("Training at each vocabulary size")) as progress:
        for done, size in enumerate(sizes):
            progress(done, len(sizes), number(size, 0))
            measures += [cached_measures(source.fingerprint, source) for source in cached_training(size).tokenizers]
    return TokenizerComparison(cached_corpus().name, tuple(measures))


def second_text(model_name: str, text_b: str | None) -> str | None:
    """The sidebar's second text where the model reads it as the second of a pair; an encoder-decoder's second text
    is its decoder's input, which its encoder never reads."""
    return text_b if loaded_model(model_name).family != "encoder-decoder" else None


@st.cache_data(show_spinner=False, max_entries=32)
def cached_split_attention(model_name: str, text: str, text_b: str | None) -> SplitWordAttention:
    """How the pieces of each split word attend to each other, from the Attention page's own run."""
    attention = cached_attention(model_name, text, text_b)
    segmentation = segment_text(cached_model_tokenizer(model_name), text, second_text(model_name, text_b))
    return split_word_attention(segmentation, attention.main.attentions)


def other_tokenizers(names: list[str], folder: str) -> list[TokenizerSource]:
    """Other models' tokenizers and a local folder's; each that cannot be read is left out with a warning that says
    why."""
    found = []
    for name in names:
        try:
            found.append(cached_named_tokenizer(name))
        except ValueError as error:
            st.warning(str(error), icon=":material/warning:")
    if folder.strip() and is_public():
        st.warning(_("This app runs in public mode and reads no folder of its server."), icon=":material/warning:")
    elif folder.strip():
        try:
            found.append(folder_tokenizer(folder))
        except ValueError as error:
            st.warning(str(error), icon=":material/warning:")
    return found


def comparable_models(selection: Selection) -> list[str]:
    """The sidebar's models (public mode: the allow-list) other than the loaded one, whose tokenizers can join the
    comparison."""
    policy = current_policy()
    choices = policy.allowed if policy is not None else MODEL_CHOICES
    return [name for name in choices if name not in {OTHER_MODEL, selection.model_name}]


def requested(label: str, key: str, value: int) -> int | None:
    """A button labelled ``label`` (translated) that starts a computation of a few seconds for ``value``: returns
    ``value`` in the run it is clicked, else the value of its last run that finished in this session (None before
    any).

    A run stopped before it finished (a setting changed, or Stop was pressed) leaves ``<key>.running`` behind;
    the next run says so. Call :func:`finished` once the computation is done.
    """
    clicked = st.button(label, key=f"{key}.button", type="primary")
    stopped = st.session_state.pop(f"{key}.running", None)
    if clicked:
        st.session_state[f"{key}.running"] = value
        return value
    if stopped is not None:
        st.info(
            _("The last run at {size} entries stopped before it finished. Click “{label}” to start it again.").format(
                size=number(stopped, 0), label=label
            ),
            icon=":material/info:",
        )
    return st.session_state.get(f"{key}.done")


def finished(key: str, value: int) -> None:
    st.session_state.pop(f"{key}.running", None)
    st.session_state[f"{key}.done"] = value


def attention_link(selection: Selection) -> None:
    """A link to the Attention page with the same model, layer, text and focus token in its URL."""
    path, info = next((path, info) for path, info in discover_pages() if info.title == ATTENTION_TITLE)
    st.page_link(
        st.Page(path, title=info.name, icon=info.icon),
        label=_("See every head's attention on this text on the Attention page"),
        icon=info.icon,
        query_params=selection_query(selection),
    )


def show_facts(facts: TokenizerFacts, key: str) -> None:
    """What kind of tokenizer it is, then its longest and most frequent entries side by side, with downloads."""
    st.markdown(facts.summary())
    st.caption(
        _("Special tokens: {tokens} · Pre-tokenisation: {steps}").format(
            tokens=" ".join(facts.special_tokens) or _("none"),
            steps="; ".join(map(translated, facts.pre_tokenisation)) or _("none"),
        )
    )
    longest, frequent = st.columns(2)
    longest.markdown(_("**Longest entries**"))
    longest.dataframe(shown(facts.longest), hide_index=True)
    frequent.markdown(_("**Most frequent entries on held-out BBC News**"))
    frequent.dataframe(shown(facts.most_frequent), hide_index=True)
    row = download_row()
    stem = f"vocabulary_{key}"
    entries = facts.table().to_csv(index=False)
    download(_("Entries (CSV)"), entries, f"{stem}.csv", "text/csv", f"{key}.facts_csv", row)
    download(_("Facts (JSON)"), facts.to_json, f"{stem}.json", "application/json", f"{key}.facts_json", row)


def shown(frame: pd.DataFrame, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``frame`` with its columns named in the run's language: by ``names`` (column -> shown name) where it names
    them, else translated (the code that made the table marked every other column's name for translation)."""
    names = names or {}
    return frame.rename(columns=lambda column: names.get(column) or _(column))
