"""The focus token: the one word of the sidebar text that every page looks at, named the same everywhere.

Words are the text's whitespace-separated chunks that hold a letter or digit, numbered from 1 as a reader counts
them, with surrounding punctuation left out ("tired." is the word "tired"). A page that needs one word piece takes
the word's first piece (:func:`piece_of_word`), so *didn't* is read at *didn*. Each page labels the focus with
:func:`focus_label`, e.g. ``bank · word 6``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xray.corpora.linguistics import WordTags
from xray.translation import _

NOUNS = {"NOUN", "PROPN"}
_CHUNK = re.compile(r"\S+")


@dataclass(frozen=True)
class Word:
    """number: 1-based among the text's words; text: the word without surrounding punctuation; start, end: its
    character span [start, end) in the text."""

    number: int
    text: str
    start: int
    end: int


def text_words(text: str) -> list[Word]:
    """The words of ``text`` in order (see the module docstring); empty for empty or punctuation-only text."""
    words: list[Word] = []
    for chunk in _CHUNK.finditer(text):
        kept = [index for index, char in enumerate(chunk.group()) if char.isalnum()]
        if not kept:
            continue
        start, end = chunk.start() + kept[0], chunk.start() + kept[-1] + 1
        words.append(Word(len(words) + 1, text[start:end], start, end))
    return words


def focus_label(word: Word) -> str:
    """The one name every page gives the focus: ``bank · word 6``, in the run's language (draw it; never keep it)."""
    return _("{word} · word {number}").format(word=word.text, number=word.number)


def word_numbered(words: Sequence[Word], number: int) -> Word:
    """Word ``number`` (1-based) of ``words``; ValueError saying which numbers exist."""
    if not 1 <= number <= len(words):
        raise ValueError(
            _("The text has words 1 to {count}; there is no word {number}.").format(count=len(words), number=number)
        )
    return words[number - 1]


def is_stop_word(word: Word) -> bool:
    return word.text.lower() in _stop_words()


@functools.cache
def _stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, imported on first use: importing scikit-learn takes 1.4 s on a cold
    server, and a teaching example's key word (the sidebar's default) never needs them."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


def default_focus(
    text: str, key_word: str | None = None, tagger: Callable[[str], Sequence[WordTags]] | None = None
) -> int | None:
    """The focus a page opens on, as a word number: the first occurrence of ``key_word`` (a teaching example's
    word), else the first noun that ``tagger`` (spaCy's tags of the text) finds and is not a stop word, else the
    first word that is not a stop word, else word 1; None for a text without words."""
    words = text_words(text)
    if not words:
        return None
    if key_word is not None:
        found = next((word for word in words if word.text.lower() == key_word.lower()), None)
        if found is not None:
            return found.number
    content = [word for word in words if not is_stop_word(word)]
    if tagger is not None:
        nouns = [(tag.start, tag.end) for tag in tagger(text) if tag.pos in NOUNS]
        noun = next((word for word in content if any(s < word.end and word.start < e for s, e in nouns)), None)
        if noun is not None:
            return noun.number
    return (content or words)[0].number


def piece_of_word(spans: Sequence[tuple[int, int]], word: Word, special: Sequence[bool] | None = None) -> int:
    """The index of the word's first piece among ``spans`` (each piece's character span in the text, as a fast
    tokenizer's offset mapping gives; special tokens have empty spans or are flagged in ``special``).

    Raises ValueError when no piece covers the word (the model's input was cut before it)."""
    for index, (start, end) in enumerate(spans):
        if special is not None and special[index]:
            continue
        if start < end and start < word.end and word.start < end:
            return index
    raise ValueError(
        _(
            "The model's input does not reach {focus}: the text is cut at the model's maximum length. Pick an "
            "earlier word."
        ).format(focus=focus_label(word))
    )
