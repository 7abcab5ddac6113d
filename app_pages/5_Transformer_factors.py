"""Transformer factors (Yun et al. 2021): one dictionary for every layer, and which factors make up each token."""

from __future__ import annotations

import pandas as pd
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
from xray.factors.dictionary import BAND_NAMES, band
from xray.factors.solver import FISTA_MAX_STEPS, FISTA_TOLERANCE
from xray.levels import level_name
from xray.models.loading import model_revision
from xray.rendering.corpus_charts import codes_heatmap, importance_line
from xray.rendering.tables import one_column_per_level
from xray.translation import _, number, percent, translated

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


def shown_columns(table: pd.DataFrame, levels: int) -> pd.DataFrame:
    """A table of :func:`one_column_per_level` over ``levels`` levels with its headers (the rank, the levels'
    names) in the run's language."""
    names = {level_name(level): translated(level_name(level)) for level in range(levels)}
    return table.rename(columns={"rank": _("rank"), **names})


selection = start_page(PAGE)
with user_errors(_("loading the factor dictionary")):
    dictionary = cached_dictionary(selection.model_name)
if dictionary is None:
    learn_dictionary_panel(selection)
if dictionary.revision != model_revision(selection.model):
    st.warning(_("This dictionary was learned on another revision of the model; its codes may not fit."), icon="⚠️")
quality = dictionary.quality
errors = ", ".join(
    f"{translated(level_name(level))} {percent(error)}" for level, error in enumerate(quality.relative_error)
)
columns = st.columns(4)
columns[0].metric(_("Factors"), number(dictionary.factors, 0))
columns[1].metric(
    _("Reconstruction error"),
    percent(sum(quality.relative_error) / len(quality.relative_error)),
    help=_("‖x − cΦ‖ / ‖x‖ on held-out tokens, averaged over levels: {errors}").format(errors=errors),
)
columns[2].metric(_("Active factors per token"), number(quality.nonzeros, 1))
columns[3].metric(_("Dead factors"), percent(quality.dead_share, 1), help=_("Factors active on no held-out token."))

level = selection.layer + 1
shown_level = translated(level_name(level))
with user_errors(_("coding the sentence")), st.spinner(_("Coding every token at every layer…")):
    sentence = cached_sentence_factors(selection.model_name, selection.text, selection.text_b)
strongest = sentence.strongest(level, SHOWN_FACTORS)
st.subheader(_("The sentence's strongest factors at {level}").format(level=shown_level))
heatmap = codes_heatmap(
    sentence.codes[level], sentence.tokens, strongest, _("Codes at {level}").format(level=shown_level)
)
chart_with_downloads(heatmap, f"factor_codes {level_name(level)}", "factors.heatmap")
if sentence.steps is not None:
    steps = {
        "tolerance": f"{FISTA_TOLERANCE:.0e}",
        "most": FISTA_MAX_STEPS,
        "level": shown_level,
        "fewest": int(sentence.steps[level].min()),
        "largest": int(sentence.steps[level].max()),
    }
    if quality.steps is None:
        fista = _(
            "Codes by FISTA at step 1/L: each token stops once a step changes its objective by at most {tolerance} "
            "of it (at most {most} steps). At {level} this sentence took {fewest} to {largest} steps per token."
        ).format(**steps)
    else:
        fista = _(
            "Codes by FISTA at step 1/L: each token stops once a step changes its objective by at most {tolerance} "
            "of it (at most {most} steps). At {level} this sentence took {fewest} to {largest} steps per token; the "
            "held-out tokens {held_out} on average."
        ).format(**steps, held_out=number(quality.steps, 0))
    st.caption(fista)

with user_errors(_("finding the focus token")):
    token = cached_focus_position(selection.model_name, selection.text, selection.focus)
st.subheader(_("The factors of the focus token {focus}").format(focus=selection.focus_label))
st.caption(
    _(
        "The {count} strongest factors of the piece '{piece}' at every level, with their codes; pick another word in "
        "the sidebar."
    ).format(count=PER_LEVEL, piece=sentence.tokens[token])
)
token_factors = sentence.token_factors(token, PER_LEVEL)
token_cell = _("factor {factor} ({code})")
# A table only shown gets no element id from st.dataframe(key=...): the container carries the key tests select by.
with st.container(key="factors.focus_token"):
    st.dataframe(
        shown_columns(
            one_column_per_level(
                token_factors, lambda row: token_cell.format(factor=row["factor"], code=number(row["code"]))
            ),
            len(dictionary.importance),
        ),
        hide_index=True,
    )
factor_links(list(dict.fromkeys(token_factors["factor"])))
focus_strongest = int(sentence.codes[level, token].argmax())

st.subheader(_("One factor through the layers"))
factor = index_input(
    _("Factor"),
    dictionary.factors,
    focus_strongest,
    key=FACTOR,
    stale=_(
        "Factor {value} does not exist: this dictionary has factors 0 to {last}. Showing the focus token's strongest "
        "factor instead."
    ),
    help=_("Opens on the focus token's strongest factor at {level}.").format(level=shown_level),
)
importance = dictionary.importance[:, factor]
peak = int(importance.argmax())
st.caption(
    _(
        "Factor {factor} peaks at {level}: a {band} factor. Importance is the mean of its 500 largest codes at each "
        "level on sampled corpus tokens."
    ).format(factor=factor, level=translated(level_name(peak)), band=_(BAND_NAMES[band(peak, len(importance))]))
)
line = importance_line(importance, factor, level)
chart_with_downloads(line, f"factor_{factor}_importance", "factors.importance")

contexts = dictionary.contexts
store = context_store(selection, contexts) if contexts is not None else None
if contexts is None:
    st.caption(_("This dictionary was saved without top contexts; learn it again with `python -m xray factors`."))
else:
    if store is None:
        st.info(
            _(
                "The top contexts point into a store of {corpus} that is not here in the same form (another corpus "
                "file or another build); learn the dictionary again with `python -m xray factors` to see them."
            ).format(corpus=contexts.corpus)
        )
    else:
        st.caption(
            _(
                "Where factor {factor} is strongest at {level}: its top pieces among {pieces} sampled from {corpus}, "
                "each in its sentence."
            ).format(factor=factor, level=shown_level, pieces=number(CONTEXT_PIECES, 0), corpus=contexts.corpus)
        )
        with user_errors(_("reading the top contexts")):
            top = cached_top_contexts(selection.model_name, store, factor, level)
        if top.empty:
            st.caption(_("No sampled piece uses factor {factor} at {level}.").format(factor=factor, level=shown_level))
        else:
            headers = {"code": _("code"), "left": _("left"), "piece": _("piece"), "right": _("right")}
            with st.container(key="factors.contexts"):
                st.dataframe(
                    top[[*headers, "label"]].rename(columns=headers | {"label": _("label")}),
                    hide_index=True,
                    width="stretch",
                )
            chosen = st.selectbox(
                _("Which words switch the factor on? Explain one context with LIME"),
                range(len(top)),
                index=None,
                format_func=lambda row: (
                    f"{row + 1}. …{top['left'][row][-40:]}[{top['piece'][row]}]{top['right'][row][:40]}…"
                ),
                placeholder=_("Pick a context (a few seconds)"),
                key=f"factors.lime.{factor}.{level}",
            )
            if chosen is not None:
                context = top.iloc[chosen]
                with user_errors(_("running LIME on the factor")):
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
        f"{name.removeprefix(f'mean {word} (').rstrip(')')} {number(value, 3)}"
        for name, value in row.items()
        if name.startswith("mean ")
    )
    return _("factor {factor} (F {separation}; {means})").format(
        factor=row["factor"], separation=number(row["separation"]), means=means
    )


words = sense_words(store) if store is not None else []
if words:
    st.subheader(_("Factors that tell a word's senses apart"))
    focus_word = selection.focus.text.lower()
    word = st.selectbox(
        _("Word of the word-sense set"),
        words,
        index=words.index(focus_word) if focus_word in words else words.index("bank") if "bank" in words else 0,
        key="factors.word",
        bind="query-params",
        help=_("Opens on the focus token where it is one of the set's words."),
    )
    with user_errors(_("comparing the senses")), st.spinner(_("Coding the word's sentences at every layer…")):
        senses = cached_sense_factors(selection.model_name, store, word)
    best = senses.loc[senses["separation"].idxmax()]
    st.caption(
        _(
            "Per layer, the 3 factors whose codes on '{word}' differ most between its senses (Fisher's ratio: the "
            "spread of the senses' mean codes over the spread within a sense). The best, factor {factor} at {level}, "
            "scores {separation}."
        ).format(
            word=word,
            factor=int(best["factor"]),
            level=translated(level_name(int(best["level"]))),
            separation=number(best["separation"]),
        )
    )
    with st.container(key="factors.senses"):
        st.dataframe(
            shown_columns(one_column_per_level(senses, lambda row: sense_cell(row, word)), len(dictionary.importance)),
            hide_index=True,
            width="stretch",
        )

factor_table = cached_factor_table(selection.model_name, store)
factor_headers = {
    "factor": _("factor"),
    "summary": _("summary"),
    "peak_level": _("peak level"),
    "band": _("band"),
    "peak_importance": _("peak importance"),
}
with (
    st.expander(_("Every factor, by the level where it peaks, with its most frequent words there")),
    st.container(key="factors.every_factor"),
):
    st.dataframe(
        factor_table.assign(band=factor_table["band"].map(lambda name: _(BAND_NAMES[name]))).rename(
            columns=factor_headers
        ),
        hide_index=True,
        width="stretch",
    )

with st.expander(_("Downloads")):
    row = download_row()
    download(
        _("Codes (CSV)"),
        lambda: sentence.table().to_csv(index=False),
        "factor_codes.csv",
        "text/csv",
        "factors.csv",
        row,
    )
    download(_("Codes (JSON)"), sentence.to_json, "factor_codes.json", "application/json", "factors.json", row)
    download(
        _("Factors (CSV)"), dictionary.table().to_csv(index=False), "factors.csv", "text/csv", "factors.table", row
    )
    download(_("Dictionary (JSON)"), dictionary.to_json, "dictionary.json", "application/json", "factors.dict", row)

# Last: the codes pass it may run (on request) never holds back the rest of the page.
show_factor_dashboard(selection, factor, level)
