"""The built-in corpora's spaCy tags that ship with the package, and how a store build uses them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xray.store.builder as builder
from xray.corpora import shipped_tags
from xray.corpora.builtin import BUILTIN_CORPORA, load_builtin
from xray.corpora.corpus import Corpus
from xray.corpora.linguistics import WordTags
from xray.corpora.shipped_tags import SHIPPED_TAGS, known_tags, text_digest, write_shipped_tags


def tiny_corpus() -> Corpus:
    return Corpus("tiny", pd.DataFrame({"text": ["she sat on the bank", "the bank sent a letter", "hello world"]}))


def _fake_tags(texts, **_):
    """One word per text, tagged from its length, so a test can tell which texts were tagged afresh."""
    return [[WordTags(0, len(text), "X", f"d{len(text)}")] for text in texts]


def test_written_tags_are_read_back_by_exact_text(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped_tags, "tag_texts", _fake_tags)
    path = tmp_path / "tags.parquet"
    assert write_shipped_tags(["a bank", "the river", "a bank"], path) == 2
    found = known_tags(["the river", "A bank", "a bank"], path)
    assert found[0] == [WordTags(0, 9, "X", "d9")] and found[2] == [WordTags(0, 6, "X", "d6")]
    assert found[1] is None  # another text, even by one letter
    assert text_digest("a bank") != text_digest("A bank")


def test_tags_of_another_spacy_pipeline_are_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped_tags, "tag_texts", _fake_tags)
    path = tmp_path / "tags.parquet"
    write_shipped_tags(["a bank"], path)
    monkeypatch.setattr(shipped_tags, "PIPELINE_PACKAGE", "en-core-web-sm==9.9.9")
    shipped_tags._shipped.cache_clear()
    try:
        assert known_tags(["a bank"], path) == [None]
    finally:
        shipped_tags._shipped.cache_clear()


def test_a_build_tags_only_the_texts_the_package_does_not_ship(tmp_path, monkeypatch):
    corpus = tiny_corpus()
    shipped = {corpus.texts[0]: [WordTags(0, 3, "NOUN", "nsubj", "ORG")]}
    monkeypatch.setattr(builder, "known_tags", lambda texts: [shipped.get(text) for text in texts])
    asked = []
    monkeypatch.setattr(builder, "tag_texts", lambda texts, **options: asked.extend(texts) or _fake_tags(texts))
    tagged = builder.corpus_tags(corpus, tmp_path)
    assert asked == corpus.texts[1:]
    assert tagged[0] == shipped[corpus.texts[0]] and tagged[1] == _fake_tags([corpus.texts[1]])[0]


def test_a_corpus_the_package_ships_whole_is_never_tagged(tmp_path, monkeypatch):
    corpus = tiny_corpus()
    monkeypatch.setattr(builder, "known_tags", lambda texts: _fake_tags(texts))
    monkeypatch.setattr(builder, "tag_texts", lambda *_, **__: pytest.fail("spaCy ran on shipped texts"))
    assert builder.corpus_tags(corpus, tmp_path) == _fake_tags(corpus.texts)
    assert not list(tmp_path.iterdir())  # nothing to keep on disk either


@pytest.mark.integration
def test_the_shipped_file_holds_every_built_in_text_as_spacy_tags_it_today():
    from xray.corpora.linguistics import tag_texts

    texts = sorted({text for name in BUILTIN_CORPORA for text in load_builtin(name).texts})
    shipped = known_tags(texts)
    assert SHIPPED_TAGS.is_file() and all(words is not None for words in shipped), "run: python -m xray tags"
    sample = np.random.default_rng(0).choice(len(texts), 60, replace=False)
    assert [shipped[i] for i in sample] == tag_texts([texts[i] for i in sample])
