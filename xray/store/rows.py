"""Stored word pieces as a reader sees them: each in its sentence (keyword in context), with its text's label
and its tags. Shared by the pages that list corpus pieces (neighbours, a factor's top contexts)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from xray.store.format import ActivationStore

LABEL = "label"
CONTEXT_CHARS = 50


def text_labels(store: ActivationStore, text_ids: np.ndarray) -> np.ndarray:
    """The label of each text in ``text_ids`` as a string ("" where the corpus has no labels)."""
    column = store.manifest.label_column
    if column is None:
        return np.full(len(text_ids), "", dtype=object)
    return store.texts[column].astype(str).to_numpy()[text_ids]


def describe_rows(store: ActivationStore, rows: np.ndarray) -> pd.DataFrame:
    """Stored pieces ``rows`` with their text, word, label and tags: row, text_id, left, piece, right, word, text,
    start, end, label, pos, dep, ent. left and right are up to CONTEXT_CHARS characters around the piece (keyword
    in context, as exBERT lists its matches)."""
    pieces = store.tokens.iloc[rows].reset_index(drop=True)
    texts = store.texts["text"].astype(str).to_numpy()[pieces["text_id"].to_numpy()]
    spans = list(zip(texts, pieces["start"].astype(int), pieces["end"].astype(int), strict=True))
    return pd.DataFrame(
        {
            "row": rows,
            "text_id": pieces["text_id"].to_numpy(),
            "left": [text[max(0, start - CONTEXT_CHARS) : start] for text, start, _ in spans],
            "piece": pieces["piece"].to_numpy(),
            "right": [text[end : end + CONTEXT_CHARS] for text, _, end in spans],
            "word": [_word_at(text, start) for text, start, _ in spans],
            "text": texts,
            "start": pieces["start"].to_numpy(),
            "end": pieces["end"].to_numpy(),
            LABEL: text_labels(store, pieces["text_id"].to_numpy()),
            **{column: pieces[column].to_numpy() for column in ("pos", "dep", "ent") if column in pieces},
        }
    )


_WORD = re.compile(r"\w+|[^\w\s]")


def _word_at(text: str, start: int) -> str:
    """The whole word around character ``start`` of ``text`` (a piece's word)."""
    for match in _WORD.finditer(text):
        if match.start() <= start < match.end():
            return match.group()
    return text[start : start + 1]
