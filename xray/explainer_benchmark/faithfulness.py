"""Faithfulness of one explanation as ferret's ``evaluate_explanations`` defines it (Attanasio et al. 2023, after
ERASER, DeYoung et al. 2020), on words instead of word pieces.

An explanation's scores give hard rationales: for each threshold v of :data:`FERRET_THRESHOLDS` (10 % to 100 %),
the top ``int(v · words)`` words by score (none where that is 0), only those scoring above 0 (ferret's default
``only_pos``), a rationale equal to the one before it left out (ferret does not count the same removal twice).
Comprehensiveness is the mean, over the rationales, of p(text) − p(text without the rationale) for the explained
class (higher is better); sufficiency the mean of p(text) − p(the rationale alone) (lower is better). Where no
word scores above 0 the one rationale is empty, as in ferret: the text stays whole, and the rationale alone is the
empty text.

ferret removes word pieces and decodes the rest; here whole words are removed (:func:`xray.words.without_words`)
or kept (:func:`xray.words.only_words`), as every explainer here is compared on words. ERASER's own bins
(1, 5, 10, 20, 50 %, with a zero term) differ; ferret's defaults are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from xray.words import Word, only_words, without_words

FERRET_THRESHOLDS = tuple(float(value) for value in np.arange(0.1, 1.1, 0.1))
"""ferret's default ``removal_args["thresholds"]``: ``np.arange(0.1, 1.1, 0.1)``."""
NO_RATIONALE = (0.0, 1.0)
"""ferret's (comprehensiveness, sufficiency) where there is no rationale at all (no words to score)."""


def rationales(
    scores: np.ndarray, thresholds: Sequence[float] = FERRET_THRESHOLDS, *, only_positive: bool = True
) -> list[np.ndarray]:
    """ferret's hard rationales of (words,) ``scores``: for each threshold, the indices of the top
    ``int(threshold · words)`` scores in descending order (ferret's ``argsort()[-k:][::-1]``, ties as numpy's
    sort leaves them), only those above 0 where ``only_positive``; a rationale equal (as a set) to the last one
    kept is skipped."""
    if not len(thresholds) or any(not 0.0 < value <= 1.0 for value in thresholds):
        raise ValueError(f"thresholds must lie in (0, 1], got {tuple(thresholds)}.")
    values = np.asarray(scores, dtype=np.float64)
    kept: list[np.ndarray] = []
    last: set[int] | None = None
    for threshold in thresholds:
        count = int(threshold * len(values))
        if count == 0:
            continue
        top = values.argsort()[-count:][::-1]
        if only_positive:
            top = top[values[top] > 0]
        if last is not None and set(top.tolist()) == last:
            continue
        kept.append(top)
        last = set(top.tolist())
    return kept


@dataclass(frozen=True)
class Perturbations:
    """The texts one explanation's rationales make from a text: removed[i] is the text without rationale i,
    kept[i] rationale i alone (its words in text order)."""

    removed: list[str]
    kept: list[str]

    @property
    def texts(self) -> list[str]:
        """Every text to ask the classifier about: the removed ones, then the kept ones."""
        return self.removed + self.kept

    def aopc(self, full: float, probabilities: np.ndarray) -> tuple[float, float]:
        """(comprehensiveness, sufficiency) from the explained class's probability on the text (``full``) and on
        :attr:`texts` ((2 · rationales,) in their order); ferret's :data:`NO_RATIONALE` where there is none."""
        if len(probabilities) != len(self.texts):
            raise ValueError(f"Expected {len(self.texts)} probabilities, got {len(probabilities)}.")
        if not self.removed:
            return NO_RATIONALE
        drops = full - np.asarray(probabilities, dtype=np.float64)
        return float(drops[: len(self.removed)].mean()), float(drops[len(self.removed) :].mean())


def perturbations(
    text: str,
    words: Sequence[Word],
    scores: np.ndarray,
    thresholds: Sequence[float] = FERRET_THRESHOLDS,
    *,
    only_positive: bool = True,
) -> Perturbations:
    """The texts :func:`rationales` of ``scores`` make from ``text`` (split into ``words``)."""
    if len(scores) != len(words):
        raise ValueError(f"{len(scores)} scores for {len(words)} words.")
    chosen = rationales(scores, thresholds, only_positive=only_positive)
    return Perturbations(
        removed=[without_words(text, words, rationale) for rationale in chosen],
        kept=[only_words(words, rationale) for rationale in chosen],
    )
