"""Tokenizers: how a text becomes the tokens every other page shows.

:func:`segment_text` shows one tokenizer's reading of a text (or a sentence pair): each piece with its id, its
characters, whether it starts a word, special and unknown tokens, what the normaliser changed and what truncation
cut. :func:`split_word_attention` says how much the pieces of a split word attend to each other; :func:`word_pieces`
lines up how several tokenizers cut the same words. What kind a tokenizer is, training and held-out measures live
in :mod:`xray.tokenization`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tokenizers import Encoding

from xray.results import json_text
from xray.text import SECOND_TEXT, isolate, prepare_text
from xray.tokenization.measures import word_spans
from xray.tokenization.sources import TokenizerSource
from xray.translation import N_, Message, _, counted, n_, number, percent

SEQUENCE_NAMES = ("A", "B")
SPECIAL = N_("special")
"""The sentence of a special token in :meth:`Segmentation.table` (kept English there; drawn translated)."""


@dataclass(frozen=True)
class Piece:
    """One token.

    token: as the vocabulary writes it; id: its vocabulary id; sequence: 0 for the text, 1 for the second text,
    None for a special token the tokenizer added; start, end: its characters in that text (0, 0 when special);
    type_id: the token type (segment) id the model reads; word_start: True where it begins a word;
    unknown: it is the unknown token, standing for text the vocabulary cannot spell.
    """

    token: str
    id: int
    sequence: int | None
    start: int
    end: int
    type_id: int
    word_start: bool
    unknown: bool

    @property
    def special(self) -> bool:
        return self.sequence is None


@dataclass(frozen=True)
class TextWord:
    """A word of text ``sequence`` (see :data:`xray.tokenization.measures.WORD`) and the pieces it overlaps.

    positions: indices into :attr:`Segmentation.pieces` (cut pieces are not counted).
    """

    sequence: int
    text: str
    start: int
    end: int
    positions: tuple[int, ...]


@dataclass(frozen=True)
class Segmentation:
    """One tokenizer's reading of a text or a sentence pair.

    texts: (1 or 2,) the texts as read (control characters removed); normalised: (same,) after the normaliser.
    pieces: what the model reads, special tokens included, after truncation to ``max_length``.
    cut: pieces truncation removed, in text order. changes: (before, after) of each word the normaliser changed.
    notices: :class:`~xray.translation.Message` sentences for the reader (English; drawn translated).
    """

    tokenizer: str
    texts: tuple[str, ...]
    normalised: tuple[str, ...]
    pieces: tuple[Piece, ...]
    cut: tuple[Piece, ...]
    max_length: int | None
    changes: tuple[tuple[str, str], ...]
    notices: tuple[str, ...] = field(default=())

    @property
    def tokens(self) -> list[str]:
        return [piece.token for piece in self.pieces]

    @property
    def truncated(self) -> bool:
        return bool(self.cut)

    def pieces_covering(self, start: int, end: int, sequence: int = 0) -> list[int]:
        """The indices of the pieces of text ``sequence`` that overlap its characters [start, end), e.g. a word's."""
        return [
            index
            for index, piece in enumerate(self.pieces)
            if piece.sequence == sequence and piece.start < end and start < piece.end
        ]

    @property
    def special_tokens(self) -> list[str]:
        return [piece.token for piece in self.pieces if piece.special]

    @property
    def unknown_count(self) -> int:
        return sum(piece.unknown for piece in self.pieces)

    @property
    def words(self) -> list[TextWord]:
        """Every word of every text, in order, with the pieces it overlaps."""
        found = []
        for sequence, text in enumerate(self.texts):
            for start, end in word_spans(text).tolist():
                positions = tuple(
                    index
                    for index, piece in enumerate(self.pieces)
                    if piece.sequence == sequence and piece.start < end and piece.end > start
                )
                found.append(TextWord(sequence, text[start:end], start, end, positions))
        return found

    @property
    def split_words(self) -> list[TextWord]:
        """Words cut into two or more pieces."""
        return [word for word in self.words if len(word.positions) > 1]

    def pieces_of(self, word: TextWord) -> list[str]:
        return [self.pieces[index].token for index in word.positions]

    def summary(self) -> str:
        """One plain sentence in the run's language: tokens, words, split words (with examples), special and unknown
        tokens, truncation.

        Each word and piece quoted is a bidi isolate (:func:`isolate`), so right-to-left ones keep their order.
        """
        words, split = self.words, self.split_words
        examples = "; ".join(
            f"{isolate(word.text)} → {' '.join(isolate(piece) for piece in self.pieces_of(word))}" for word in split[:3]
        )
        split_part = n_("{count} word split into pieces", "{count} words split into pieces", len(split))
        special_part = _("{count} special tokens added").format(count=number(len(self.special_tokens), 0))
        cut_part = _(", {count} tokens cut at its maximum of {limit}") if self.truncated else ""
        return _(
            "{tokenizer} reads {tokens} tokens for {words} words, {split}, {special}, {unknown} unknown{cut}."
        ).format(
            tokenizer=self.tokenizer,
            tokens=number(len(self.pieces), 0),
            words=number(len(words), 0),
            split=split_part.format(count=number(len(split), 0)) + (f" ({examples})" if split else ""),
            special=special_part + (f" ({' '.join(self.special_tokens)})" if self.special_tokens else ""),
            unknown=number(self.unknown_count, 0),
            cut=cut_part.format(count=number(len(self.cut), 0), limit=number(self.max_length or 0, 0)),
        )

    def table(self) -> pd.DataFrame:
        """One row per piece the model reads, then the cut ones: position (None when cut), token, id, sentence
        (A, B or special), start, end, characters, type id, word start, unknown, cut (column names marked for
        translation)."""
        rows = [(index, piece) for index, piece in enumerate(self.pieces)] + [(None, piece) for piece in self.cut]
        frame = pd.DataFrame(
            [
                {
                    N_("position"): index,
                    N_("token"): piece.token,
                    N_("id"): piece.id,
                    N_("sentence"): SPECIAL if piece.special else SEQUENCE_NAMES[piece.sequence],
                    N_("start"): piece.start,
                    N_("end"): piece.end,
                    N_("characters"): "" if piece.special else self.texts[piece.sequence][piece.start : piece.end],
                    N_("type id"): piece.type_id,
                    N_("word start"): piece.word_start,
                    N_("unknown"): piece.unknown,
                    N_("cut"): index is None,
                }
                for index, piece in rows
            ]
        )
        return frame.astype({"position": "Int64"})

    def to_json(self) -> str:
        return json_text(
            {
                "tokenizer": self.tokenizer,
                "texts": self.texts,
                "normalised": self.normalised,
                "summary": self.summary(),
                "max_length": self.max_length,
                "pieces": json.loads(self.table().to_json(orient="records", force_ascii=False)),
            }
        )


def longest_first(first: int, second: int, budget: int) -> tuple[int, int]:
    """Tokens kept of two sequences of ``first`` and ``second`` tokens under ``budget``, as the tokenizers library
    (and so transformers) keeps them with ``truncation="longest_first"``: the longer is cut first, then both."""
    if first + second <= budget:
        return first, second
    shorter, longer = sorted((first, second))
    longer = shorter if shorter > budget else max(shorter, budget - shorter)
    if shorter + longer > budget:
        shorter, longer = budget // 2, budget // 2 + budget % 2
    return (longer, shorter) if first > second else (shorter, longer)


def _kept_counts(source: TokenizerSource, lengths: list[int]) -> list[int]:
    """Tokens of each text the model reads, after its special tokens take their places."""
    if source.max_length is None:
        return lengths
    budget = source.max_length - source.tokenizer.num_special_tokens_to_add(len(lengths) == 2)
    if budget < len(lengths):
        raise ValueError(
            _("{tokenizer} reads at most {limit} tokens: no room left beside its specials.").format(
                tokenizer=source.name, limit=number(source.max_length, 0)
            )
        )
    return [min(lengths[0], budget)] if len(lengths) == 1 else list(longest_first(*lengths, budget))


def _pieces(source: TokenizerSource, encoding: Encoding, texts: tuple[str, ...], sequences: list) -> list[Piece]:
    """The pieces of ``encoding``; sequences: the text each token comes from (None for special tokens)."""
    word_starts = [set(word_spans(text)[:, 0].tolist()) for text in texts]
    previous: dict[int, int] = {}
    pieces = []
    for token, token_id, sequence, (start, end), type_id in zip(
        encoding.tokens, encoding.ids, sequences, encoding.offsets, encoding.type_ids, strict=True
    ):
        if sequence is None:
            pieces.append(Piece(token, token_id, None, 0, 0, type_id, word_start=False, unknown=False))
            continue
        word_start = start in word_starts[sequence] and previous.get(sequence) != start
        previous[sequence] = start
        pieces.append(Piece(token, token_id, sequence, start, end, type_id, word_start, token_id == source.unknown_id))
    return pieces


def _sequences(encoding: Encoding, parts: list[Encoding]) -> list[int | None]:
    """The text each token of the post-processed ``encoding`` comes from, None for the special tokens the
    post-processor added: each part's ids are one run, in order. (The tokenizers library's own ``sequence_ids``
    loses the first text of a pair post-processed this way.)"""
    sequences: list[int | None] = [None] * len(encoding.ids)
    start = 0
    for sequence, part in enumerate(parts):
        start = _run_start(encoding.ids, part.ids, start)
        sequences[start : start + len(part.ids)] = [sequence] * len(part.ids)
        start += len(part.ids)
    return sequences


def _run_start(ids: list[int], run: list[int], start: int) -> int:
    for index in range(start, len(ids) - len(run) + 1):
        if ids[index : index + len(run)] == run:
            return index
    raise ValueError(_("This tokenizer's post-processor reorders the text's tokens; this page cannot align them."))


def _normalise(source: TokenizerSource, text: str) -> str:
    normaliser = source.tokenizer.normalizer
    return normaliser.normalize_str(text) if normaliser is not None else text


def _changes(source: TokenizerSource, texts: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    words = dict.fromkeys(text[start:end] for text in texts for start, end in word_spans(text).tolist())
    return tuple((word, after) for word in words if (after := _normalise(source, word)) != word)


def _notices(source: TokenizerSource, cut: int, unknown: int) -> list[Message]:
    notices = []
    if cut:
        truncated = N_(
            "{tokenizer} reads at most {limit} tokens: the last {count} were cut (with two texts, the longer loses "
            "tokens first)."
        )
        notices.append(Message(truncated, tokenizer=source.name, limit=source.max_length, count=cut))
    if unknown:
        notices.append(
            counted(
                N_(
                    "{count} piece is unknown to {tokenizer}: its vocabulary cannot spell it (emoji or a script it "
                    "never saw), and its model reads it as the unknown token."
                ),
                N_(
                    "{count} pieces are unknown to {tokenizer}: its vocabulary cannot spell them (emoji or scripts it "
                    "never saw), and its model reads them all as the same token."
                ),
                unknown,
                tokenizer=source.name,
            )
        )
    return notices


def segment_text(source: TokenizerSource, text: str, text_b: str | None = None) -> Segmentation:
    """How ``source`` reads ``text`` (and the second text ``text_b`` of a pair), with the special tokens it adds and
    truncation to its maximum length. Raises ValueError for an empty text or one of only control characters."""
    prepared = [prepare_text(text)]
    if text_b and text_b.strip():
        prepared.append(prepare_text(text_b, what=SECOND_TEXT))
    texts = tuple(item.text for item in prepared)
    full = [source.tokenizer.encode(part, add_special_tokens=False) for part in texts]
    kept = _kept_counts(source, [len(encoding.ids) for encoding in full])
    parts = [source.tokenizer.encode(part, add_special_tokens=False) for part in texts]
    for part, count in zip(parts, kept, strict=True):
        part.truncate(count)
    encoding = source.tokenizer.post_process(parts[0], parts[1] if len(parts) > 1 else None)
    pieces = _pieces(source, encoding, texts, _sequences(encoding, parts))
    cut = [
        piece
        for sequence, (encoding_full, count) in enumerate(zip(full, kept, strict=True))
        for piece in _pieces(source, encoding_full, texts, [sequence] * len(encoding_full.ids))[count:]
    ]
    unknown = sum(piece.unknown for piece in pieces)
    notices = [notice for item in prepared for notice in item.notices] + _notices(source, len(cut), unknown)
    return Segmentation(
        tokenizer=source.name,
        texts=texts,
        normalised=tuple(_normalise(source, part) for part in texts),
        pieces=tuple(pieces),
        cut=tuple(cut),
        max_length=source.max_length,
        changes=_changes(source, texts),
        notices=tuple(notices),
    )


@dataclass(frozen=True)
class SplitWordAttention:
    """How much the pieces of each split word attend to each other.

    words: (words,) the split words; pieces: their pieces; within: (words, layers) the attention a piece gives the
    other pieces of its word, averaged over heads and over the word's pieces; even: (words,) what that share would
    be if attention were spread evenly over every token.
    """

    words: tuple[str, ...]
    pieces: tuple[tuple[str, ...], ...]
    within: np.ndarray
    even: np.ndarray

    def ratio(self, layer: int) -> np.ndarray:
        """(words,) within-word attention at ``layer`` over what spreading it evenly would give."""
        return self.within[:, layer] / self.even

    def summary(self, layer: int) -> str:
        """What the pieces of split words give each other at ``layer``, in the run's language."""
        if not self.words:
            return _("No word of this text is split into pieces, so no piece has a sibling to attend to.")
        return _(
            "At layer {layer}, a piece of a split word gives the other pieces of its word {share} of its attention on "
            "average, {ratio} times the share that spreading attention evenly over the input would give. The model "
            "has to put each word back together from its pieces."
        ).format(
            layer=layer,
            share=percent(float(self.within[:, layer].mean())),
            ratio=number(float(self.ratio(layer).mean()), 1),
        )

    def table(self) -> pd.DataFrame:
        """One row per split word: its pieces, the even share, then the within-word share at each layer (columns
        ``layer 0``, ``layer 1``, ...; the others' names marked for translation)."""
        frame = pd.DataFrame(
            {
                N_("word"): self.words,
                N_("pieces"): [" · ".join(pieces) for pieces in self.pieces],
                N_("if even"): self.even,
            }
        )
        for layer in range(self.within.shape[1]):
            frame[f"layer {layer}"] = self.within[:, layer].round(4)
        return frame

    def to_json(self) -> str:
        return json_text({"shape": "(words, layers)", **self.table().to_dict(orient="list")})


def split_word_attention(segmentation: Segmentation, attentions: np.ndarray) -> SplitWordAttention:
    """Within-word attention of ``segmentation``'s split words.

    attentions: (layers, heads, tokens, tokens) of the same text read by the same tokenizer (rows sum to 1).
    Raises ValueError when the token counts differ.
    """
    if attentions.ndim != 4 or attentions.shape[2:] != (len(segmentation.pieces),) * 2:
        raise ValueError(
            _(
                "The attention has shape {shape}, not (layers, heads, {tokens}, {tokens}): it comes from another text "
                "or tokenizer."
            ).format(shape=attentions.shape, tokens=len(segmentation.pieces))
        )
    split = segmentation.split_words
    within = np.zeros((len(split), attentions.shape[0]))
    for row, word in enumerate(split):
        block = attentions[:, :, list(word.positions)][:, :, :, list(word.positions)]  # (layers, heads, n, n)
        given = block.sum(axis=-1) - np.diagonal(block, axis1=-2, axis2=-1)  # (layers, heads, n)
        within[row] = given.mean(axis=(1, 2))
    even = np.array([(len(word.positions) - 1) / len(segmentation.pieces) for word in split])
    return SplitWordAttention(
        tuple(word.text for word in split),
        tuple(tuple(segmentation.pieces_of(word)) for word in split),
        within,
        even,
    )


def parse_words(text: str) -> tuple[str, ...]:
    """The words of a comma- or line-separated list, in order, each once. Raises ValueError when there is none."""
    words = tuple(dict.fromkeys(word.strip() for word in re.split(r"[,\n]", text) if word.strip()))
    if not words:
        raise ValueError(_("Type one or more words, separated by commas, to see how each tokenizer cuts them."))
    return words


def word_pieces(sources: Sequence[TokenizerSource], words: Sequence[str]) -> pd.DataFrame:
    """One row per word, one column per tokenizer: the pieces it cuts the word into (no special tokens), then
    their count in brackets. The first column's name, ``word``, is marked for translation."""
    rows = []
    for word in words:
        row = {N_("word"): word}
        for source in sources:
            tokens = source.tokenizer.encode(word, add_special_tokens=False).tokens
            row[source.name] = f"{' · '.join(tokens)} ({len(tokens)})"
        rows.append(row)
    return pd.DataFrame(rows)
