"""Gradient attributions of a classifier's class probability to the tokens of one text, with captum.

Three methods, all on the model's input (word-piece) embeddings, for one class:

- **Integrated gradients** (Sundararajan et al. 2017): the path from a baseline (every word piece replaced by the
  tokenizer's mask token, or pad where it has none; special tokens kept, so the positions and the summary token
  stay) to the text, ``steps`` points by Gauss-Legendre, in batches of ``internal_batch_size``. Completeness: the
  attributions sum to f(text) − f(baseline); captum's convergence delta is the gap, and the result states it
  against :data:`COMPLETENESS_TOLERANCE`.
- **Gradient × input**: the gradient at the text times the embedding, summed over the embedding.
- **Gradient norm**: the L2 norm of the gradient at each piece's embedding (unsigned: how sensitive, not which way).

captum's ``IntegratedGradients`` and ``Saliency`` run on the embeddings themselves (``inputs_embeds``), which
equals the usual recipe, ``LayerIntegratedGradients`` on the embedding layer (a test checks it), without its
hook: a hook on the shared model would change the forward passes other sessions run on it meanwhile. Pieces are
summed onto words as the comparison sums SHAP's tokens (:func:`xray.words.scores_on_words`). The model runs in
float32 with gradients on, in eval mode, and is only called.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from captum.attr import IntegratedGradients, Saliency

from xray.models.classifiers import Classifier, DifferentiableClassifier
from xray.results import json_text
from xray.text import prepare_text
from xray.translation import N_, SOURCE_LANGUAGE, Message, _, current_language, number, use_language
from xray.words import scores_on_words, split_words

INTEGRATED_GRADIENTS = N_("Integrated gradients")
GRADIENT_X_INPUT = N_("Gradient × input")
GRADIENT_NORM = N_("Gradient norm")
"""The methods' names: keys of the results, translated where they are drawn."""
SIGNED_METHODS = (INTEGRATED_GRADIENTS, GRADIENT_X_INPUT)
"""The methods whose sign says for or against the class (the norm says only how much)."""
DEFAULT_STEPS = 50
MAX_STEPS = 2_000
COMPLETENESS_TOLERANCE = 0.01
"""Largest |convergence delta| (in probability) at which integrated gradients count as complete."""
NO_GRADIENT_PATH = N_(
    "The classifier '{name}' has no differentiable path from embeddings to probabilities, so gradient methods cannot "
    "explain it; SHAP and LIME can, as they only call it on texts."
)


def has_gradient_path(classifier: Classifier) -> bool:
    """Whether ``classifier`` has a differentiable path from its input embeddings to its probabilities."""
    return callable(getattr(classifier, "differentiable_proba", None))


def gradient_path(classifier: Classifier) -> DifferentiableClassifier:
    """``classifier`` itself where it has a differentiable path; ValueError, saying so, where it has none."""
    if not has_gradient_path(classifier):
        raise ValueError(_(NO_GRADIENT_PATH).format(name=classifier.name))
    return classifier  # type: ignore[return-value]


def signed(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals and its sign, + included, as the run's language writes numbers."""
    return ("+" if value >= 0 else "") + number(value, digits)


@dataclass(frozen=True)
class GradientExplanation:
    """Gradient attributions of one class's probability on one text.

    tokens: the pieces the classifier reads (special tokens included); spans: (start, end) of each in ``text``
    (empty for special tokens); values: method -> (tokens,) attribution; words, word_spans: the text's words and
    their (start, end); word_values: method -> (words,) the pieces' attributions summed per word.
    probabilities: (classes,) on the text; baseline_probability: f(baseline) for the class; delta: captum's
    convergence delta (sum of integrated gradients − (f(text) − f(baseline))); steps, internal_batch_size: the
    integration's; seconds: the time the three methods took.
    """

    text: str
    class_index: int
    class_name: str
    tokens: list[str]
    spans: list[tuple[int, int]]
    values: dict[str, np.ndarray]
    words: list[str]
    word_spans: list[tuple[int, int]]
    word_values: dict[str, np.ndarray]
    probabilities: np.ndarray
    baseline_probability: float
    delta: float
    steps: int
    internal_batch_size: int
    seconds: float
    notices: tuple[str, ...] = field(default=())

    @property
    def probability(self) -> float:
        """f(text): the explained class's probability on the text."""
        return float(self.probabilities[self.class_index])

    @property
    def complete(self) -> bool:
        """Whether integrated gradients add up to f(text) − f(baseline) within :data:`COMPLETENESS_TOLERANCE`."""
        return abs(self.delta) <= COMPLETENESS_TOLERANCE

    def verdict(self) -> str:
        """One sentence on completeness, with what to do when it fails, in the run's language."""
        total = float(self.values[INTEGRATED_GRADIENTS].sum())
        numbers = {
            "total": signed(total, 4),
            "gap": signed(self.probability - self.baseline_probability, 4),
            "probability": number(self.probability, 4),
            "baseline": number(self.baseline_probability, 4),
            "delta": signed(self.delta, 4),
            "tolerance": number(COMPLETENESS_TOLERANCE),
        }
        if self.complete:
            said = _(
                "Integrated gradients sum to {total}; f(text) − f(baseline) is {gap} ({probability} − {baseline}), "
                "a gap of {delta}, within {tolerance}: complete."
            )
            return said.format(**numbers)
        said = _(
            "Integrated gradients sum to {total}; f(text) − f(baseline) is {gap} ({probability} − {baseline}), a gap "
            "of {delta}, more than {tolerance}: the {steps} steps are too few for this path; raise the steps."
        )
        return said.format(**numbers, steps=self.steps)

    def top_word(self, method: str = INTEGRATED_GRADIENTS) -> str:
        return self.words[int(np.argmax(self.word_values[method]))]

    def table(self) -> pd.DataFrame:
        """One row per piece: position, token, start, end, one column per method."""
        starts, ends = zip(*self.spans, strict=True) if self.spans else ((), ())
        frame = pd.DataFrame({"position": range(len(self.tokens)), "token": self.tokens, "start": starts, "end": ends})
        return frame.assign(**{method: values for method, values in self.values.items()})

    def word_table(self) -> pd.DataFrame:
        """One row per word, one column per method."""
        return pd.DataFrame({"word": self.words, **self.word_values})

    def word_spans_scored(self, method: str) -> list[tuple[int, int, float]]:
        """(start, end, score) of every word under ``method``, as the highlighted text takes them."""
        scored = zip(self.word_spans, self.word_values[method], strict=True)
        return [(start, end, float(value)) for (start, end), value in scored]

    def to_json(self) -> str:
        return json_text(
            {
                "text": self.text,
                "class": self.class_name,
                "probability": self.probability,
                "probabilities": self.probabilities,
                "baseline_probability": self.baseline_probability,
                "convergence_delta": self.delta,
                "complete": self.complete,
                "steps": self.steps,
                "internal_batch_size": self.internal_batch_size,
                "tokens": self.tokens,
                "spans": self.spans,
                "values": self.values,
                "words": self.words,
                "word_values": self.word_values,
                "verdict": _in_source_language(self.verdict),
            }
        )


def _in_source_language(sentence: Callable[[], str]) -> str:
    """``sentence()`` written in English whatever the run's language: an export reads alike for everyone."""
    language = current_language()
    use_language(SOURCE_LANGUAGE)
    try:
        return sentence()
    finally:
        use_language(language)


@dataclass(frozen=True)
class EncodedText:
    """A text as the classifier reads it: ids, mask (1, tokens); baseline (1, tokens): every non-special piece
    replaced by the mask token (pad where the tokenizer has none); spans of each piece in the text."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    baseline_ids: torch.Tensor
    spans: list[tuple[int, int]]
    tokens: list[str]


def encode(classifier: Classifier, text: str) -> EncodedText:
    """``text`` tokenised as ``predict_proba`` reads it (truncated to ``classifier.max_tokens``), with the
    baseline integrated gradients start from."""
    tokenizer = classifier.loaded.tokenizer
    encoding = tokenizer(
        text,
        truncation=True,
        max_length=classifier.max_tokens,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
        return_tensors="pt",
    )
    blank = tokenizer.mask_token_id if tokenizer.mask_token_id is not None else tokenizer.pad_token_id
    if blank is None:
        raise ValueError(
            _("'{model}' has neither a mask nor a pad token to build the baseline from.").format(
                model=classifier.loaded.name
            )
        )
    ids = encoding["input_ids"].to(classifier.loaded.device)
    special = encoding["special_tokens_mask"].bool().to(ids.device)
    baseline = torch.where(special, ids, torch.full_like(ids, blank))
    spans = [(int(start), int(end)) for start, end in encoding["offset_mapping"][0].tolist()]
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"][0].tolist())
    return EncodedText(ids, encoding["attention_mask"].to(ids.device), baseline, spans, tokens)


def explain_gradients(
    classifier: Classifier,
    text: str,
    *,
    class_index: int | None = None,
    steps: int = DEFAULT_STEPS,
    internal_batch_size: int | None = None,
) -> GradientExplanation:
    """Integrated gradients, gradient × input and the gradient norm of ``class_index``'s probability (None: the
    predicted class) on every piece of ``text``; ``internal_batch_size`` None: all ``steps`` in one batch."""
    path = gradient_path(classifier)
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(
            _("steps must be between 1 and {most}, got {steps}.").format(most=number(MAX_STEPS, 0), steps=steps)
        )
    if internal_batch_size is not None and internal_batch_size < 1:
        raise ValueError(_("internal_batch_size must be at least 1, got {size}.").format(size=internal_batch_size))
    started = time.perf_counter()
    prepared = prepare_text(text)
    words = split_words(prepared.text)
    encoded = encode(classifier, prepared.text)
    layer = classifier.loaded.model.get_input_embeddings()

    def forward(inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return path.differentiable_proba(inputs_embeds, attention_mask.expand(inputs_embeds.shape[0], -1))

    with torch.enable_grad():
        with torch.no_grad():
            embedded, blank = layer(encoded.input_ids).float(), layer(encoded.baseline_ids).float()
            full = forward(embedded, encoded.attention_mask)[0]
            start = forward(blank, encoded.attention_mask)[0]
        embedded.requires_grad_()  # a tensor of ours, not the model's: the gradients are taken with respect to it
        index = int(full.argmax()) if class_index is None else class_index
        if not 0 <= index < full.shape[0]:
            raise ValueError(
                _("class_index must be in 0..{last}, got {index}.").format(last=full.shape[0] - 1, index=class_index)
            )
        batch = internal_batch_size or steps
        integrated, delta = IntegratedGradients(forward).attribute(
            embedded,
            baselines=blank,
            target=index,
            additional_forward_args=(encoded.attention_mask,),
            n_steps=steps,
            internal_batch_size=batch,
            return_convergence_delta=True,
        )
        gradient = Saliency(forward).attribute(
            embedded, target=index, abs=False, additional_forward_args=(encoded.attention_mask,)
        )
    values = {
        INTEGRATED_GRADIENTS: integrated.sum(-1)[0],
        GRADIENT_X_INPUT: (gradient * embedded).sum(-1)[0],
        GRADIENT_NORM: gradient.norm(dim=-1)[0],
    }
    values = {method: value.detach().float().cpu().numpy().astype(np.float64) for method, value in values.items()}
    notices = prepared.notices
    if encoded.spans and max(end for _, end in encoded.spans) < len(prepared.text.rstrip()):
        cut = N_("The classifier reads only the first {count} tokens; later words get 0.")
        notices = (*notices, Message(cut, count=classifier.max_tokens))
    return GradientExplanation(
        text=prepared.text,
        class_index=index,
        class_name=classifier.class_names[index],
        tokens=encoded.tokens,
        spans=encoded.spans,
        values=values,
        words=[word.text for word in words],
        word_spans=[(word.start, word.end) for word in words],
        word_values={method: scores_on_words(words, encoded.spans, value) for method, value in values.items()},
        probabilities=full.detach().float().cpu().numpy().astype(np.float64),
        baseline_probability=float(start[index]),
        delta=float(delta[0]),
        steps=steps,
        internal_batch_size=batch,
        seconds=time.perf_counter() - started,
        notices=notices,
    )
