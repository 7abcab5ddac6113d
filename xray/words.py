"""One word-level view of a text that every explanation method is aligned to.

A word is a maximal run of word characters (``\\w+``), as LIME splits text. Scores that a
method gives to spans of the text (SHAP's tokens, a tokenizer's sub-tokens, LIME's words) are
summed onto the words they overlap, so SHAP, LIME and attention can be ranked side by side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedTokenizerBase

_WORD = re.compile(r"\w+")

Span = tuple[int, int]


@dataclass(frozen=True)
class Word:
    """text[start:end] of the source text."""

    text: str
    start: int
    end: int


def split_words(text: str) -> list[Word]:
    """The words of ``text`` in order. Raises ValueError when it has none."""
    words = [Word(match.group(), match.start(), match.end()) for match in _WORD.finditer(text)]
    if not words:
        raise ValueError("The text has no words (only punctuation or symbols): type a sentence.")
    return words


def scores_on_words(words: Sequence[Word], spans: Sequence[Span], scores: np.ndarray) -> np.ndarray:
    """Sum each span's score onto every word it overlaps: (words,). Spans touching no word are dropped.

    spans: (start, end) character offsets, one per score; scores: (spans,).
    """
    if len(spans) != len(scores):
        raise ValueError(f"Got {len(spans)} spans for {len(scores)} scores.")
    totals = np.zeros(len(words))
    starts = np.array([word.start for word in words])
    ends = np.array([word.end for word in words])
    for (start, end), score in zip(spans, scores, strict=True):
        if end > start:
            totals[(starts < end) & (ends > start)] += score
    return totals


def locate_pieces(text: str, pieces: Sequence[str]) -> list[Span]:
    """Character spans of ``pieces`` that appear in order in ``text`` (e.g. shap's Text masker tokens).

    Leading/trailing whitespace and WordPiece's ``##`` are ignored when matching; a piece not
    found after the previous one (a special token, an unknown-token marker) gets an empty span.
    """
    spans: list[Span] = []
    cursor = 0
    for piece in pieces:
        needle = piece.strip().removeprefix("##")
        found = text.find(needle, cursor) if needle else -1
        if found < 0:
            spans.append((cursor, cursor))
            continue
        spans.append((found, found + len(needle)))
        cursor = found + len(needle)
    return spans


def token_spans(tokenizer: PreTrainedTokenizerBase, text: str, max_length: int) -> list[Span]:
    """Character offsets of every token the model reads (special tokens get empty spans), as the
    attention module tokenizes: with truncation to ``max_length``."""
    encoding = tokenizer(text, truncation=True, max_length=max_length, return_offsets_mapping=True)
    return [(int(start), int(end)) for start, end in encoding["offset_mapping"]]


def without_words(text: str, words: Sequence[Word], dropped: Iterable[int]) -> str:
    """``text`` with the given words (indices into ``words``) deleted and spaces tidied."""
    drop = set(dropped)
    pieces, cursor = [], 0
    for index, word in enumerate(words):
        if index in drop:
            pieces.append(text[cursor : word.start])
            cursor = word.end
    pieces.append(text[cursor:])
    return re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()


def only_words(words: Sequence[Word], kept: Iterable[int]) -> str:
    """Just the given words, in text order, joined by spaces."""
    keep = set(kept)
    return " ".join(word.text for index, word in enumerate(words) if index in keep)
