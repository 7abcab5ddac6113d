"""LIME on a transformer factor (Yun et al. 2021): which words of a context switch the factor on at one piece.

The output explained is the factor's code at one word piece of a context, at one level. LIME removes random
subsets of the context's other words, codes the piece again in every perturbed text, and fits its weighted
linear surrogate on which words were kept (:func:`xray.techniques.lime_explain.fit_surrogate`, the recipe of
the LIME page). A positive weight: the word's presence raises the factor's code at the piece.

The piece's own word always stays, so the piece can be found again in every perturbed text. Words are lime's
(runs of letters, digits and underscores) and each occurrence is its own feature, removed in place with the
spaces and punctuation around it kept: a factor's code depends on where a word stands, not only on which.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from lime.lime_text import IndexedString

from xray.factors.dictionary import FactorDictionary
from xray.levels import level_name
from xray.models.batching import hidden_states, pad_batch
from xray.models.loading import LoadedModel
from xray.progress import Progress
from xray.results import json_text
from xray.techniques.lime_explain import (
    MAX_FEATURES,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_WORDS,
    MIN_FEATURES,
    MIN_SAMPLES,
    WordSurrogate,
    check_range,
    fit_surrogate,
    perturbation_masks,
)
from xray.translation import _, number, percent, translated

BATCH_SIZE = 64
CODING_CHUNK = 1_024


@dataclass(frozen=True)
class FactorLime(WordSurrogate):
    """LIME's explanation of one factor's code at one piece of a context; the surrogate's fields are
    :class:`~xray.techniques.lime_explain.WordSurrogate`'s (its output: the code; its words: word occurrences,
    "word" or "word (2)" for a word's second occurrence; distinct_texts: perturbed contexts actually coded).

    text: the context; target: (start, end), the piece's character span; target_word: (start, end) of the word
        that holds it, which is never removed (None when the piece is punctuation, outside every word).
    factor, level: the factor and the level (0: embeddings) whose code is explained.
    code: the factor's code at the piece in the full context.
    switched_off: the share of perturbed contexts in which the code is zero.
    unmatched: perturbed contexts left out of the fit because the piece tokenized otherwise in them.
    """

    text: str
    target: tuple[int, int]
    target_word: tuple[int, int] | None
    factor: int
    level: int
    code: float
    switched_off: float
    unmatched: int

    def fit_summary(self) -> str:
        """How the code responds and how well the surrogate fits, in two or three sentences in the run's language
        (drawn at once, never kept)."""
        piece = self.text[self.target[0] : self.target[1]]
        sentences = [
            _(
                "Factor {factor}'s code at '{piece}' ({level}) is {code} in the full context and drops to zero in "
                "{share} of the perturbed ones."
            ).format(
                factor=self.factor,
                piece=piece,
                level=translated(level_name(self.level)),
                code=number(self.code, 3),
                share=percent(self.switched_off),
            )
        ]
        if self.unmatched:
            sentences.append(
                _("{count} perturbed contexts split the piece otherwise and were left out of the fit.").format(
                    count=number(self.unmatched, 0)
                )
            )
        if self.poor_fit:
            sentences.append(
                _(
                    "Poor fit (R² {score}): a linear model over words explains little of how the code responds, so "
                    "read the weights with care."
                ).format(score=number(self.score))
            )
        else:
            sentences.append(
                _("The surrogate explains {share} of the weighted variance of the code.").format(
                    share=percent(self.score)
                )
            )
        return " ".join(sentences)

    def to_json(self) -> str:
        return json_text(
            {
                "text": self.text,
                "target": {"start": self.target[0], "end": self.target[1]},
                "factor": self.factor,
                "level": self.level,
                "code": self.code,
                **self.surrogate_json(),
                "poor_fit": self.poor_fit,
                "switched_off": self.switched_off,
                "unmatched": self.unmatched,
                "spans": [{"start": start, "end": end, "weight": weight} for start, end, weight in self.spans],
                "num_samples": self.num_samples,
                "seed": self.seed,
                "distinct_texts": self.distinct_texts,
            }
        )


@dataclass(frozen=True)
class _Words:
    """The context's word occurrences: (occurrences,) starts and ends, and which one holds the target (or -1)."""

    starts: np.ndarray
    ends: np.ndarray
    target: int

    @property
    def features(self) -> np.ndarray:
        """Occurrences LIME may remove: all but the target's."""
        return np.flatnonzero(np.arange(len(self.starts)) != self.target)


def _words(text: str, target: tuple[int, int]) -> _Words:
    """The word occurrences of ``text``; the target's is the first that overlaps the piece (a byte-level piece
    such as "Ġbank" starts on the space before its word)."""
    indexed = IndexedString(text, bow=False)
    starts = np.asarray(indexed.string_start)[indexed.positions].astype(np.int64)
    ends = starts + np.array([len(indexed.as_list[position]) for position in indexed.positions], dtype=np.int64)
    holding = np.flatnonzero((starts < target[1]) & (target[0] < ends))
    return _Words(starts, ends, int(holding[0]) if len(holding) else -1)


def _perturbed(text: str, words: _Words, removed: np.ndarray) -> str:
    """``text`` without the word occurrences ``removed`` (indices into ``words``), spaces and punctuation kept."""
    pieces, cursor = [], 0
    for occurrence in np.sort(removed):
        pieces.append(text[cursor : words.starts[occurrence]])
        cursor = int(words.ends[occurrence])
    pieces.append(text[cursor:])
    return "".join(pieces)


def _piece_states(
    loaded: LoadedModel, texts: list[str], spans: np.ndarray, level: int, progress: Progress | None
) -> np.ndarray:
    """(texts, hidden) the hidden state at ``level`` of the piece at character span ``spans[i]`` of each text; NaN
    rows where no piece has exactly that span (the text tokenizes otherwise there)."""
    tokenizer = loaded.tokenizer
    encoding = tokenizer(
        texts,
        truncation=True,
        max_length=loaded.max_length,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    positions = np.full(len(texts), -1)
    for index, (offsets, special) in enumerate(
        zip(encoding["offset_mapping"], encoding["special_tokens_mask"], strict=True)
    ):
        found = [
            j
            for j, (span, mask) in enumerate(zip(offsets, special, strict=True))
            if not mask and span == tuple(spans[index])
        ]
        positions[index] = found[0] if found else -1
    states = np.full((len(texts), loaded.model.config.hidden_size), np.nan, dtype=np.float32)
    usable = np.flatnonzero(positions >= 0)
    order = usable[np.argsort([len(encoding["input_ids"][i]) for i in usable], kind="stable")]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with torch.inference_mode():
        for first in range(0, len(order), BATCH_SIZE):
            chunk = order[first : first + BATCH_SIZE]
            batch = pad_batch([encoding["input_ids"][i] for i in chunk], pad_id, loaded.device)
            level_states = hidden_states(loaded, batch)[level]
            picked = level_states[torch.arange(len(chunk)), torch.as_tensor(positions[chunk])]
            states[chunk] = picked.float().cpu().numpy()
            if progress is not None:
                progress(min(first + BATCH_SIZE, len(order)), len(order))
    return states


def explain_factor(
    loaded: LoadedModel,
    dictionary: FactorDictionary,
    text: str,
    target: tuple[int, int],
    level: int,
    factor: int,
    *,
    num_samples: int = 1_000,
    num_features: int = 10,
    seed: int = 0,
    progress: Progress | None = None,
) -> FactorLime:
    """LIME on ``factor``'s code at the piece ``text[target[0]:target[1]]`` at ``level``.

    target: the piece's character span, as the model's tokenizer gives it (a top context's start and end).
    num_samples, num_features, seed: as on the LIME page. progress: called as ``progress(done, total)`` over the
    distinct perturbed contexts.
    Raises ValueError for a factor or level out of range, a span that is no piece of the model's tokenization of
    the text, a context with no other word, or parameters out of range.
    """
    dictionary.check_factor(factor)
    levels = dictionary.importance.shape[0]
    if not 0 <= level < levels:
        raise ValueError(
            _("Level {level} does not exist: this dictionary has levels 0 to {last}.").format(
                level=level, last=levels - 1
            )
        )
    check_range("num_samples", num_samples, MIN_SAMPLES, MAX_SAMPLES)
    check_range("num_features", num_features, MIN_FEATURES, MAX_FEATURES)
    check_range("seed", seed, 0, MAX_SEED)
    start, end = target
    if not 0 <= start < end <= len(text):
        raise ValueError(
            _("The piece ({start}, {end}) lies outside the context of {length} characters.").format(
                start=start, end=end, length=len(text)
            )
        )
    started = time.perf_counter()
    words = _words(text, target)
    features = words.features
    if len(features) == 0:
        raise ValueError(_("The context has no word besides the piece's own, so there is nothing for LIME to remove."))
    if len(features) > MAX_WORDS:
        raise ValueError(
            _("The context has {words} words; LIME here handles at most {most}.").format(
                words=number(len(features), 0), most=number(MAX_WORDS, 0)
            )
        )
    kept = perturbation_masks(len(features), num_samples, seed)
    texts = [_perturbed(text, words, features[row == 0]) for row in kept]
    removed_before = (words.ends[features] <= start).astype(np.int64) * (words.ends - words.starts)[features]
    shift = (1 - kept) @ removed_before
    spans = np.stack([start - shift, end - shift], axis=1).astype(np.int64)
    unique, inverse = np.unique(np.array(texts, dtype=object), return_inverse=True)
    first = np.unique(inverse, return_index=True)[1]
    states = _piece_states(loaded, list(unique), spans[first], level, progress)
    if np.isnan(states[inverse[0]]).any():
        raise ValueError(
            _(
                "No piece of '{model}' spans characters {start} to {end} of the context: pick a context found with "
                "this model."
            ).format(model=loaded.name, start=start, end=end)
        )
    found = ~np.isnan(states).any(axis=1)
    codes = np.zeros(len(unique), dtype=np.float32)
    for chunk in range(0, len(unique), CODING_CHUNK):
        rows = np.flatnonzero(found[chunk : chunk + CODING_CHUNK]) + chunk
        if len(rows):
            codes[rows] = dictionary.codes(states[rows])[:, factor]
    usable = found[inverse]
    outputs = codes[inverse][usable]
    surrogate = fit_surrogate(kept[usable], outputs, num_features, seed)
    labels = _occurrence_labels(text, words)
    weight_of = {
        int(features[feature]): float(weight)
        for feature, weight in zip(surrogate.features, surrogate.weights, strict=True)
    }
    target_word = None if words.target < 0 else (int(words.starts[words.target]), int(words.ends[words.target]))
    return FactorLime(
        text=text,
        target=(start, end),
        target_word=target_word,
        factor=factor,
        level=level,
        code=float(outputs[0]),
        words=[labels[int(features[feature])] for feature in surrogate.features],
        weights=surrogate.weights,
        intercept=surrogate.intercept,
        local_prediction=surrogate.local_prediction,
        score=surrogate.score,
        spans=[
            (int(begin), int(finish), weight_of.get(occurrence))
            for occurrence, (begin, finish) in enumerate(zip(words.starts, words.ends, strict=True))
        ],
        switched_off=float((outputs[1:] == 0).mean()) if len(outputs) > 1 else 0.0,
        unmatched=int((~usable).sum()),
        num_samples=num_samples,
        seed=seed,
        distinct_texts=len(unique),
        seconds=time.perf_counter() - started,
    )


def _occurrence_labels(text: str, words: _Words) -> list[str]:
    """Each word occurrence as "word", or "word (n)" for the n-th occurrence of a word seen before."""
    seen: dict[str, int] = {}
    labels = []
    for begin, finish in zip(words.starts, words.ends, strict=True):
        word = text[begin:finish]
        seen[word] = seen.get(word, 0) + 1
        labels.append(word if seen[word] == 1 else f"{word} ({seen[word]})")
    return labels
