"""Which language a text is in, and whether the model was trained on it.

A model trained on English alone still runs on a Turkish sentence: its tokenizer cuts every word into pieces, and
each page then explains what the model does with those pieces. That is noise a class should be told about, not read
in silence. The language is found by ``langdetect`` (Shuyo's port of Google's language-detection, seeded so the
same text always gets the same answer).
"""

from __future__ import annotations

from functools import cache, lru_cache

from xray.models.loading import KNOWN_MODELS
from xray.translation import N_, Message

ENGLISH_ONLY_MODELS = frozenset(KNOWN_MODELS)
"""The sidebar's models, each trained on English text only (their model cards: all-MiniLM-L6-v2 on English sentence
pairs, BERT and DistilBERT on BookCorpus and English Wikipedia, RoBERTa on English web text, GPT-2 on WebText, T5 on
C4, SST-2 on English film reviews). Of any other model the app cannot tell, and says nothing."""
MIN_CONFIDENCE = 0.9
MIN_LETTERS = 8
"""Shorter texts ("£1.5bn", "ok") are not given a language: langdetect guesses wildly on a few letters."""


@cache
def _seeded() -> None:
    from langdetect import DetectorFactory

    DetectorFactory.seed = 0  # langdetect samples n-grams at random: seeded, the same text gets the same language


@lru_cache(maxsize=256)
def text_language(text: str) -> str | None:
    """The ISO 639-1 code of ``text``'s language ("tr", "en"), or None where the text is too short or langdetect is
    not at least :data:`MIN_CONFIDENCE` sure. The first call loads langdetect's 55 language profiles (~0.4 s)."""
    from langdetect import detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    if sum(char.isalpha() for char in text) < MIN_LETTERS:
        return None
    _seeded()
    try:
        best = detect_langs(text)[0]
    except (LangDetectException, IndexError):
        return None
    return best.lang if best.prob >= MIN_CONFIDENCE else None


def model_language_notice(model_name: str, text: str) -> Message | None:
    """A notice where ``text`` is Turkish and ``model_name`` was trained on English only (None otherwise)."""
    if model_name not in ENGLISH_ONLY_MODELS or text_language(text) != "tr":
        return None
    return Message(
        N_(
            "This text looks Turkish, but {model} was trained on English text only: its tokenizer cuts Turkish words "
            "into pieces it never learned to read together, so what this page shows is mostly how an English model "
            "reacts to unfamiliar pieces. For Turkish, enter a multilingual model such as xlm-roberta-base under "
            "*Other* in the sidebar (it downloads from the hub)."
        ),
        model=model_name,
    )
