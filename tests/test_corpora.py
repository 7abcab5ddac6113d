"""The built-in corpora and the Corpus type: BBC News sentences, the combined default, validation."""

from __future__ import annotations

import pandas as pd
import pytest

from xray.corpora.bbc_sentences import load_bbc_sentences, split_sentences
from xray.corpora.builtin import SEARCH_CORPUS, load_builtin
from xray.corpora.corpus import Corpus


def test_an_articles_title_is_skipped_and_short_lines_dropped():
    article = "Title line here\n\nThe first sentence has enough words in it. Short one. The last one has enough too."

    assert split_sentences(article) == ["The first sentence has enough words in it.", "The last one has enough too."]


def test_bbc_sentences_are_distinct_labelled_and_marked_held_out():
    corpus = load_bbc_sentences(500)
    table = corpus.table

    assert len(corpus) == 500 and table["text"].is_unique and corpus.label_column == "topic"
    assert set(table["topic"]) == {"business", "entertainment", "politics", "sports", "tech"}
    assert table["article"].str.split("/").str[0].eq(table["topic"]).all()
    assert 0.7 < table["in_training"].mean() < 0.9  # the topic head trained on 80% of the articles
    assert load_bbc_sentences(500).fingerprint == corpus.fingerprint


def test_the_default_corpus_holds_both_sets_under_one_label_column():
    corpus = load_builtin(SEARCH_CORPUS)
    sources = corpus.table.groupby("source")["label"].unique()

    assert set(sources.index) == {"Word senses", "BBC News"} and corpus.label_column == "label"
    assert "bank (river)" in sources["Word senses"] and "sports" in sources["BBC News"]
    with pytest.raises(ValueError, match="No built-in corpus is called"):
        load_builtin("Wikipedia")


@pytest.mark.parametrize(
    ("table", "label", "message"),
    [
        (pd.DataFrame({"words": ["a"]}), None, "needs a 'text' column"),
        (pd.DataFrame({"text": []}), None, "has no texts"),
        (pd.DataFrame({"text": ["a", " "]}), None, "has empty texts"),
        (pd.DataFrame({"text": ["a"]}), "topic", "label column 'topic' is not in"),
    ],
)
def test_a_corpus_refuses_what_it_cannot_hold(table, label, message):
    with pytest.raises(ValueError, match=message):
        Corpus("bad", table, label_column=label)
