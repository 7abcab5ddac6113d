"""LIME (Ribeiro et al. 2016) on any :class:`~xray.models.classifiers.Classifier`, with ``LimeTextExplainer``.

LIME deletes random subsets of the words of a text, asks the classifier for the class
probability of each perturbed text, and fits a weighted linear model (the local surrogate) on
which words were kept; each word's weight is its coefficient. The surrogate's R² (``score``)
says how much of the classifier's behaviour near this text a linear model over words captures.

Words are what lime splits on ``\\W+`` (runs of letters, digits and underscores); with lime's
default ``bow=True`` a word is removed everywhere at once, so its weight applies to every occurrence.

The classifier sees all perturbed texts in one :meth:`predict_proba` call, which skips
duplicates and batches texts of similar length (:func:`xray.models.batching.run_batched`). The
random draws are lime's own, from ``LimeTextExplainer(random_state=seed)``, and the classifier
draws none, so the weights equal those of the plain lime recipe with the same seed (up to float
rounding of the batched forward passes; see ``bench/explainers_lime.py``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lime.lime_base import LimeBase
from lime.lime_text import IndexedString, LimeTextExplainer
from sklearn.metrics import pairwise_distances

from xray.models.classifiers import Classifier
from xray.progress import Progress
from xray.results import json_text
from xray.text import prepare_text
from xray.translation import N_, Message, _, number, percent

MIN_SAMPLES, MAX_SAMPLES = 100, 50_000
MIN_FEATURES, MAX_FEATURES = 1, 100
MAX_WORDS = 1000  # distinct words: lime's sample matrix is (num_samples, words)
MAX_SEED = 2**32 - 1  # numpy's RandomState, which lime seeds, takes 0 .. 2**32 - 1
POOR_FIT = 0.5
"""Below this weighted R², the surrogate explains too little of the classifier to trust its weights."""
KERNEL_WIDTH = 25.0  # LimeTextExplainer's default, on cosine distances times 100

Span = tuple[int, int, float | None]
"""(start, end, weight): ``text[start:end]`` is one occurrence of a word; weight None when it is not a feature."""


@dataclass(frozen=True, kw_only=True)
class WordSurrogate:
    """What a LIME explanation over a text's words holds, whatever output it explains (a class's probability
    here, a factor's code in :mod:`xray.techniques.factor_lime`).

    words, weights: the surrogate's features, strongest first: (features,) words and their weights (positive: the
        word's presence raises the output). At most ``num_features`` of the text's words.
    intercept: the surrogate's intercept; local_prediction: its prediction for the full text, to compare with the
        output itself.
    score: R² of the weighted surrogate on the perturbed samples (1 is a perfect fit; near 0 or negative: a linear
        model over words explains little of the output here).
    spans: every word occurrence of the text, in text order, with its feature's weight (None where it is not one).
    num_samples, seed: LIME's parameters; distinct_texts: perturbed texts actually run (duplicates skipped);
        seconds: wall time of the whole explanation.
    """

    words: list[str]
    weights: np.ndarray
    intercept: float
    local_prediction: float
    score: float
    spans: list[Span]
    num_samples: int
    seed: int
    distinct_texts: int
    seconds: float

    @property
    def poor_fit(self) -> bool:
        """True when the surrogate's R² is under :data:`POOR_FIT`: read its weights with care."""
        return self.score < POOR_FIT

    def table(self) -> pd.DataFrame:
        """One row per feature, strongest first: word, weight."""
        return pd.DataFrame({"word": self.words, "weight": self.weights})

    def surrogate_json(self) -> dict[str, object]:
        """The surrogate's part of ``to_json``: features (word, weight), intercept, local_prediction and score."""
        return {
            "features": [
                {"word": word, "weight": weight} for word, weight in zip(self.words, self.weights.tolist(), strict=True)
            ],
            "intercept": self.intercept,
            "local_prediction": self.local_prediction,
            "score": self.score,
        }


@dataclass(frozen=True)
class LimeExplanation(WordSurrogate):
    """LIME's local explanation of one class on one text; the surrogate's fields are :class:`WordSurrogate`'s
    (its output: the class's probability, its words: the words lime split the text into, each removed everywhere
    at once).

    text: the text explained (after :func:`xray.text.prepare_text`).
    class_index: the explained class; class_names: (classes,) names of the classifier's classes.
    probabilities: (classes,) the classifier's probabilities on the full text.
    html: lime's standalone ``as_html()`` page (about 1.2 MB of inline JavaScript), for download only.
    classifier_name: the classifier explained.
    notices: one short sentence per caveat (text cleaned, text longer than the classifier reads).
    """

    text: str
    class_index: int
    class_names: tuple[str, ...]
    probabilities: np.ndarray
    html: str
    classifier_name: str
    notices: tuple[str, ...]

    @property
    def predicted_index(self) -> int:
        return int(np.argmax(self.probabilities))

    def fit_summary(self) -> str:
        """How well the surrogate fits, in one or two sentences in the run's language."""
        predicted = _(
            "The linear surrogate predicts {surrogate} for the full text, where the classifier gives {probability}."
        ).format(surrogate=number(self.local_prediction), probability=number(self.probabilities[self.class_index]))
        if self.poor_fit:
            said = _(
                "Poor fit (R² {score}): the linear surrogate explains little of the classifier's behaviour near this "
                "text, so read the weights with care. Try more samples or more words. {predicted}"
            )
            return said.format(score=number(self.score), predicted=predicted)
        said = _("The surrogate explains {share} of the weighted variance of the class probability. {predicted}")
        return said.format(share=percent(self.score), predicted=predicted)

    def to_json(self) -> str:
        """Everything but the HTML page, as JSON."""
        payload = {
            "classifier": self.classifier_name,
            "text": self.text,
            "class": self.class_names[self.class_index],
            "class_index": self.class_index,
            "probabilities": dict(zip(self.class_names, self.probabilities.tolist(), strict=True)),
            **self.surrogate_json(),
            "spans": [{"start": start, "end": end, "weight": weight} for start, end, weight in self.spans],
            "num_samples": self.num_samples,
            "seed": self.seed,
            "distinct_texts": self.distinct_texts,
            "poor_fit": self.poor_fit,
        }
        return json_text(payload)


def word_count(text: str) -> int:
    """Distinct words lime splits ``text`` into (case-sensitive): the most features an explanation can have."""
    return IndexedString(text).num_words()


def expected_distinct_texts(text: str, num_samples: int) -> float:
    """How many distinct texts LIME's ``num_samples`` perturbations of ``text`` hold, on average.

    lime keeps the full text and draws each other sample by picking a count k of words to remove
    (uniform in 1..d for d distinct words), then k of the d words; there are C(d, k) such texts.
    Short texts repeat a lot (12 words allow 4,096 texts in all), which the batching skips.
    """
    words = word_count(text)
    draws = num_samples - 1
    distinct = 1.0
    for removed in range(1, words + 1):
        log_texts = math.lgamma(words + 1) - math.lgamma(removed + 1) - math.lgamma(words - removed + 1)
        # Draws that remove this many words: draws / words, spread over C(d, k) texts, each drawn
        # ``rate`` times on average; the share of those draws that are new is (1 - e^-rate) / rate.
        rate = draws * math.exp(-math.log(words) - log_texts)
        distinct += draws / words * (-math.expm1(-rate) / rate if rate > 1e-12 else 1.0)
    return distinct


@dataclass(frozen=True)
class Surrogate:
    """LIME's weighted linear model over kept features.

    features, weights: (chosen,) feature indices and their weights, largest magnitude first.
    intercept; local_prediction: its prediction with every feature kept; score: its weighted R².
    """

    features: np.ndarray
    weights: np.ndarray
    intercept: float
    local_prediction: float
    score: float


def perturbation_masks(features: int, num_samples: int, seed: int) -> np.ndarray:
    """(num_samples, features) 0/1 rows of which features each perturbed text keeps, drawn as LimeTextExplainer
    draws them: the first row keeps all; every other removes k features, k uniform in 1..features."""
    if features < 1:
        raise ValueError(_("LIME needs at least one feature to remove."))
    random = np.random.RandomState(seed)
    kept = np.ones((num_samples, features))
    for row, size in enumerate(random.randint(1, features + 1, num_samples - 1), start=1):
        kept[row, random.choice(features, size, replace=False)] = 0
    return kept


def fit_surrogate(kept: np.ndarray, outputs: np.ndarray, num_features: int, seed: int) -> Surrogate:
    """lime's local surrogate (``LimeBase``, the kernel and distances of ``LimeTextExplainer``) of ``outputs``
    (samples,), any real-valued output of the perturbed inputs, on ``kept`` (samples, features) from
    :func:`perturbation_masks`."""
    distances = pairwise_distances(kept, kept[:1], metric="cosine").ravel() * 100

    def kernel(distance: np.ndarray) -> np.ndarray:
        return np.sqrt(np.exp(-(distance**2) / KERNEL_WIDTH**2))

    base = LimeBase(kernel, random_state=np.random.RandomState(seed))
    intercept, chosen, score, local = base.explain_instance_with_data(
        kept, np.asarray(outputs, dtype=np.float64)[:, None], distances, 0, min(num_features, kept.shape[1])
    )
    return Surrogate(
        features=np.array([feature for feature, _ in chosen], dtype=np.int64),
        weights=np.array([weight for _, weight in chosen], dtype=np.float64),
        intercept=float(intercept),
        local_prediction=float(np.ravel(local)[0]),
        score=float(score),
    )


def check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(
            _("{name} must be between {low} and {high}, got {value}.").format(
                name=name, low=number(low, 0), high=number(high, 0), value=number(value, 0)
            )
        )


def _length_notice(classifier: Classifier, text: str) -> Message | None:
    limit = classifier.max_tokens
    tokens = len(classifier.loaded.tokenizer(text)["input_ids"])
    if tokens <= limit:
        return None
    return Message(
        N_(
            "The text has {count} tokens but the classifier reads only the first {limit}: words after that cannot "
            "change its prediction, so LIME gives them weights near zero."
        ),
        count=tokens,
        limit=limit,
    )


def _spans(indexed: IndexedString, weight_of: dict[int, float]) -> list[Span]:
    """Character spans of every word occurrence, with the weight of its feature (lime's word id)."""
    occurrence_word = {position: word for word, positions in enumerate(indexed.positions) for position in positions}
    return [
        (int(indexed.string_start[position]), int(indexed.string_start[position]) + len(piece), weight_of.get(word))
        for position, piece in enumerate(indexed.as_list)
        if (word := occurrence_word.get(position)) is not None
    ]


def explain_lime(
    classifier: Classifier,
    text: str,
    *,
    class_index: int | None = None,
    num_samples: int = 5000,
    num_features: int = 10,
    seed: int = 0,
    progress: Progress | None = None,
) -> LimeExplanation:
    """Explain ``classifier``'s probability of ``class_index`` (default: the predicted class) on ``text`` with LIME.

    num_samples: perturbed texts, the full text included (lime's ``num_samples``).
    num_features: words in the surrogate (lime picks them by forward selection up to 6, else by weight).
    seed: lime's ``random_state``; the same seed draws the same perturbations.
    progress: called as ``progress(done, total)`` over the distinct perturbed texts.
    Raises ValueError for an empty text, a text with fewer than two or more than ``MAX_WORDS`` distinct words,
    or parameters out of range.
    """
    prepared = prepare_text(text)
    check_range("num_samples", num_samples, MIN_SAMPLES, MAX_SAMPLES)
    check_range("num_features", num_features, MIN_FEATURES, MAX_FEATURES)
    if class_index is not None:
        check_range("class_index", class_index, 0, len(classifier.class_names) - 1)
    check_range("seed", seed, 0, MAX_SEED)
    words = word_count(prepared.text)
    if words < 2:
        raise ValueError(
            _(
                "LIME needs at least two distinct words to remove and compare; this text has {count}. Words are runs "
                "of letters or digits between spaces and punctuation (text written without spaces counts as one word)."
            ).format(count=words)
        )
    if words > MAX_WORDS:
        raise ValueError(
            _(
                "The text has {count} distinct words; LIME here handles at most {limit} (its samples and surrogate "
                "grow with every word, and the classifier reads only the start anyway). Shorten the text."
            ).format(count=number(words, 0), limit=number(MAX_WORDS, 0))
        )
    length = _length_notice(classifier, prepared.text)
    notices = (*prepared.notices, length) if length else prepared.notices

    distinct: list[int] = []

    def classifier_fn(texts: list[str]) -> np.ndarray:
        distinct.append(len(set(texts)))
        return classifier.predict_proba(texts, progress)

    started = time.perf_counter()
    explainer = LimeTextExplainer(class_names=list(classifier.class_names), random_state=seed)
    explanation = explainer.explain_instance(
        prepared.text,
        classifier_fn,
        labels=() if class_index is None else (class_index,),
        top_labels=1 if class_index is None else None,
        num_features=num_features,
        num_samples=num_samples,
    )
    explained = explanation.available_labels()[0]
    features = explanation.local_exp[explained]
    indexed = explanation.domain_mapper.indexed_string
    return LimeExplanation(
        text=prepared.text,
        class_index=int(explained),
        class_names=tuple(classifier.class_names),
        probabilities=np.asarray(explanation.predict_proba, dtype=np.float64),
        words=[str(indexed.word(word)) for word, _ in features],
        weights=np.array([weight for _, weight in features], dtype=np.float64),
        intercept=float(explanation.intercept[explained]),
        local_prediction=float(np.ravel(explanation.local_pred)[0]),
        score=float(explanation.score),
        spans=_spans(indexed, {int(word): float(weight) for word, weight in features}),
        num_samples=num_samples,
        seed=seed,
        distinct_texts=distinct[0],
        seconds=time.perf_counter() - started,
        html=explanation.as_html(),
        classifier_name=classifier.name,
        notices=notices,
    )
