"""One classifier call serving several texts' explainers at once.

SHAP and LIME drive the classifier themselves: SHAP's Partition explainer asks for a few dozen masked texts at a
time, each batch depending on the last, and LIME for all of its samples at once. Run text by text, SHAP's small
calls leave the model's batches half empty. :func:`map_coalesced` runs one worker thread per item, each explaining
its own text through a :class:`CoalescedClassifier`; whenever every worker still at work is waiting for
probabilities, their texts go to the classifier in one call on the calling thread (each distinct text once, sorted
and padded by the classifier's own batching) and each worker gets its rows back. The classifier never runs twice
at once: a worker is either waiting or doing its own bookkeeping (shap's traversal, LIME's regressions, a gradient
pass).

The values are those of the text-by-text path up to float round-off: a text's probabilities do not depend on the
other texts of its batch, except through the padding of the batch it lands in (about 1e-7 in float32).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from xray.models.classifiers import Classifier
from xray.progress import Progress

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Request:
    texts: list[str]
    rows: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class CoalescedClassifier:
    """``classifier`` as several worker threads share it: its every attribute, and a ``predict_proba`` that hands
    the texts to the thread that serves (:meth:`serve`) and waits for the rows. ``calls`` and ``texts`` count the
    merged calls and the distinct texts they held."""

    def __init__(self, classifier: Classifier, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"A coalesced classifier needs at least one worker, not {workers}.")
        self._classifier = classifier
        self._changed = threading.Condition()
        self._active = workers
        self._pending: list[_Request] = []
        self.calls = 0
        self.texts = 0

    def __getattr__(self, name: str) -> Any:
        """Everything but ``predict_proba`` (name, class_names, loaded, settings, differentiable_proba) is the
        classifier's."""
        if name == "_classifier":  # not set yet (e.g. while copying): no recursion
            raise AttributeError(name)
        return getattr(self._classifier, name)

    def predict_proba(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """(len(texts), classes) as ``classifier.predict_proba`` gives them; ``progress`` sees this call's texts
        once answered (a merged call cannot report on one worker's share)."""
        request = _Request([str(text) for text in texts])
        with self._changed:
            self._pending.append(request)
            self._changed.notify_all()
        request.done.wait()
        if request.error is not None:
            raise request.error
        if progress is not None:
            progress(len(texts), len(texts))
        return request.rows

    def leave(self) -> None:
        """A worker is done: the others no longer wait for it."""
        with self._changed:
            self._active -= 1
            self._changed.notify_all()

    def serve(self) -> None:
        """Until every worker has left: whenever each worker still at work waits for rows, one call of the
        classifier for all of their texts (each distinct text once), then each its rows. Every model call runs on
        this one thread (a thread's first torch call sets up thread pools of its own, which then compete)."""
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._active == 0 or len(self._pending) >= self._active > 0)
                if self._active == 0 and not self._pending:
                    return
                requests, self._pending = self._pending, []
            self._answer(requests)

    def _answer(self, requests: list[_Request]) -> None:
        distinct = list(dict.fromkeys(text for request in requests for text in request.texts))
        try:
            rows = self._classifier.predict_proba(distinct) if distinct else np.empty((0, len(self.class_names)))
        except Exception as error:  # every waiting worker raises it
            for request in requests:
                request.error = error
                request.done.set()
            return
        self.calls += 1
        self.texts += len(distinct)
        position = {text: index for index, text in enumerate(distinct)}
        for request in requests:
            request.rows = rows[[position[text] for text in request.texts]].reshape(len(request.texts), -1)
            request.done.set()


def map_coalesced(
    classifier: Classifier, items: Sequence[Item], work: Callable[[Classifier, Item], Result]
) -> tuple[list[Result], CoalescedClassifier]:
    """``[work(shared, item) for item in items]``, one worker thread per item, ``shared`` a
    :class:`CoalescedClassifier` over ``classifier`` that the calling thread serves, so the items' classifier calls
    are merged; in the items' order, with ``shared`` (its counts). The first item's exception, if any, is raised
    once every worker has ended."""
    shared = CoalescedClassifier(classifier, len(items))
    results: list[Any] = [None] * len(items)
    errors: list[BaseException | None] = [None] * len(items)

    def run(index: int, item: Item) -> None:
        try:
            results[index] = work(shared, item)  # type: ignore[arg-type]
        except BaseException as error:
            errors[index] = error
        finally:
            shared.leave()

    threads = [threading.Thread(target=run, args=(index, item), daemon=True) for index, item in enumerate(items)]
    for thread in threads:
        thread.start()
    shared.serve()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results, shared
