"""One classifier call serving several workers: the rows each worker gets, the calls merged, failures raised."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from tests.doubles import SmoothPlantedClassifier
from xray.explainer_benchmark.run import explain_texts
from xray.models.coalesced import CoalescedClassifier, map_coalesced


class LengthClassifier:
    """Two classes, p(long) growing with the text's length; records each call's texts and thread."""

    name = "length"
    class_names = ("short", "long")

    def __init__(self, failing: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.threads: set[int] = set()
        self.failing = failing

    def predict_proba(self, texts: Sequence[str], progress=None) -> np.ndarray:
        if self.failing in texts:
            raise ValueError(f"cannot read {self.failing!r}")
        self.calls.append(list(texts))
        self.threads.add(threading.get_ident())
        long = np.array([min(len(text) / 20, 1.0) for text in texts])
        return np.stack([1 - long, long], axis=1)


def _asks(shared, item: int) -> list[np.ndarray]:
    """Three calls of different sizes, one text shared by every worker."""
    return [
        shared.predict_proba([f"text {item} call {call}" * (call + 1)] * (call + 1) + ["shared"]) for call in range(3)
    ]


def test_every_worker_gets_its_own_rows_from_calls_merged_across_workers():
    classifier = LengthClassifier()
    results, shared = map_coalesced(classifier, range(4), _asks)
    alone = LengthClassifier()
    assert all(
        np.array_equal(got, want)
        for item, rows in enumerate(results)
        for got, want in zip(rows, _asks(alone, item), strict=True)
    )
    assert shared.calls == 3 == len(classifier.calls)  # four workers' three calls each, merged by round
    assert all(call.count("shared") == 1 for call in classifier.calls)  # a text every worker asks for runs once
    assert classifier.threads == {threading.get_ident()}  # every model call on the serving (calling) thread
    assert shared.name == "length" and shared.class_names == ("short", "long")  # the rest is the classifier's


def test_a_worker_that_finishes_early_does_not_hold_back_the_others():
    classifier = LengthClassifier()

    def uneven(shared, item: int) -> int:
        for call in range(item):  # worker 0 asks nothing, worker 3 three times
            shared.predict_proba([f"{item}-{call}"])
        return item

    results, shared = map_coalesced(classifier, range(4), uneven)
    assert results == [0, 1, 2, 3] and shared.calls == 3
    assert [len(call) for call in classifier.calls] == [3, 2, 1]


def test_failures_reach_every_waiting_worker_and_the_caller():
    with pytest.raises(ValueError, match="cannot read 'shared'"):
        map_coalesced(LengthClassifier(failing="shared"), range(3), _asks)

    def second_fails(shared, item: int) -> np.ndarray:
        if item == 1:
            raise RuntimeError("worker 1 broke")
        return shared.predict_proba(["fine"])

    with pytest.raises(RuntimeError, match="worker 1 broke"):
        map_coalesced(LengthClassifier(), range(3), second_fails)
    with pytest.raises(ValueError, match="at least one worker"):
        CoalescedClassifier(LengthClassifier(), 0)


def test_a_coalesced_corpus_run_equals_the_text_by_text_one(tiny):
    classifier = SmoothPlantedClassifier(tiny["bert"])
    texts = ["the animal was very tired", "the street was quiet", "the animal was tired", "it was tired"]
    budgets = {"max_evals": 60, "num_samples": 100, "steps": 16}
    together = explain_texts(classifier, texts, coalesce=True, **budgets)
    apart = explain_texts(classifier, texts, coalesce=False, **budgets)
    for one, other in zip(together, apart, strict=True):
        assert one.class_index == other.class_index and list(one.scores) == list(other.scores)
        for method in one.scores:  # the gradient methods ran in the worker threads too
            np.testing.assert_allclose(one.scores[method], other.scores[method], atol=1e-5)
        for method in one.comprehensiveness:
            assert one.comprehensiveness[method] == pytest.approx(other.comprehensiveness[method], abs=1e-5)
