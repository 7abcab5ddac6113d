"""Which explanation to trust: SHAP, LIME, gradients and attention side by side on the words of one input.

Agreement is the Spearman rank correlation of two methods' word scores. Faithfulness follows
ERASER (DeYoung et al. 2020) and ferret: remove a method's top-ranked words and see how much the
probability of the class drops (comprehensiveness: a faithful method's top words matter, so
higher is better), or keep only those words and see how much it drops (sufficiency: lower is
better). AOPC averages each curve over the removal fractions. A random word order, averaged
over a few seeds, is the baseline every method should beat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from xray.models.classifiers import Classifier
from xray.progress import Progress
from xray.results import json_text
from xray.techniques.attention import attention_rollout, compute_attention
from xray.techniques.gradients import (
    DEFAULT_STEPS,
    GRADIENT_NORM,
    GRADIENT_X_INPUT,
    INTEGRATED_GRADIENTS,
    NO_GRADIENT_PATH,
    SIGNED_METHODS,
    GradientExplanation,
    explain_gradients,
    has_gradient_path,
)
from xray.techniques.lime_explain import MAX_FEATURES, LimeExplanation, explain_lime, word_count
from xray.techniques.shap_explain import ShapExplanation, explain_shap
from xray.translation import N_, Message, _
from xray.words import Word, locate_pieces, only_words, scores_on_words, split_words, token_spans, without_words

DEFAULT_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5)
RANDOM = N_("Random order")
LAST_LAYER_ATTENTION = N_("Attention from {token}, last layer")
ROLLOUT = N_("Rollout from {token}")
"""The attention scores' names, from the summary token ([CLS], or a decoder's last token)."""
NAMED_METHODS = (INTEGRATED_GRADIENTS, GRADIENT_X_INPUT, GRADIENT_NORM, RANDOM)
"""The methods with a descriptive name, translated where drawn (SHAP and LIME are names of their own)."""
LIME_SEED = 0


def method_label(method: str) -> str:
    """A method's name (a key of the scores, in English, as a saved run holds it too) in the run's language:
    descriptive names translated, the attention scores' around their summary token, SHAP and LIME as they are."""
    if method in NAMED_METHODS:
        return _(method)
    for template in (LAST_LAYER_ATTENTION, ROLLOUT):
        pattern = re.escape(template).replace(re.escape("{token}"), "(?P<token>.+)")
        if matched := re.fullmatch(pattern, method):
            return _(template).format(token=matched["token"])
    return method


@dataclass(frozen=True)
class ExplainerComparison:
    """Word-level comparison of explanation methods on one text, for one class.

    words: the text's words; scores: method -> (words,) score towards the class.
    agreement: (methods, methods) Spearman correlation, in the order of ``scores``; NaN where a
        method gives every word the same score.
    fractions: (steps,) share of words removed (comprehensiveness) or kept (sufficiency).
    comprehensiveness, sufficiency: method -> (steps,) probability drops; RANDOM included.
    class_name: the class compared; probability: its probability on the full text.
    notices: the explainers' short sentences for the user (text cleaned, text longer than the classifier reads).
    """

    words: list[str]
    class_index: int
    class_name: str
    probability: float
    scores: dict[str, np.ndarray]
    agreement: np.ndarray
    fractions: np.ndarray
    comprehensiveness: dict[str, np.ndarray]
    sufficiency: dict[str, np.ndarray]
    notices: tuple[str, ...] = field(default=())

    def aopc(self) -> dict[str, tuple[float, float]]:
        """method -> (AOPC comprehensiveness, AOPC sufficiency)."""
        return {
            method: (float(self.comprehensiveness[method].mean()), float(self.sufficiency[method].mean()))
            for method in self.comprehensiveness
        }

    def most_comprehensive(self) -> str:
        """The method (random order excluded) whose top words, removed, lower the probability most."""
        return max(self.scores, key=lambda method: self.comprehensiveness[method].mean())

    def beats_random(self, method: str) -> bool:
        """True when removing ``method``'s top words lowers the probability more than a random order does."""
        aopc = self.aopc()
        return aopc[method][0] > aopc[RANDOM][0]

    def verdict(self) -> str:
        """One sentence in the run's language: which method is most comprehensive here, and whether it beats the
        random order."""
        best = self.most_comprehensive()
        if self.beats_random(best):
            return _("Here **{method}** has the highest comprehensiveness.").format(method=method_label(best))
        said = _("Here **{method}** has the highest comprehensiveness, yet no method beats the random order.")
        return said.format(method=method_label(best))

    def table(self) -> pd.DataFrame:
        """One row per word, one column of scores per method."""
        return pd.DataFrame({"word": self.words, **self.scores})

    def aopc_table(self) -> pd.DataFrame:
        """One row per method (the random order included): AOPC of comprehensiveness and of sufficiency."""
        return pd.DataFrame(
            [
                {
                    "method": method,
                    "comprehensiveness AOPC (higher is better)": comprehensive,
                    "sufficiency AOPC (lower is better)": sufficient,
                }
                for method, (comprehensive, sufficient) in self.aopc().items()
            ]
        )

    def to_json(self) -> str:
        """Everything shown on the page as JSON; undefined correlations become null."""
        methods = list(self.scores)
        payload = {
            "class": self.class_name,
            "probability": self.probability,
            "words": self.words,
            "scores": {method: values.tolist() for method, values in self.scores.items()},
            "spearman": {"methods": methods, "matrix": self.agreement},
            "fractions": self.fractions,
            "comprehensiveness": self.comprehensiveness,
            "sufficiency": self.sufficiency,
            "aopc": {method: {"comprehensiveness": c, "sufficiency": s} for method, (c, s) in self.aopc().items()},
        }
        return json_text(payload)


def attention_word_scores(classifier: Classifier, text: str, words: list[Word]) -> dict[str, np.ndarray]:
    """Two attention-based scores per word: the last layer's attention from the summary token
    ([CLS], or the last token of a decoder), head-averaged, and attention rollout from it."""
    loaded = classifier.loaded
    result = compute_attention(loaded, text)
    attentions = result.main.attentions
    source = result.summary_position
    spans = token_spans(loaded.tokenizer, text, loaded.max_length)
    if len(spans) != len(result.tokens):
        raise ValueError(_("The tokenizer's offsets do not line up with the model's tokens for this text."))
    summary = result.summary_token
    last_layer = attentions[-1, :, source, :].mean(axis=0)
    rollout = attention_rollout(attentions)[-1, source]
    return {
        LAST_LAYER_ATTENTION.format(token=summary): scores_on_words(words, spans, last_layer),
        ROLLOUT.format(token=summary): scores_on_words(words, spans, rollout),
    }


def method_word_scores(
    classifier: Classifier,
    shap_explanation: ShapExplanation,
    lime_explanation: LimeExplanation,
    class_index: int,
    gradients: GradientExplanation | None = None,
) -> tuple[list[Word], dict[str, np.ndarray]]:
    """The words of the explained text and each method's (words,) scores for ``class_index``:
    SHAP (its token values summed per word), LIME (its word weights; words it left out score 0),
    integrated gradients and gradient × input where ``gradients`` is given (their pieces summed per word),
    and the two attention scores of :func:`attention_word_scores`."""
    text = shap_explanation.text
    explained = {"LIME": lime_explanation, **({_("The gradients"): gradients} if gradients is not None else {})}
    for method, explanation in explained.items():
        if explanation.text != text:
            raise ValueError(
                _("SHAP and {method} explained different texts; explain the same text with each.").format(method=method)
            )
        if explanation.class_index != class_index:
            raise ValueError(
                _("{method} explained class {explained}, not class {index}.").format(
                    method=method, explained=explanation.class_index, index=class_index
                )
            )
    words = split_words(text)
    lime_spans = [(start, end) for start, end, _ in lime_explanation.spans]
    lime_weights = np.array([weight or 0.0 for *_, weight in lime_explanation.spans])
    scores = {
        "SHAP": scores_on_words(
            words, locate_pieces(text, shap_explanation.tokens), shap_explanation.values[:, class_index]
        ),
        "LIME": scores_on_words(words, lime_spans, lime_weights),
    }
    if gradients is not None:
        scores.update({method: gradients.word_values[method] for method in SIGNED_METHODS})
    scores.update(attention_word_scores(classifier, text, words))
    return words, scores


def gradients_if_any(
    classifier: Classifier, text: str, class_index: int, steps: int = DEFAULT_STEPS
) -> tuple[GradientExplanation | None, tuple[str, ...]]:
    """The gradient attributions of ``text`` for ``class_index`` and no notice; or None and a notice saying why
    the gradient methods are left out, where ``classifier`` has no differentiable path."""
    if not has_gradient_path(classifier):
        reason = Message(NO_GRADIENT_PATH, name=classifier.name)
        return None, (Message(N_("{reason} The gradient methods are left out of the comparison."), reason=reason),)
    return explain_gradients(classifier, text, class_index=class_index, steps=steps), ()


def rank_agreement(scores: dict[str, np.ndarray]) -> np.ndarray:
    """(methods, methods) Spearman correlation of the methods' word scores; NaN for constant scores."""
    names = list(scores)
    matrix = np.eye(len(names))
    for row, first in enumerate(names):
        for column in range(row + 1, len(names)):
            second = scores[names[column]]
            constant = np.ptp(scores[first]) == 0 or np.ptp(second) == 0
            value = np.nan if constant else float(spearmanr(scores[first], second).statistic)
            matrix[row, column] = matrix[column, row] = value
    return matrix


def _top_counts(word_count: int, fractions: tuple[float, ...]) -> list[int]:
    return [max(1, round(fraction * word_count)) for fraction in fractions]


def compare_explanations(
    classifier: Classifier,
    text: str,
    class_index: int,
    words: list[Word],
    scores: dict[str, np.ndarray],
    *,
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS,
    random_orders: int = 5,
    seed: int = 0,
) -> ExplainerComparison:
    """Agreement and faithfulness of each method's word scores for ``class_index`` on ``text``.

    scores: method -> (words,) score towards the class (higher = more support). All perturbed
    texts go to the classifier in one call.
    """
    if not 0 <= class_index < len(classifier.class_names):
        raise ValueError(
            _("class_index must be in 0..{last}, got {index}.").format(
                last=len(classifier.class_names) - 1, index=class_index
            )
        )
    if len(words) < 2:
        raise ValueError(_("Comparing explanations needs at least two words."))
    if not fractions or any(not 0.0 < fraction < 1.0 for fraction in fractions):
        raise ValueError(_("fractions must lie strictly between 0 and 1, got {fractions}.").format(fractions=fractions))
    for method, values in scores.items():
        if values.shape != (len(words),):
            raise ValueError(
                _("{method} has {shape} scores for {count} words.").format(
                    method=method, shape=values.shape, count=len(words)
                )
            )
    generator = np.random.default_rng(seed)
    orders = {method: [np.argsort(-values, kind="stable")] for method, values in scores.items()}
    orders[RANDOM] = [generator.permutation(len(words)) for _ in range(random_orders)]
    counts = _top_counts(len(words), fractions)
    texts = [text]
    for method_orders in orders.values():
        for order in method_orders:
            for count in counts:
                texts.append(without_words(text, words, order[:count]))
                texts.append(only_words(words, order[:count]))
    probabilities = classifier.predict_proba(texts)[:, class_index]
    full = float(probabilities[0])
    drops = (full - probabilities[1:]).reshape(-1, len(counts), 2)
    comprehensiveness, sufficiency, row = {}, {}, 0
    for method, method_orders in orders.items():
        block = drops[row : row + len(method_orders)].mean(axis=0)
        comprehensiveness[method], sufficiency[method] = block[:, 0], block[:, 1]
        row += len(method_orders)
    return ExplainerComparison(
        words=[word.text for word in words],
        class_index=class_index,
        class_name=classifier.class_names[class_index],
        probability=full,
        scores=scores,
        agreement=rank_agreement(scores),
        fractions=np.array(fractions),
        comprehensiveness=comprehensiveness,
        sufficiency=sufficiency,
    )


@dataclass(frozen=True)
class MethodScores:
    """Every method's word scores on one text, for one class: text (cleaned as the explainers read it), words, the
    class explained, its probability on the text (SHAP's output), scores: method -> (words,) and the explainers'
    notices."""

    text: str
    words: list[Word]
    class_index: int
    probability: float
    scores: dict[str, np.ndarray]
    notices: tuple[str, ...]


def explain_methods(
    classifier: Classifier,
    text: str,
    *,
    class_index: int | None = None,
    max_evals: int = 500,
    num_samples: int = 2000,
    steps: int = DEFAULT_STEPS,
    progress: Progress | None = None,
) -> MethodScores:
    """Each method's word scores for ``class_index`` (None: the predicted class) on ``text``: SHAP with
    ``max_evals``, LIME on every word (up to its maximum) with ``num_samples`` and seed 0, integrated gradients with
    ``steps`` and gradient × input (where the classifier has a differentiable path; a notice says so where not) and
    both attention scores. ``progress`` sees SHAP's masked texts, then LIME's distinct texts."""
    shap_explanation = explain_shap(classifier, text, max_evals=max_evals, progress=progress)
    index = shap_explanation.predicted_class if class_index is None else class_index
    features = min(MAX_FEATURES, word_count(shap_explanation.text))
    lime_explanation = explain_lime(
        classifier,
        text,
        class_index=index,
        num_samples=num_samples,
        num_features=features,
        seed=LIME_SEED,
        progress=progress,
    )
    gradients, missing = gradients_if_any(classifier, shap_explanation.text, index, steps)
    words, scores = method_word_scores(classifier, shap_explanation, lime_explanation, index, gradients)
    notices = shap_explanation.notices + lime_explanation.notices + missing
    probability = float(shap_explanation.output[index])
    return MethodScores(shap_explanation.text, words, index, probability, scores, tuple(dict.fromkeys(notices)))


def explain_and_compare(classifier: Classifier, text: str, **options: Any) -> ExplainerComparison:
    """The whole comparison on ``text``: :func:`explain_methods` (``options`` are its keyword arguments: class_index,
    max_evals, num_samples, steps, progress), then agreement and faithfulness."""
    explained = explain_methods(classifier, text, **options)
    comparison = compare_explanations(
        classifier, explained.text, explained.class_index, explained.words, explained.scores
    )
    return replace(comparison, notices=explained.notices)
