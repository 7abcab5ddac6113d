"""Test doubles for the classifier interface, shared by the tests (and the benchmarks, for the recorder).

- :class:`PlantedWordClassifier`: a word decides the class, nothing else matters (exact attributions known).
- :class:`NoisyPlantedClassifier`: the same through a tiny random model, so every word matters a little.
- :class:`SmoothPlantedClassifier`: the same, differentiable: the planted word's embedding drives the class.
- :func:`random_head`: a real :class:`EmbeddingHeadClassifier` with a random head on any encoder.
- :class:`RecordingClassifier`: wraps any classifier and records each call's size and time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from xray.models.batching import InferenceSettings, Progress, run_batched
from xray.models.classifiers import Classifier, EmbeddingHeadClassifier, LinearHead
from xray.models.loading import LoadedModel


@dataclass(frozen=True)
class PlantedWordClassifier:
    """P(``class_names[planted_class]``) is ``present`` when ``word`` is in the text, else ``absent``; two classes."""

    loaded: LoadedModel
    class_names: tuple[str, ...] = ("animal", "other")
    word: str = "animal"
    planted_class: int = 0
    present: float = 0.9
    absent: float = 0.2
    name: str = "planted word"
    settings: InferenceSettings = field(default_factory=InferenceSettings)
    description: str = "A test double: one planted word decides the class."
    example: str | None = "the animal was tired"

    @property
    def max_tokens(self) -> int:
        return self.loaded.max_length

    def predict_proba(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        planted = np.array([self.present if self.word in text else self.absent for text in texts])
        columns = [planted, 1 - planted] if self.planted_class == 0 else [1 - planted, planted]
        return np.stack(columns, axis=1)


@dataclass(frozen=True)
class NoisyPlantedClassifier:
    """The word "animal" drives the class "animal" through a tiny random model, whose first hidden unit adds
    noise to the logit, so every other word matters a little.

    max_tokens: tokens the classifier reads (the tiny BERT's maximum unless set lower).
    """

    loaded: LoadedModel
    name: str = "animal detector"
    class_names: tuple[str, ...] = ("other", "animal")
    max_tokens: int = 64
    settings: InferenceSettings = field(default_factory=InferenceSettings)
    description: str = "A test double: the word 'animal' plus a tiny random model's noise."
    example: str | None = None

    def probabilities(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(batch, 2) probabilities of a padded batch."""
        planted = (batch["input_ids"] == self.loaded.tokenizer.convert_tokens_to_ids("animal")).any(dim=1).float()
        noise = self.loaded.model(**batch).last_hidden_state[:, 0, 0]
        logit = 4 * planted - 2 + noise
        return torch.softmax(torch.stack([-logit, logit], dim=1), dim=1)

    def predict_proba(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return run_batched(self.loaded, texts, self.probabilities, progress=progress)


@dataclass(frozen=True)
class SmoothPlantedClassifier:
    """P("animal") = softmax of 4·s − 2 + noise, where s sums each piece's embedding projected on the embedding of
    "animal" (about 1 for each "animal", near 0 for the rest) and the noise is a tiny random model's first hidden
    unit: a planted word with a differentiable path, for gradient methods."""

    loaded: LoadedModel
    name: str = "smooth animal detector"
    class_names: tuple[str, ...] = ("other", "animal")
    max_tokens: int = 64
    settings: InferenceSettings = field(default_factory=InferenceSettings)
    description: str = "A test double: the embedding of 'animal' plus a tiny random model's noise."
    example: str | None = None

    def differentiable_proba(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        layer = self.loaded.model.get_input_embeddings()
        planted = layer.weight[self.loaded.tokenizer.convert_tokens_to_ids("animal")].detach()
        projected = (inputs_embeds @ planted / planted.dot(planted)) * attention_mask
        noise = self.loaded.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
        logit = 4 * projected.sum(dim=1) - 2 + noise[:, 0, 0]
        return torch.softmax(torch.stack([-logit, logit], dim=1), dim=1)

    def predict_proba(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        layer = self.loaded.model.get_input_embeddings()

        def forward(batch: dict[str, torch.Tensor]) -> torch.Tensor:
            return self.differentiable_proba(layer(batch["input_ids"]), batch["attention_mask"])

        return run_batched(self.loaded, texts, forward, progress=progress)


def random_head(
    loaded: LoadedModel, *, scale: float = 1.0, bias: bool = True, classes: int = 3, max_tokens: int = 32
) -> EmbeddingHeadClassifier:
    """A real float32 classifier on ``loaded``: a seeded random linear head over its sentence embeddings."""
    generator = np.random.default_rng(0)
    weights = (scale * generator.normal(size=(classes, loaded.hidden_size))).astype(np.float32)
    offsets = generator.normal(size=classes) if bias else np.zeros(classes)
    names = tuple(f"class {index}" for index in range(classes))
    return EmbeddingHeadClassifier(
        "random head", loaded, LinearHead(weights, offsets.astype(np.float32), names, max_tokens)
    )


@dataclass(frozen=True)
class RecordingClassifier:
    """``inner`` unchanged, with the number of texts (``sizes``) and wall time (``seconds``) of every call."""

    inner: Classifier
    sizes: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def __getattr__(self, name: str) -> object:
        """Everything but ``predict_proba`` (name, classes, model, settings, ...) is ``inner``'s."""
        if name == "inner":  # not set yet (e.g. while copying): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def predict_proba(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        started = time.perf_counter()
        probabilities = self.inner.predict_proba(texts, progress)
        self.seconds.append(time.perf_counter() - started)
        self.sizes.append(len(texts))
        return probabilities
