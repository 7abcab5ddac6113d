"""Transformer factors (Yun et al. 2021): one dictionary for every layer, and which factors make up each token."""

from __future__ import annotations

import streamlit as st

from components.corpus import sense_words
from components.downloads import chart_with_downloads, download, download_row
from components.factor_dashboard import show_factor_dashboard
from components.factor_learning import learn_dictionary_panel
from components.factor_lime import cached_factor_lime, show_factor_lime
from components.factors import (
    FACTOR,
    cached_dictionary,
    cached_factor_table,
    cached_sense_factors,
    cached_sentence_factors,
    cached_top_contexts,
    context_store,
    factor_links,
)
from components.feedback import user_errors
from components.model import cached_focus_position
from components.navigation import PageInfo
from components.page import index_input, start_page
from xray.factors.corpus import CONTEXT_PIECES
from xray.factors.dictionary import band
from xray.factors.solver import FISTA_MAX_STEPS, FISTA_TOLERANCE
from xray.levels import level_name
from xray.models.loading import model_revision
from xray.rendering.corpus_charts import codes_heatmap, importance_line
from xray.rendering.tables import one_column_per_level

SHOWN_FACTORS = 16
PER_LEVEL = 3
LIME_SAMPLES = 1_000

PAGE = PageInfo(
    title="Transformer factors",
    icon="🧩",
    caption=(
        "Every hidden state, at every layer, written as a sparse non-negative mix of one shared dictionary of "
        "“transformer factors” (Yun, Chen, Olshausen & LeCun 2021). A factor whose importance peaks low tends to "
        "mark a word or its sense, in the middle a sentence pattern, high up a long-range relation."
    ),
    question=(
        "Which shared factors make up each token's hidden state, and at which layer does each factor matter? "
        "Dictionary learning over every layer, as in Yun et al. 2021."
    ),
)
selection = start_page(PAGE)
with user_errors("loading the factor dictionary"):
    dictionary = cached_dictionary(selection.model_name)
if dictionary is None:
    learn_dictionary_panel(selection)
if dictionary.revision != model_revision(selection.model):
    st.warning("This dictionary was learned on another revision of the model; its codes may not fit.", icon="⚠️")
quality = dictionary.quality
columns = st.columns(4)
columns[0].metric("Factors", f"{dictionary.factors:,}")
columns[1].metric(
    "Reconstruction error",
    f"{sum(quality.relative_error) / len(quality.relative_error):.0%}",
    help="‖x − cΦ‖ / ‖x‖ on held-out tokens, averaged over levels: "
    + ", ".join(f"{level_name(level)} {error:.0%}" for level, error in enumerate(quality.relative_error)),
)
columns[2].metric("Active factors per token", f"{quality.nonzeros:.1f}")
columns[3].metric("Dead factors", f"{quality.dead_share:.1%}", help="Factors active on no held-out token.")

level = selection.layer + 1
with user_errors("coding the sentence"), st.spinner("Coding every token at every layer…"):
    sentence = cached_sentence_factors(selection.model_name, selection.text, selection.text_b)
strongest = sentence.strongest(level, SHOWN_FACTORS)
st.subheader(f"The sentence's strongest factors at {level_name(level)}")
heatmap = codes_heatmap(sentence.codes[level], sentence.tokens, strongest, f"Codes at {level_name(level)}")
chart_with_downloads(heatmap, f"factor_codes {level_name(level)}", "factors.heatmap")
if sentence.steps is not None:
    st.caption(
        f"Codes by FISTA at step 1/L: each token stops once a step changes its objective by at most "
        f"{FISTA_TOLERANCE:.0e} of it (at most {FISTA_MAX_STEPS} steps). At {level_name(level)} this sentence took "
        f"{int(sentence.steps[level].min())} to {int(sentence.steps[level].max())} steps per token"
        + (f"; the held-out tokens {quality.steps:.0f} on average." if quality.steps is not None else ".")
    )

with user_errors("finding the focus token"):
    token = cached_focus_position(selection.model_name, selection.text, selection.focus)
st.subheader(f"The factors of the focus token {selection.focus_label}")
st.caption(
    f"The {PER_LEVEL} strongest factors of the piece '{sentence.tokens[token]}' at every level, with their codes; "
    "pick another word in the sidebar."
)
token_factors = sentence.token_factors(token, PER_LEVEL)
# A table only shown gets no element id from st.dataframe(key=...): the container carries the key tests select by.
with st.container(key="factors.focus_token"):
    st.dataframe(
        one_column_per_level(token_factors, lambda row: f"factor {row['factor']} ({row['code']:.2f})"), hide_index=True
    )
factor_links(list(dict.fromkeys(token_factors["factor"])))
focus_strongest = int(sentence.codes[level, token].argmax())

st.subheader("One factor through the layers")
factor = index_input(
    "Factor",
    dictionary.factors,
    focus_strongest,
    key=FACTOR,
    owner="this dictionary has",
    instead="the focus token's strongest factor",
    help=f"Opens on the focus token's strongest factor at {level_name(level)}.",
)
importance = dictionary.importance[:, factor]
peak = int(importance.argmax())
st.caption(
    f"Factor {factor} peaks at {level_name(peak)}: a {band(peak, len(importance))}-level factor. Importance is the "
    "mean of its 500 largest codes at each level on sampled corpus tokens."
)
line = importance_line(importance, factor, level)
chart_with_downloads(line, f"factor_{factor}_importance", "factors.importance")

contexts = dictionary.contexts
store = context_store(selection, contexts) if contexts is not None else None
if contexts is None:
    st.caption("This dictionary was saved without top contexts; learn it again with `python -m xray factors`.")
else:
    if store is None:
        st.info(
            f"The top contexts point into a store of {contexts.corpus} that is not here in the same form (another "
            "corpus file or another build); learn the dictionary again with `python -m xray factors` to see them."
        )
    else:
        st.caption(
            f"Where factor {factor} is strongest at {level_name(level)}: its top pieces among "
            f"{CONTEXT_PIECES:,} sampled from {contexts.corpus}, each in its sentence."
        )
        with user_errors("reading the top contexts"):
            top = cached_top_contexts(selection.model_name, store, factor, level)
        if top.empty:
            st.caption(f"No sampled piece uses factor {factor} at {level_name(level)}.")
        else:
            with st.container(key="factors.contexts"):
                st.dataframe(top[["code", "left", "piece", "right", "label"]], hide_index=True, width="stretch")
            chosen = st.selectbox(
                "Which words switch the factor on? Explain one context with LIME",
                range(len(top)),
                index=None,
                format_func=lambda row: (
                    f"{row + 1}. …{top['left'][row][-40:]}[{top['piece'][row]}]{top['right'][row][:40]}…"
                ),
                placeholder="Pick a context (a few seconds)",
                key=f"factors.lime.{factor}.{level}",
            )
            if chosen is not None:
                context = top.iloc[chosen]
                with user_errors("running LIME on the factor"):
                    explained = cached_factor_lime(
                        selection.model_name,
                        context["text"],
                        (int(context["start"]), int(context["end"])),
                        level,
                        factor,
                        LIME_SAMPLES,
                    )
                show_factor_lime(explained)


def sense_cell(row: dict, word: str) -> str:
    """``factor 404 (F 1.22; river 0.057, money 0.002)``: the factor, Fisher's ratio and its mean code per sense."""
    means = ", ".join(
        f"{name.removeprefix(f'mean {word} (').rstrip(')')} {value:.3f}"
        for name, value in row.items()
        if name.startswith("mean ")
    )
    return f"factor {row['factor']} (F {row['separation']:.2f}; {means})"


words = sense_words(store) if store is not None else []
if words:
    st.subheader("Factors that tell a word's senses apart")
    focus_word = selection.focus.text.lower()
    word = st.selectbox(
        "Word of the word-sense set",
        words,
        index=words.index(focus_word) if focus_word in words else words.index("bank") if "bank" in words else 0,
        key="factors.word",
        bind="query-params",
        help="Opens on the focus token where it is one of the set's words.",
    )
    with user_errors("comparing the senses"), st.spinner("Coding the word's sentences at every layer…"):
        senses = cached_sense_factors(selection.model_name, store, word)
    best = senses.loc[senses["separation"].idxmax()]
    st.caption(
        f"Per layer, the 3 factors whose codes on '{word}' differ most between its senses (Fisher's ratio: the "
        f"spread of the senses' mean codes over the spread within a sense). The best, factor {int(best['factor'])} "
        f"at {level_name(int(best['level']))}, scores {best['separation']:.2f}."
    )
    with st.container(key="factors.senses"):
        st.dataframe(one_column_per_level(senses, lambda row: sense_cell(row, word)), hide_index=True, width="stretch")

factor_table = cached_factor_table(selection.model_name, store)
with (
    st.expander("Every factor, by the level where it peaks, with its most frequent words there"),
    st.container(key="factors.every_factor"),
):
    st.dataframe(factor_table, hide_index=True, width="stretch")

with st.expander("Downloads"):
    row = download_row()
    download(
        "Codes (CSV)", lambda: sentence.table().to_csv(index=False), "factor_codes.csv", "text/csv", "factors.csv", row
    )
    download("Codes (JSON)", sentence.to_json, "factor_codes.json", "application/json", "factors.json", row)
    download("Factors (CSV)", dictionary.table().to_csv(index=False), "factors.csv", "text/csv", "factors.table", row)
    download("Dictionary (JSON)", dictionary.to_json, "dictionary.json", "application/json", "factors.dict", row)

# Last: the codes pass it may run (on request) never holds back the rest of the page.
show_factor_dashboard(selection, factor, level)
