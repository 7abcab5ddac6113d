"""The Tokenizers page's Turkish section: the pieces of agglutinative words against their morphemes, and what each
normaliser does to the dotted and dotless i (see :mod:`xray.tokenization.turkish`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.downloads import download, download_row
from components.tokenizers import shown
from xray.tokenization.sources import TokenizerSource
from xray.tokenization.turkish import AGGLUTINATIVE_WORDS, dotted_i, morpheme_split
from xray.translation import N_, _

SPLIT_COLUMNS = {
    "word": N_("word"),
    "tokenizer": N_("tokenizer"),
    "pieces": N_("pieces"),
    "morphemes": N_("morphemes"),
    "matched": N_("suffix boundaries cut"),
    "morpheme_boundaries": N_("morpheme boundaries"),
    "piece_boundaries": N_("cuts"),
}
SCORE_COLUMNS = {
    "tokenizer": N_("tokenizer"),
    "piece_boundaries": N_("cuts"),
    "morpheme_boundaries": N_("morpheme boundaries"),
    "matched": N_("suffix boundaries cut"),
    "precision": N_("precision"),
    "recall": N_("recall"),
    "f1": N_("boundary F1"),
}
DOTTED_COLUMNS = {
    "word": N_("word"),
    "turkish": N_("as Turkish writes it"),
    "normalised": N_("after the normaliser"),
    "pieces": N_("pieces"),
    "as_turkish": N_("as Turkish"),
}


def _shown(table: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """``table``'s ``columns``, in that order, under their names in the run's language."""
    return shown(table[list(columns)], {name: _(label) for name, label in columns.items()})


def show_turkish(model: TokenizerSource, trained: list[TokenizerSource]) -> None:
    """The section, for the model's tokenizer and the ones trained on the page (none before the user trains)."""
    st.subheader(_("Turkish: suffixes and the dotted i"))
    st.caption(
        _(
            "Turkish builds a word by chaining suffixes to a stem: *ev-ler-imiz-den* is “from our houses”. A "
            "tokenizer made for Turkish would cut where the suffixes begin; these were made for English. Below, "
            "each tokenizer's pieces of four Turkish words are set against the morphemes a grammar book gives."
        )
    )
    sources = [model, *trained]
    split = morpheme_split(sources)
    st.markdown(split.verdict())
    glosses = ", ".join(f"*{word.word}*: {_(word.gloss)}" for word in AGGLUTINATIVE_WORDS)
    st.caption(glosses)
    st.dataframe(_shown(split.table(), SPLIT_COLUMNS), hide_index=True)
    scores = split.scores()
    st.dataframe(_shown(scores, SCORE_COLUMNS), hide_index=True)
    st.caption(
        _(
            "Boundary precision: the share of a tokenizer's cuts inside these words that fall where a morpheme "
            "begins; recall: the share of morpheme boundaries it cuts at; F1 their harmonic mean, as the Morpho "
            "Challenge scores a segmentation. Cutting every letter apart would reach recall 1 with a low precision."
        )
    )
    row = download_row()
    download(
        _("Pieces and morphemes (CSV)"),
        split.table().to_csv(index=False),
        "turkish_pieces_and_morphemes.csv",
        "text/csv",
        "tokenizers.turkish_split_csv",
        row,
    )
    download(
        _("Boundary scores (CSV)"),
        scores.to_csv(index=False),
        "turkish_boundary_scores.csv",
        "text/csv",
        "tokenizers.turkish_scores_csv",
        row,
    )

    st.markdown(_("**The dotted and dotless i**"))
    st.caption(
        _(
            "Turkish has two i's, each with its own capital: ı and I, i and İ. Lower-casing as English does turns I "
            "into i, where Turkish writes ı; an uncased normaliser then takes the marks off ç, ğ, ö, ş and ü as if "
            "they were accents."
        )
    )
    checks = [dotted_i(source) for source in sources]
    st.markdown("\n".join(f"- {check.verdict()}" for check in checks))
    st.dataframe(_shown(checks[0].table(), DOTTED_COLUMNS), hide_index=True)
    st.caption(_("The table is the model's tokenizer ({name}).").format(name=model.name))
    download(
        _("Dotted and dotless i (CSV)"),
        checks[0].table().to_csv(index=False),
        "dotted_and_dotless_i.csv",
        "text/csv",
        "tokenizers.dotted_i_csv",
    )
