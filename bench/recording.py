"""A classifier wrapper that records each ``predict_proba`` call, for benchmarks and tests."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from xray.batching import Progress
from xray.classifiers import Classifier
from xray.loading import LoadedModel


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
