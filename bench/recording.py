"""A classifier wrapper that records each ``predict_proba`` call, for benchmarks and tests."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np

from xray.batching import Progress
from xray.classifiers import Classifier
from xray.loading import LoadedModel

Run = TypeVar("Run")


@dataclass(frozen=True)
class RecordingClassifier:
    """``inner`` unchanged, with the number of texts (``sizes``) and wall time (``seconds``) of every call."""

    inner: Classifier
    sizes: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.inner.class_names

    @property
    def loaded(self) -> LoadedModel:
        return self.inner.loaded

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def predict_proba(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        started = time.perf_counter()
        probabilities = self.inner.predict_proba(texts, progress)
        self.seconds.append(time.perf_counter() - started)
        self.sizes.append(len(texts))
        return probabilities


def median_run(runs: list[Run], *timed: str) -> Run:
    """The run of median wall time (``seconds``), with each field named in ``timed`` replaced by its median."""
    middle = sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]
    return replace(middle, **{name: statistics.median(getattr(run, name) for run in runs) for name in timed})
