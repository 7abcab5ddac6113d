"""Text classifiers behind one interface: ``predict_proba(texts) -> (n, classes)`` plus class names.

SHAP, LIME and the faithfulness metrics take any :class:`Classifier`. Three kinds:

- :class:`EmbeddingHeadClassifier`: a linear head over mean-pooled, normalised encoder
  embeddings; the embedded default is a BBC News topic head on MiniLM (see :mod:`xray.models.train_head`).
- :class:`ZeroShotClassifier`: cosine similarity of the text's embedding to each class
  description's embedding, as a softmax. A weak baseline.
- :class:`SequenceClassifier`: a model's own sequence-classification head (e.g. a hub model).

All run through :func:`xray.models.batching.run_batched`: duplicates skipped, batches padded per length.
A :class:`ClassifierSpec` names a classifier in a few hashable fields (so caches can key on it);
:func:`build_classifier` turns it into a live one. Each classifier describes itself for the page
(``description``) and, where it has a domain, offers an ``example`` text from it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import torch

from xray.models.batching import InferenceSettings, run_batched
from xray.models.loading import EMBEDDED_MODEL, LoadedModel
from xray.progress import Progress
from xray.translation import N_, _, number, percent

HEAD_FILE = Path(__file__).parent / "data" / "bbc_topic_head.npz"
ZERO_SHOT_TEMPERATURE = 0.05
UNSURE_BELOW = 0.5
"""A top class probability under this means the text is far from every class the classifier knows."""
TOPIC_EXAMPLE = "The referee sent off the captain and the crowd booed."
"""The one-click in-domain example: sports (92%), and LIME's surrogate fits it (R² 0.76 at 5,000 samples)."""

ClassifierKind = Literal["topic", "zero-shot", "model"]
CLASSIFIER_KINDS: dict[ClassifierKind, str] = {
    "topic": N_("BBC News topics (embedded, offline)"),
    "zero-shot": N_("Zero-shot from class descriptions"),
    "model": N_("The sidebar model's classification head"),
}


class Classifier(Protocol):
    """What every explainer needs from a classifier."""

    name: str
    class_names: tuple[str, ...]
    loaded: LoadedModel
    settings: InferenceSettings

    @property
    def max_tokens(self) -> int:
        """Tokens of each text the classifier reads; later tokens cannot change its output."""
        ...

    @property
    def description(self) -> str:
        """One or two sentences for the page: what the classifier is and how far to trust it."""
        ...

    @property
    def example(self) -> str | None:
        """A text from the classifier's domain (None when it has no fixed domain)."""
        ...

    def predict_proba(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Class probabilities, (len(texts), classes); each row sums to 1."""
        ...


class DifferentiableClassifier(Classifier, Protocol):
    """A classifier with a differentiable path from the input embeddings to the probabilities, for gradient
    attributions; every classifier here has one, a test double may not."""

    def differentiable_proba(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, classes) the probabilities ``predict_proba`` gives, in float32, with the autograd graph, from
        ``inputs_embeds`` (batch, tokens, hidden): the output of ``loaded.model.get_input_embeddings()`` on the
        tokenizer's ids (the model adds positions itself); attention_mask: (batch, tokens). Sets no grad mode and
        no hook: the shared model is only called."""
        ...


@dataclass(frozen=True)
class LinearHead:
    """A softmax-linear head over sentence embeddings.

    weights: (classes, hidden); bias: (classes,); class_names: one per row of ``weights``.
    max_tokens: tokens of each text the encoder reads (the head was trained on this many).
    metadata: how the head was trained (encoder, data, split, held-out accuracy), as JSON-able values.
    """

    weights: np.ndarray
    bias: np.ndarray
    class_names: tuple[str, ...]
    max_tokens: int
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        classes = self.weights.shape[0]
        if self.bias.shape != (classes,) or len(self.class_names) != classes:
            raise ValueError(
                _(
                    "A head with {classes} weight rows needs {classes} biases and class names, got {biases} and "
                    "{names}."
                ).format(classes=classes, biases=self.bias.shape[0], names=len(self.class_names))
            )

    def save(self, path: Path) -> None:
        np.savez(
            path,
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            class_names=np.array(self.class_names),
            max_tokens=np.array(self.max_tokens),
            metadata=np.array(json.dumps(self.metadata)),
        )

    @classmethod
    def load(cls, path: Path = HEAD_FILE) -> LinearHead:
        with np.load(path) as stored:
            return cls(
                weights=stored["weights"],
                bias=stored["bias"],
                class_names=tuple(str(name) for name in stored["class_names"]),
                max_tokens=int(stored["max_tokens"]),
                metadata=json.loads(str(stored["metadata"])),
            )


def _encoder(loaded: LoadedModel) -> torch.nn.Module:
    if loaded.family != "encoder":
        raise ValueError(
            _(
                "Sentence embeddings need an encoder model; '{model}' is a {family} model. Pick an encoder such as "
                "the embedded MiniLM."
            ).format(model=loaded.name, family=loaded.family)
        )
    return loaded.model.base_model


def sentence_embeddings(
    loaded: LoadedModel,
    texts: Sequence[str],
    settings: InferenceSettings | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Mean-pooled, L2-normalised last hidden states (as sentence-transformers does): (n, hidden)."""
    encoder = _encoder(loaded)

    def embed(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return mean_pooled(encoder(**batch).last_hidden_state, batch["attention_mask"])

    return run_batched(loaded, texts, embed, settings, progress)


def mean_pooled(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(batch, hidden) the L2-normalised mean of ``hidden`` (batch, tokens, hidden) over the unmasked tokens."""
    hidden = hidden.float()
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return torch.nn.functional.normalize(pooled, dim=-1)


def _encoder_pooled(loaded: LoadedModel, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """:func:`sentence_embeddings` from input embeddings, as a differentiable torch function: (batch, hidden)."""
    hidden = _encoder(loaded)(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
    return mean_pooled(hidden, attention_mask)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class EmbeddingHeadClassifier:
    """softmax(head.weights @ embedding + head.bias) over :func:`sentence_embeddings`.

    example: a text from the domain the head was trained on, if it has one.
    """

    name: str
    loaded: LoadedModel
    head: LinearHead
    settings: InferenceSettings = field(default_factory=InferenceSettings)
    example: str | None = None

    def __post_init__(self) -> None:
        if self.head.weights.shape[1] != self.loaded.hidden_size:
            raise ValueError(
                _(
                    "The head expects {expected}-wide embeddings but '{model}' gives {width}; it was trained on "
                    "another encoder."
                ).format(expected=self.head.weights.shape[1], model=self.loaded.name, width=self.loaded.hidden_size)
            )

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.head.class_names

    @property
    def max_tokens(self) -> int:
        return min(self.head.max_tokens, self.loaded.max_length)

    @property
    def description(self) -> str:
        """In the run's language (the training data's own description as the head's metadata says it)."""
        accuracy = self.head.metadata.get("held_out_accuracy")
        trained = {"model": self.loaded.name, "data": self.head.metadata.get("data") or _("labelled text")}
        if accuracy is None:
            said = _("Sentence embeddings of {model} + a linear head trained on {data}.").format(**trained)
        else:
            said = _(
                "Sentence embeddings of {model} + a linear head trained on {data}; held-out accuracy {accuracy}."
            ).format(**trained, accuracy=number(accuracy, 3))
        return f"{said} {_('Reproduce it with `python -m xray train-head`.')}"

    def predict_proba(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        settings = InferenceSettings(self.settings.batch_size, self.settings.bf16, self.max_tokens)
        embeddings = sentence_embeddings(self.loaded, texts, settings, progress)
        return _softmax(embeddings @ self.head.weights.T + self.head.bias)

    def differentiable_proba(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = _encoder_pooled(self.loaded, inputs_embeds, attention_mask)
        logits = pooled @ torch.from_numpy(self.head.weights).T + torch.from_numpy(self.head.bias)
        return torch.softmax(logits, dim=-1)


def parse_class_descriptions(raw: str) -> tuple[str, ...]:
    """Class descriptions, one per line (blank lines ignored). Needs two or more, all distinct."""
    names = tuple(line.strip() for line in raw.splitlines() if line.strip())
    if len(names) < 2:
        raise ValueError(_("Zero-shot classification needs at least two class descriptions, one per line."))
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(_("Each class must be described once; repeated: {names}.").format(names=", ".join(duplicates)))
    return names


@dataclass(frozen=True)
class ZeroShotClassifier:
    """softmax(cosine(text, description) / temperature) over the class descriptions. A weak baseline."""

    name: str
    loaded: LoadedModel
    class_names: tuple[str, ...]
    settings: InferenceSettings = field(default_factory=InferenceSettings)
    temperature: float = ZERO_SHOT_TEMPERATURE
    _class_embeddings: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        parse_class_descriptions("\n".join(self.class_names))
        if self.temperature <= 0:
            raise ValueError(_("temperature must be positive, got {value}.").format(value=self.temperature))
        object.__setattr__(self, "_class_embeddings", sentence_embeddings(self.loaded, self.class_names))

    @property
    def max_tokens(self) -> int:
        return min(self.settings.max_length or self.loaded.max_length, self.loaded.max_length)

    @property
    def description(self) -> str:
        """In the run's language."""
        return _(
            "A weak baseline: each class is the description whose embedding is closest to the text's embedding on "
            "{model}."
        ).format(model=self.loaded.name)

    @property
    def example(self) -> str | None:
        return None

    def predict_proba(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        embeddings = sentence_embeddings(self.loaded, texts, self.settings, progress)
        return _softmax(embeddings @ self._class_embeddings.T / self.temperature)

    def differentiable_proba(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = _encoder_pooled(self.loaded, inputs_embeds, attention_mask)
        return torch.softmax(pooled @ torch.from_numpy(self._class_embeddings).T / self.temperature, dim=-1)


@dataclass(frozen=True)
class SequenceClassifier:
    """A model's own sequence-classification head: softmax of its logits."""

    name: str
    loaded: LoadedModel
    settings: InferenceSettings = field(default_factory=InferenceSettings)

    def __post_init__(self) -> None:
        if not self.loaded.has_classification_head:
            raise ValueError(
                _(
                    "'{model}' has no sequence-classification head (it is a {head} model). Pick a model id ending in a "
                    "classifier, e.g. distilbert-base-uncased-finetuned-sst-2-english, or use the embedded topic "
                    "classifier."
                ).format(model=self.loaded.name, head=self.loaded.task_head)
            )

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.loaded.class_names

    @property
    def max_tokens(self) -> int:
        return min(self.settings.max_length or self.loaded.max_length, self.loaded.max_length)

    @property
    def description(self) -> str:
        """In the run's language."""
        return _("{model}'s own classification head, with classes {classes}.").format(
            model=self.loaded.name, classes=", ".join(self.class_names)
        )

    @property
    def example(self) -> str | None:
        return None

    def predict_proba(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        model = self.loaded.model
        logits = run_batched(self.loaded, texts, lambda batch: model(**batch).logits, self.settings, progress)
        return _softmax(logits)

    def differentiable_proba(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits = self.loaded.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask).logits
        return torch.softmax(logits.float(), dim=-1)


def topic_classifier(loaded: LoadedModel, settings: InferenceSettings | None = None) -> EmbeddingHeadClassifier:
    """The embedded BBC News topic classifier: the shipped head over ``loaded`` (the embedded MiniLM)."""
    return EmbeddingHeadClassifier(
        "BBC News topics", loaded, LinearHead.load(), settings or InferenceSettings(), example=TOPIC_EXAMPLE
    )


def default_kind(loaded: LoadedModel) -> ClassifierKind:
    """The classifier a page opens on beside the sidebar's model: its own classification head where it has one,
    else the embedded topic head."""
    return "model" if loaded.has_classification_head else "topic"


@dataclass(frozen=True)
class ClassifierSpec:
    """A classifier named by hashable fields, so results can be cached by it.

    kind: a key of :data:`CLASSIFIER_KINDS`; model_name: the model it runs on (the embedded MiniLM for
    "topic"); descriptions: the zero-shot classes, one description each; bf16: bfloat16 autocast.
    """

    kind: ClassifierKind
    model_name: str
    descriptions: tuple[str, ...] = ()
    bf16: bool = False

    def __post_init__(self) -> None:
        if self.kind not in CLASSIFIER_KINDS:
            raise ValueError(
                _("Unknown classifier kind {kind}; choose one of {kinds}.").format(
                    kind=repr(self.kind), kinds=", ".join(CLASSIFIER_KINDS)
                )
            )
        if self.kind == "topic" and self.model_name != EMBEDDED_MODEL:
            raise ValueError(
                _("The topic head was trained on '{embedded}', not on '{model}'.").format(
                    embedded=EMBEDDED_MODEL, model=self.model_name
                )
            )
        if self.kind == "zero-shot":
            parse_class_descriptions("\n".join(self.descriptions))

    @classmethod
    def choose(
        cls, kind: ClassifierKind, sidebar_model: str, descriptions: str = "", bf16: bool = False
    ) -> ClassifierSpec:
        """The spec for ``kind`` beside the sidebar's model: the topic head always runs on the embedded
        MiniLM; ``descriptions`` (one class per line) are read for zero-shot only."""
        model_name = EMBEDDED_MODEL if kind == "topic" else sidebar_model
        classes = parse_class_descriptions(descriptions) if kind == "zero-shot" else ()
        return cls(kind, model_name, classes, bf16)


def build_classifier(spec: ClassifierSpec, loaded: LoadedModel) -> Classifier:
    """The classifier ``spec`` names, on ``loaded`` (which must be ``spec.model_name``)."""
    if loaded.name != spec.model_name:
        raise ValueError(
            _("The spec runs on '{model}' but '{given}' was given.").format(model=spec.model_name, given=loaded.name)
        )
    settings = InferenceSettings(bf16=spec.bf16)
    if spec.kind == "topic":
        return topic_classifier(loaded, settings)
    if spec.kind == "zero-shot":
        return ZeroShotClassifier(f"zero-shot on {spec.model_name}", loaded, spec.descriptions, settings)
    return SequenceClassifier(spec.model_name, loaded, settings)


@dataclass(frozen=True)
class Prediction:
    """A classifier's probabilities on one text, and whether the text is within its reach.

    class_names: (classes,); probabilities: (classes,), summing to 1.
    """

    text: str
    class_names: tuple[str, ...]
    probabilities: np.ndarray

    @property
    def top_index(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def top_probability(self) -> float:
        return float(self.probabilities[self.top_index])

    @property
    def unsure(self) -> bool:
        """True when no class reaches :data:`UNSURE_BELOW`: the text is far from what the classifier knows."""
        return self.top_probability < UNSURE_BELOW

    def summary(self) -> str:
        """e.g. ``sport (42%)``, the share as the run's language writes it."""
        return f"{self.class_names[self.top_index]} ({percent(self.top_probability)})"


def predict(classifier: Classifier, text: str) -> Prediction:
    """``classifier``'s prediction on one text."""
    return Prediction(text, tuple(classifier.class_names), classifier.predict_proba([text])[0].astype(np.float64))


def seconds_per_text(classifier: Classifier, text: str, samples: int = 32) -> float:
    """Measured seconds per classifier call on texts as long as ``text``, for time estimates.

    A first small call warms the model up (its first batches pay one-off kernel set-up costs).
    """
    variants = [text + " " * index for index in range(samples + 4)]
    classifier.predict_proba(variants[samples:])
    started = time.perf_counter()
    classifier.predict_proba(variants[:samples])
    return (time.perf_counter() - started) / samples
