"""The word-sense corpus shipped in the repo: its size, its spans, and the loader's checks."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from xray.corpora.corpus import Corpus
from xray.corpora.word_senses import WORD_SENSES_FILE, load_word_senses, senses_of

# a word's inflections that count as a second occurrence of it (bank, banks, banked, banking, lighter, ...)
SUFFIXES = r"(?:s|es|d|ed|ing|er|ers)?"


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_word_senses()


def test_file_has_exactly_the_documented_columns() -> None:
    assert list(pd.read_csv(WORD_SENSES_FILE).columns) == ["word", "sense", "text", "start", "end"]


def test_corpus_columns_and_label(corpus: Corpus) -> None:
    assert corpus.name == "Word senses"
    assert corpus.label_column == "sense_label"
    assert list(corpus.table.columns) == ["text", "word", "sense", "sense_label", "start", "end"]
    assert corpus.table["start"].dtype.kind == "i" and corpus.table["end"].dtype.kind == "i"
    expected = corpus.table["word"] + " (" + corpus.table["sense"] + ")"
    assert (corpus.table["sense_label"] == expected).all()
    assert corpus.description


def test_at_least_twenty_words_with_two_senses_of_eight_sentences(corpus: Corpus) -> None:
    per_sense = corpus.table.groupby(["word", "sense"]).size()
    senses_per_word = per_sense.groupby(level="word").size()
    assert len(senses_per_word) >= 20
    assert (senses_per_word >= 2).all()
    assert (per_sense >= 8).all()


def test_words_and_senses_are_short_lower_case_names(corpus: Corpus) -> None:
    assert corpus.table["word"].str.fullmatch(r"[a-z]+").all()
    assert corpus.table["sense"].str.fullmatch(r"[a-z]+( [a-z]+){0,2}").all()


def test_every_span_marks_a_whole_form_of_its_word(corpus: Corpus) -> None:
    for row in corpus.table.itertuples(index=False):
        span = row.text[row.start : row.end]
        assert span.lower().startswith(row.word), (span, row.text)
        assert row.start == 0 or not row.text[row.start - 1].isalnum(), row.text
        assert row.end == len(row.text) or not row.text[row.end].isalnum(), row.text


def test_one_occurrence_of_the_word_per_sentence(corpus: Corpus) -> None:
    for row in corpus.table.itertuples(index=False):
        hits = list(re.finditer(rf"\b{row.word}{SUFFIXES}\b", row.text, re.IGNORECASE))
        assert len(hits) == 1, row.text
        target = row.text[row.start : row.end]
        assert len(re.findall(rf"\b{re.escape(target)}\b", row.text, re.IGNORECASE)) == 1, row.text


def test_no_duplicate_texts(corpus: Corpus) -> None:
    texts = corpus.table["text"].str.strip().str.lower()
    assert not texts.duplicated().any(), texts[texts.duplicated()].tolist()


def test_sentences_are_eight_to_twenty_five_words(corpus: Corpus) -> None:
    counts = corpus.table["text"].str.split().str.len()
    assert counts.between(8, 25).all()


def test_senses_of_lists_sorted_labels(corpus: Corpus) -> None:
    assert senses_of(corpus, "bank") == ["bank (money)", "bank (river)"]
    assert senses_of(corpus, "no such word") == []


def test_fingerprint_is_stable_between_loads(corpus: Corpus) -> None:
    assert load_word_senses().fingerprint == corpus.fingerprint


def _copy(tmp_path: Path, table: pd.DataFrame) -> Path:
    path = tmp_path / "word_senses.csv"
    table.to_csv(path, index=False)
    return path


def test_loader_reads_an_explicit_path(tmp_path: Path) -> None:
    path = _copy(tmp_path, pd.read_csv(WORD_SENSES_FILE))
    assert load_word_senses(path).fingerprint == load_word_senses().fingerprint


def test_loader_rejects_a_shifted_span(tmp_path: Path) -> None:
    table = pd.read_csv(WORD_SENSES_FILE)
    table.loc[3, "start"] += 1
    with pytest.raises(ValueError, match="do not mark their word"):
        load_word_senses(_copy(tmp_path, table))


def test_loader_rejects_a_span_past_the_text(tmp_path: Path) -> None:
    table = pd.read_csv(WORD_SENSES_FILE)
    table.loc[0, ["start", "end"]] = [500, 504]
    with pytest.raises(ValueError, match="row 2"):
        load_word_senses(_copy(tmp_path, table))


def test_loader_rejects_a_thin_sense(tmp_path: Path) -> None:
    table = pd.read_csv(WORD_SENSES_FILE)
    river = table.index[(table["word"] == "bank") & (table["sense"] == "river")]
    with pytest.raises(ValueError, match=r"bank \(river\)"):
        load_word_senses(_copy(tmp_path, table.drop(river[:-3])))


def test_loader_rejects_a_word_with_one_sense(tmp_path: Path) -> None:
    table = pd.read_csv(WORD_SENSES_FILE)
    with pytest.raises(ValueError, match="at least 2 senses; only one for bat"):
        load_word_senses(_copy(tmp_path, table[~((table["word"] == "bat") & (table["sense"] == "sports"))]))


def test_loader_rejects_a_missing_column(tmp_path: Path) -> None:
    table = pd.read_csv(WORD_SENSES_FILE).drop(columns="end")
    with pytest.raises(ValueError, match="lacks the columns"):
        load_word_senses(_copy(tmp_path, table))
