"""How a tokenizer splits held-out text: fertility (tokens per word), the share of words split into several pieces,
the unknown rate and the sequence length, the same way for every tokenizer.

A word is what a reader would count as one, whatever the tokenizer: a run of letters and digits with any inner
apostrophes (``didn't``, ``O'Neill``) or one punctuation mark. A token belongs to every word its characters
overlap; special tokens ([CLS], [SEP], ...) are not counted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tokenizers import Encoding

from xray.results import json_text
from xray.tokenization.sources import TokenizerSource, algorithm
from xray.translation import N_, _, number, percent

WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def word_spans(text: str) -> np.ndarray:
    """(words, 2) start and end character of each word of ``text``, in order."""
    return np.array([match.span() for match in WORD.finditer(text)], dtype=np.int64).reshape(-1, 2)


def pieces_per_word(words: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """(words,) how many tokens overlap each word.

    words: (words, 2) and tokens: (tokens, 2) character spans, each in text order; empty token spans overlap nothing.
    """
    tokens = tokens[tokens[:, 1] > tokens[:, 0]]
    starting_before_end = np.searchsorted(np.sort(tokens[:, 0]), words[:, 1], side="left")
    ending_before_start = np.searchsorted(np.sort(tokens[:, 1]), words[:, 0], side="right")
    return starting_before_end - ending_before_start


def content_spans(encoding: Encoding) -> np.ndarray:
    """(tokens, 2) character spans of the tokens that are not special tokens."""
    kept = [
        offset for offset, special in zip(encoding.offsets, encoding.special_tokens_mask, strict=True) if not special
    ]
    return np.array(kept, dtype=np.int64).reshape(-1, 2)


@dataclass(frozen=True)
class HeldOutMeasures:
    """One tokenizer on held-out texts, special tokens left out; texts are not truncated.

    texts, words, tokens, split_words, unknown_tokens: counts over all the texts.
    token_counts: (vocabulary,) how often each token id occurs.
    """

    tokenizer: str
    origin: str
    algorithm: str
    vocab_size: int
    texts: int
    words: int
    tokens: int
    split_words: int
    unknown_tokens: int
    token_counts: np.ndarray

    @property
    def fertility(self) -> float:
        """Tokens per word: 1.0 when every word is one token."""
        return self.tokens / self.words

    @property
    def split_share(self) -> float:
        """Share of words cut into two or more tokens."""
        return self.split_words / self.words

    @property
    def unknown_rate(self) -> float:
        """Share of tokens that are the unknown token (text the vocabulary cannot spell)."""
        return self.unknown_tokens / self.tokens

    @property
    def tokens_per_text(self) -> float:
        """The mean sequence length, in tokens."""
        return self.tokens / self.texts

    def row(self) -> dict[str, object]:
        """The measures by column name (marked for translation: the page draws the names translated)."""
        return {
            N_("tokenizer"): self.tokenizer,
            N_("origin"): self.origin,
            N_("algorithm"): self.algorithm,
            N_("vocabulary size"): self.vocab_size,
            N_("tokens per word"): round(self.fertility, 4),
            N_("words split"): round(self.split_share, 4),
            N_("unknown rate"): round(self.unknown_rate, 6),
            N_("tokens per text"): round(self.tokens_per_text, 1),
        }


def measure(source: TokenizerSource, texts: Sequence[str]) -> HeldOutMeasures:
    """Encode ``texts`` whole with ``source`` and count. Raises ValueError when the texts hold no word."""
    encodings = source.tokenizer.encode_batch(list(texts), add_special_tokens=False)
    words = tokens = split = 0
    counts = np.zeros(source.vocab_size, dtype=np.int64)
    for text, encoding in zip(texts, encodings, strict=True):
        pieces = pieces_per_word(word_spans(text), content_spans(encoding))
        words += len(pieces)
        split += int((pieces > 1).sum())
        tokens += len(encoding.ids)
        np.add.at(counts, np.asarray(encoding.ids, dtype=np.int64), 1)
    if not words:
        raise ValueError(_("The held-out texts hold no words to measure a tokenizer on."))
    unknown = int(counts[source.unknown_id]) if source.unknown_id is not None else 0
    return HeldOutMeasures(
        source.name,
        source.origin,
        algorithm(source),
        source.vocab_size,
        len(texts),
        words,
        tokens,
        split,
        unknown,
        counts,
    )


@dataclass(frozen=True)
class TokenizerComparison:
    """Several tokenizers measured on the same held-out texts of ``corpus``."""

    corpus: str
    measures: tuple[HeldOutMeasures, ...]

    def __post_init__(self) -> None:
        if not self.measures:
            raise ValueError(_("Nothing to compare: measure at least one tokenizer."))

    def table(self) -> pd.DataFrame:
        """One row per tokenizer: origin, algorithm, vocabulary size, tokens per word, share of words split,
        unknown rate and tokens per text."""
        return pd.DataFrame([measures.row() for measures in self.measures])

    def verdicts(self) -> tuple[str, ...]:
        """Plain-language findings, in the run's language: which tokenizer cuts words least and most, which meets
        unknown text, and whether the sizes differ (a bigger vocabulary cuts less, so unequal sizes are an unequal
        match)."""
        ranked = sorted(self.measures, key=lambda measures: measures.fertility)
        fewest, most = ranked[0], ranked[-1]
        found = [
            _("Fewest tokens per word on held-out {corpus}: {tokenizer} ({fertility}, {share} of words split).").format(
                corpus=self.corpus,
                tokenizer=fewest.tokenizer,
                fertility=number(fewest.fertility),
                share=percent(fewest.split_share),
            )
        ]
        if len(ranked) > 1:
            found.append(
                _(
                    "Most: {tokenizer} ({fertility}, {share} of words split), so its sequences are {longer} longer."
                ).format(
                    tokenizer=most.tokenizer,
                    fertility=number(most.fertility),
                    share=percent(most.split_share),
                    longer=percent(most.tokens / fewest.tokens - 1),
                )
            )
        unknown = [measures for measures in self.measures if measures.unknown_tokens]
        found += [
            _("{tokenizer} reads {share} of the tokens as unknown: that text is lost to its model.").format(
                tokenizer=measures.tokenizer, share=percent(measures.unknown_rate, 3)
            )
            for measures in unknown
        ] or [_("No tokenizer met text it could not spell.")]
        if len({measures.vocab_size for measures in self.measures}) > 1:
            found.append(
                _(
                    "The vocabularies differ in size, and a larger one cuts fewer words: compare algorithms at one "
                    "size, or along the curve of sequence length against vocabulary size."
                )
            )
        return tuple(found)

    def to_json(self) -> str:
        return json_text(
            {"corpus": self.corpus, "verdicts": self.verdicts(), "tokenizers": self.table().to_dict(orient="records")}
        )
