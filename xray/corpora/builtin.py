"""The corpora that ship with the app and work offline, by name.

The default, "Word senses + BBC News", puts the labelled word-sense sentences among BBC News sentences, so a
search for "bank" meets both senses and the newspaper's own banks; its ``label`` column holds a sense
("bank (river)") or a topic ("business"), and ``source`` says which set a text comes from.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pandas as pd

from xray.corpora.bbc_sentences import load_bbc_sentences
from xray.corpora.corpus import Corpus
from xray.corpora.word_senses import load_word_senses

SEARCH_CORPUS = "Word senses + BBC News"
LABEL = "label"
SOURCE = "source"


def load_search_corpus() -> Corpus:
    """Every word-sense sentence and the BBC News sample, with one ``label`` and one ``source`` column."""
    senses, news = load_word_senses(), load_bbc_sentences()
    table = pd.concat(
        [
            senses.table.assign(**{LABEL: senses.table[senses.label_column], SOURCE: "Word senses"}),
            news.table.assign(**{LABEL: news.table[news.label_column]}),
        ],
        ignore_index=True,
    )
    return Corpus(
        SEARCH_CORPUS,
        table,
        label_column=LABEL,
        description=f"{len(senses):,} word-sense sentences among {news.description}",
    )


BUILTIN_CORPORA: dict[str, Callable[[], Corpus]] = {
    SEARCH_CORPUS: load_search_corpus,
    "Word senses": load_word_senses,
    "BBC News sentences": load_bbc_sentences,
}


@cache
def load_builtin(name: str) -> Corpus:
    """The built-in corpus called ``name`` (read once per process)."""
    if name not in BUILTIN_CORPORA:
        raise ValueError(f"No built-in corpus is called {name!r}; pick one of {', '.join(BUILTIN_CORPORA)}.")
    return BUILTIN_CORPORA[name]()
