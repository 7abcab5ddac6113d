"""ferret's faithfulness definitions (hard rationales, comprehensiveness and sufficiency AOPC), checked against
values worked out by hand on a planted-word classifier."""

from __future__ import annotations

import numpy as np
import pytest

from tests.doubles import PlantedWordClassifier
from xray.explainer_benchmark.faithfulness import (
    FERRET_THRESHOLDS,
    NO_RATIONALE,
    Perturbations,
    perturbations,
    rationales,
)
from xray.words import split_words

TEXT = "the animal was very tired"
SCORES = np.array([0.1, 0.9, -0.2, 0.3, 0.0])  # the, animal, was, very, tired


def test_ferret_thresholds_are_its_defaults():
    assert list(FERRET_THRESHOLDS) == np.arange(0.1, 1.1, 0.1).tolist() and len(FERRET_THRESHOLDS) == 10


def test_rationales_grow_by_threshold_keep_positive_scores_and_skip_repeats():
    # five words: int(v · 5) over v = 0.1 … 1.0 is 0, 1, 1, 2, 2, 3, 3, 4, 4, 5; 0 gives none, repeats are
    # skipped, and "tired" (0.0) and "was" (−0.2) never score above 0, so the top 4 and 5 repeat the top 3
    assert [chosen.tolist() for chosen in rationales(SCORES)] == [[1], [1, 3], [1, 3, 0]]
    every = rationales(SCORES, only_positive=False)
    assert [chosen.tolist() for chosen in every] == [[1], [1, 3], [1, 3, 0], [1, 3, 0, 4], [1, 3, 0, 4, 2]]
    assert [chosen.tolist() for chosen in rationales(-np.abs(SCORES) - 1)] == [[]]  # none positive: one empty
    with pytest.raises(ValueError, match="thresholds"):
        rationales(SCORES, (0.0,))


def test_aopc_equals_the_hand_worked_values(tiny):
    # P(animal) = 0.9 with "animal" in the text, else 0.1
    classifier = PlantedWordClassifier(tiny["bert"], class_names=("other", "animal"), planted_class=1, absent=0.1)
    words = split_words(TEXT)

    def aopc(scores: np.ndarray, **options: bool) -> tuple[float, float]:
        made = perturbations(TEXT, words, scores, **options)
        probabilities = classifier.predict_proba([TEXT, *made.texts])[:, 1]
        return made.aopc(float(probabilities[0]), probabilities[1:])

    made = perturbations(TEXT, words, SCORES)
    assert made.removed == ["the was very tired", "the was tired", "was tired"]
    assert made.kept == ["animal", "animal very", "the animal very"]
    # every rationale holds "animal": removing it drops 0.9 to 0.1, keeping it alone keeps 0.9
    assert aopc(SCORES) == pytest.approx((0.8, 0.0))
    # the reversed scores' only positive word is "was": one rationale, {was}; removing it changes nothing, and
    # "was" alone gives 0.1
    assert aopc(-SCORES) == pytest.approx((0.0, 0.8))
    # every word counted: rationales {animal}, {animal, very}, … all hold "animal" for the scores' order, and for
    # the reversed order {was}, {was, tired}, {was, tired, the}, {…, very} keep it in (drop 0) and the fifth removes
    # it (0.8): (0 + 0 + 0 + 0 + 0.8) / 5; kept alone: 0.8 four times, then the whole text (0)
    assert aopc(-SCORES, only_positive=False) == pytest.approx((0.16, 0.64))


def test_perturbations_check_their_inputs():
    with pytest.raises(ValueError, match="2 scores for 5 words"):
        perturbations(TEXT, split_words(TEXT), np.ones(2))
    with pytest.raises(ValueError, match="Expected 2 probabilities"):
        Perturbations(["a"], ["b"]).aopc(0.5, np.ones(3))
    assert Perturbations([], []).aopc(0.5, np.array([])) == NO_RATIONALE
