"""SHAP values of a text classifier: shap's Partition explainer with a Text masker.

The Partition explainer hides groups of tokens (the masker's tokenizer pieces, hidden as the
tokenizer's mask token or "...") following a hierarchy of the tokens, and shares the change in
the classifier's probabilities between them: the Owen values of that hierarchy, which are
Shapley values wherever the hierarchy does not matter. They add up exactly: the base value
(the probabilities with every token hidden) plus the sum of a class's values is the probability
of the full text (:attr:`ShapExplanation.additivity_gap`).

How shap batches calls to the model (shap 0.51). ``explainer(texts, batch_size="auto")`` takes
the masker's ``default_batch_size``, 5 for ``shap.maskers.Text``: the Owen recursion pops nodes
of the hierarchy from a priority queue until it holds at least ``batch_size`` masks (two per
node), so ``f`` gets about 6 texts per call: 86 calls for ``max_evals=500`` on a 25-token
sentence. A node's priority comes from the model outputs of its parent, so the batch size
decides the order in which nodes are split and, once ``max_evals`` runs out, which stay unsplit:
a larger ``batch_size`` changes the values (BBC topic classifier, that sentence: by 3e-3 to
1.5e-2 at batch 64 or 500; by nothing at 16 there, by luck rather than by design). Only when
the budget covers the whole hierarchy (there, ``max_evals=1500``: 888 texts suffice) does the
batch size not matter. Texts also repeat across calls: those 500 evaluations hold only 247
distinct texts (e.g. splitting off a group of tokens the masker never hides changes nothing).

So :func:`explain_shap` runs the plain recipe's traversal and answers it from a cache:

1. Prefetch: the explainer runs with ``batch_size=64``; each distinct masked text goes through
   ``classifier.predict_proba`` once, in about a dozen calls (our batching: sorted, padded per batch).
2. Replay: the same explainer runs again with shap's default batch size, the very traversal of
   ``shap.Explainer(f, shap.maskers.Text(tokenizer))([text], max_evals=...)``, asking almost
   only for texts the prefetch holds (a call or two of a few new texts, at most).

The values equal the plain recipe's up to float32 round-off (3e-8 measured: same model, other
batches), with the model run on half as many texts in 14 calls instead of 86; the replay costs
~0.05 s of shap's bookkeeping. ``python -m bench.explainers_shap`` measures it: on a busy 2-core
CPU, about 1.0 s in float32 against 7-8 s for the plain recipe with ``f`` on one text at a time
and 2.9 s with ``f`` batched (shap still hands it 6 texts at a time); 0.6 s under bfloat16.

Input rules (:func:`check_text`): empty text is refused (:func:`xray.text.prepare_text`); so is a
text with fewer than two tokens the masker can hide (shap would hand the whole change to that one
token, which explains nothing), and a text longer than the model maximum: the masker tokenizes
the whole text, so the tokens past the maximum would cost evaluations yet get no credit; shortening
the text is the honest remedy. A text longer than the classifier reads (the topic head reads 128
tokens of MiniLM's 512) is explained whole, with a notice: tokens past its window get 0 (measured:
below 1e-9).

:func:`shap_text_html` returns shap's own text plot, which is inline SVG, HTML and event
handlers only (no script from a CDN); tokens and class names are escaped.
"""

from __future__ import annotations

import html
import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse
import shap

from xray.models.classifiers import Classifier
from xray.progress import Progress
from xray.results import json_text
from xray.text import PreparedText, position_labels, prepare_text
from xray.translation import N_, Message, _, number

MIN_EVALS = 10
"""Smallest budget accepted: two evaluations go to the fully hidden and the full text, the rest split tokens."""
# shap 0.51 formats colours as tuples of numpy scalars: under numpy 2 their repr gives
# "rgb(np.float64(255.0), ...)", which browsers ignore, so every token is drawn black or uncoloured
# (shap issue #4146, fixed upstream by shap PR #4332 after 0.51).
_NUMPY_SCALAR = re.compile(r"np\.float(?:32|64)\(([-+.\deE]+)\)")
# shap's force plot writes each token inside its arrow, in an <svg> as wide as the arrow that crops the rest: a token
# with a small value shows as a stump ("nited" for "United"). Its labels get FORCE_LABEL_CLASS, and FIT_LABELS hides,
# in the browser and at whatever width the plot is drawn, every label that does not fit its arrow whole; hovering the
# arrow still shows its value and underlines its token in the text below.
_FORCE_LABEL = '<svg x="0" y="0" width="100%" height="100%">    <text '
FORCE_LABEL_CLASS = "xray-force-label"
ARROW_PIXELS = 12
"""Pixels of a label's arrow that the chevrons may cover at either end: up to 12 at one and 8 at the other, around a
label drawn in the middle."""
FIT_LABELS = f"""<script>(() => {{
  const fit = () => {{
    for (const label of document.querySelectorAll("text.{FORCE_LABEL_CLASS}")) {{
      const room = label.parentNode.width.baseVal.value - 2 * {ARROW_PIXELS};
      label.style.visibility = label.getComputedTextLength() > room ? "hidden" : "visible";
    }}
  }};
  addEventListener("load", fit);
  addEventListener("resize", fit);
  fit();
}})();</script>"""
PREFETCH_BATCH_SIZE = 64
FLOAT32_TOLERANCE = 1e-5
"""Additivity gap allowed in float32. Measured: 0 to 1e-16 (both sides run the full text alone in its batch)."""
BFLOAT16_TOLERANCE = 1e-3
"""Additivity gap allowed under bfloat16 autocast: measured 0 to 1e-15 too, but bf16 kernels may vary by batch shape."""
DISTINCT_SHARE = 0.5
"""Share of shap's evaluations that are distinct texts: 247 of 500 measured on a 25-token sentence."""
COMPILE_SECONDS = 5.0
"""numba's one-off compilation of shap's code in a new process: 4.1 to 5.0 s measured by bench.explainers_shap."""
_compiled = threading.Event()


@dataclass(frozen=True)
class ShapExplanation:
    """SHAP values of one text, for every class.

    text: the text explained (after :func:`xray.text.prepare_text`).
    tokens: (tokens,) the masker's pieces of the text as shap shows them ("" for [CLS], [SEP]).
    maskable: (tokens,) False for pieces the masker never hides ([CLS], [SEP]; their values are 0).
    values: (tokens, classes) each token's share of ``output - base_values``.
    base_values: (classes,) probabilities with every maskable token hidden.
    output: (classes,) the classifier's probabilities on the full text, from a call of its own.
    class_names: (classes,) names of the columns of ``values``.
    hierarchical_values: (2 * tokens - 1, classes) values of every node of the token hierarchy,
        as shap keeps them for its text plot; clustering: (tokens - 1, 4) that hierarchy (scipy linkage).
    max_evals: the evaluation budget; evaluations: distinct texts the classifier actually ran.
    classifier_name: the classifier explained; precision: "float32" or "bfloat16", and tolerance: the
        additivity gap that precision allows.
    seconds: wall time of the explanation; notices: short sentences for the user.
    """

    text: str
    tokens: list[str]
    maskable: np.ndarray
    values: np.ndarray
    base_values: np.ndarray
    output: np.ndarray
    class_names: tuple[str, ...]
    hierarchical_values: np.ndarray
    clustering: np.ndarray
    max_evals: int
    evaluations: int
    classifier_name: str
    precision: str
    tolerance: float
    seconds: float
    notices: tuple[str, ...] = field(default=())

    @property
    def additivity_gap(self) -> np.ndarray:
        """(classes,) ``|base_values + values.sum(0) - output|``: 0 up to float round-off."""
        return np.abs(self.base_values + self.values.sum(axis=0) - self.output)

    @property
    def additivity_holds(self) -> bool:
        """True when every class's values add up to its probability within ``tolerance``."""
        return float(self.additivity_gap.max()) <= self.tolerance

    def additivity_check(self, class_index: int) -> str:
        """The additivity sum for one class written out in the run's language, with the largest gap over all
        classes."""
        _check_class(self, class_index)
        base, total = self.base_values[class_index], self.values[:, class_index].sum()
        said = _(
            "base value {base} + sum of SHAP values {total} = {sum}; the classifier gives {output} for “{name}” "
            "(largest gap over all classes {gap}, tolerance {tolerance} in {precision})."
        )
        return said.format(
            base=number(base, 4),
            total=number(total, 4),
            sum=number(base + total, 4),
            output=number(self.output[class_index], 4),
            name=self.class_names[class_index],
            gap=f"{self.additivity_gap.max():.1e}",
            tolerance=f"{self.tolerance:.0e}",
            precision=self.precision,
        )

    @property
    def predicted_class(self) -> int:
        """Index of the most probable class on the full text."""
        return int(np.argmax(self.output))

    def strongest(self, class_index: int, count: int = 15) -> tuple[list[str], np.ndarray]:
        """The ``count`` maskable tokens with the largest |value| for a class: (position labels, values),
        strongest first. Labels are :func:`xray.text.position_labels` ("03 cup"), unique where a token repeats."""
        _check_class(self, class_index)
        positions = np.flatnonzero(self.maskable)
        values = self.values[positions, class_index]
        chosen = positions[np.argsort(-np.abs(values), kind="stable")[:count]]
        labels = position_labels([self.tokens[index].strip() for index in chosen], chosen.tolist())
        return labels, self.values[chosen, class_index]

    def table(self) -> pd.DataFrame:
        """One row per maskable token: position (index in ``tokens``), token, then one column of values per class."""
        positions = np.flatnonzero(self.maskable)
        table = pd.DataFrame({"position": positions, "token": [self.tokens[index].strip() for index in positions]})
        for column, name in enumerate(self.class_names):
            table[name] = self.values[positions, column]
        return table

    def to_json(self) -> str:
        """Text, classifier, classes, base values, output, budget, additivity and per-token values."""
        return json_text(
            {
                "text": self.text,
                "classifier": self.classifier_name,
                "class_names": list(self.class_names),
                "base_values": self.base_values,
                "output": self.output,
                "max_evals": self.max_evals,
                "additivity_gap": self.additivity_gap,
                "additivity_holds": self.additivity_holds,
                "tokens": self.table().to_dict(orient="records"),
            }
        )


def is_compiled() -> bool:
    """True once shap's numba code has been compiled in this process (by an explanation or :func:`warm_up`)."""
    return _compiled.is_set()


def estimate_seconds(seconds_per_text: float, max_evals: int, *, compiled: bool) -> float:
    """One estimate of a whole explanation: the distinct texts shap will ask about, at ``seconds_per_text``
    each, plus numba's one-off compilation (:data:`COMPILE_SECONDS`) unless it is ``compiled`` already."""
    return seconds_per_text * max_evals * DISTINCT_SHARE + (0.0 if compiled else COMPILE_SECONDS)


def warm_up() -> None:
    """Compile shap's numba code now (about :data:`COMPILE_SECONDS`), on a toy model with no network or weights,
    so the first real explanation does not pay for it. Safe to call from a background thread."""
    if _compiled.is_set():
        return
    masker = shap.maskers.Text(r"\W+")

    def toy(masked: np.ndarray) -> np.ndarray:
        lengths = np.array([[len(str(text))] for text in masked], dtype=np.float32)
        return np.hstack([lengths, 1 - lengths]) / 100

    shap.Explainer(toy, masker, algorithm="partition")(["one two three four five"], max_evals=40, silent=True)
    _compiled.set()


class _DenseMaskPartition(shap.explainers.PartitionExplainer):
    """shap's Partition explainer with its mask matrix held as a dense boolean array instead of scipy's CSR.

    The Owen recursion ORs one row of that matrix into each new mask (``m10[:] += mask_matrix[lind, :]``); a row
    of a (2M - 1, M) CSR matrix costs scipy ~0.07 ms to cut, a dense row nothing, and the masks are the same
    booleans, so the traversal and the values are unchanged (the tests compare them with the plain recipe). It
    was half of shap's own time per explanation (0.07 of 0.10 s measured on a 25-token sentence)."""

    def owen(self, *args: object, **kwargs: object) -> None:
        if scipy.sparse.issparse(self._mask_matrix):
            self._mask_matrix = self._mask_matrix.toarray()
        super().owen(*args, **kwargs)


class _CachingModel:
    """The ``f`` shap calls: probabilities of masked texts, each distinct text computed once.

    Counts the texts shap asks for and reports them to ``progress`` against ``total``.
    """

    def __init__(self, classifier: Classifier, progress: Progress | None, total: int) -> None:
        self.classifier = classifier
        self.progress = progress
        self.total = total
        self.requested = 0
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, masked: np.ndarray) -> np.ndarray:
        texts = [str(text) for text in masked]
        missing = [text for text in dict.fromkeys(texts) if text not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.classifier.predict_proba(missing), strict=True))
        self.requested += len(texts)
        if self.progress is not None:
            self.progress(min(self.requested, self.total), self.total)
        return np.stack([self.cache[text] for text in texts])


def check_text(classifier: Classifier, text: str) -> PreparedText:
    """``text`` cleaned for SHAP on ``classifier``; ValueError when empty, a single token or over the model maximum.

    A text longer than the classifier reads (``classifier.max_tokens``) gets a notice: the tokens past it get 0.
    """
    prepared = prepare_text(text)
    loaded = classifier.loaded
    maskable = ~shap.maskers.Text(loaded.tokenizer).invariants(prepared.text)[0]
    if len(maskable) > loaded.max_length:
        raise ValueError(
            _(
                "The text has {count} tokens; '{model}' reads at most {limit}. SHAP hides tokens of the whole text, "
                "so shorten it to fit (the Attention page shows where the model cuts it)."
            ).format(count=number(len(maskable), 0), model=loaded.name, limit=number(loaded.max_length, 0))
        )
    if maskable.sum() < 2:
        raise ValueError(
            _(
                "SHAP needs at least two tokens to share credit between; this text is a single token for '{model}'. "
                "Type a longer text."
            ).format(model=loaded.name)
        )
    if len(maskable) <= classifier.max_tokens:
        return prepared
    notice = Message(
        N_(
            "The text has {count} tokens but the classifier reads only the first {limit}: tokens after that cannot "
            "change its output, so their SHAP values are 0."
        ),
        count=len(maskable),
        limit=classifier.max_tokens,
    )
    return PreparedText(prepared.text, (*prepared.notices, notice))


def explain_shap(
    classifier: Classifier, text: str, *, max_evals: int = 500, progress: Progress | None = None
) -> ShapExplanation:
    """SHAP (Partition explainer, Text masker) values of ``text`` for every class of ``classifier``.

    max_evals: the most masked texts shap may ask for (the plain recipe's budget; distinct ones run once).
    progress: called as ``progress(done, total)`` with the texts shap has asked for so far, out of ``max_evals``.
    Values equal ``shap.Explainer(f, shap.maskers.Text(tokenizer))([text], max_evals=max_evals)`` (module docstring).
    """
    if max_evals < MIN_EVALS:
        raise ValueError(
            _("max_evals must be at least {least}, got {value}.").format(least=MIN_EVALS, value=number(max_evals, 0))
        )
    prepared = check_text(classifier, text)
    masker = shap.maskers.Text(classifier.loaded.tokenizer)
    started = time.perf_counter()
    model = _CachingModel(classifier, progress, max_evals)
    bf16 = classifier.settings.bf16
    explainer = shap.Explainer(model, masker, output_names=list(classifier.class_names), algorithm="partition")
    explainer.__class__ = _DenseMaskPartition  # shap.Explainer picks the class itself; see _DenseMaskPartition
    explainer([prepared.text], max_evals=max_evals, batch_size=PREFETCH_BATCH_SIZE, silent=True)
    result = explainer([prepared.text], max_evals=max_evals, silent=True)
    output = classifier.predict_proba([prepared.text])[0]
    _compiled.set()
    if progress is not None:
        progress(max_evals, max_evals)
    return ShapExplanation(
        text=prepared.text,
        tokens=[str(token) for token in result.data[0]],
        maskable=~masker.invariants(prepared.text)[0],
        values=result.values[0],
        base_values=np.asarray(result.base_values[0]),
        output=output.astype(np.float64),
        class_names=tuple(classifier.class_names),
        hierarchical_values=result.hierarchical_values[0],
        clustering=result.clustering[0],
        max_evals=max_evals,
        evaluations=len(model.cache),
        classifier_name=classifier.name,
        precision="bfloat16" if bf16 else "float32",
        tolerance=BFLOAT16_TOLERANCE if bf16 else FLOAT32_TOLERANCE,
        seconds=time.perf_counter() - started,
        notices=prepared.notices,
    )


def _check_class(explanation: ShapExplanation, class_index: int) -> None:
    if not 0 <= class_index < len(explanation.class_names):
        raise ValueError(
            _("class_index must be in 0..{last}, got {index}.").format(
                last=len(explanation.class_names) - 1, index=class_index
            )
        )


def shap_text_html(explanation: ShapExplanation, class_index: int) -> str:
    """shap's text plot for one class (``shap.plots.text(..., display=False)``): an HTML fragment, no scripts to fetch.

    Tokens and the class name are HTML-escaped (shap escapes ``<`` and ``>`` in tokens, not ``&``; nor names),
    and colours are written as plain numbers (shap writes numpy 2 reprs such as ``np.float64(255.0)``). The force
    plot's token labels show whole or not at all (:data:`FIT_LABELS`), never cropped to their arrow.
    """
    _check_class(explanation, class_index)
    every_class = shap.Explanation(
        values=explanation.values,
        base_values=explanation.base_values,
        data=np.array([token.replace("&", "&amp;") for token in explanation.tokens]),
        output_names=[html.escape(name) for name in explanation.class_names],
        hierarchical_values=explanation.hierarchical_values,
        clustering=explanation.clustering,
    )
    plot = _NUMPY_SCALAR.sub(r"\1", shap.plots.text(every_class[:, class_index], display=False))
    plot = plot.replace(_FORCE_LABEL, f'{_FORCE_LABEL}class="{FORCE_LABEL_CLASS}" ')
    return plot + FIT_LABELS


def standalone_html(explanation: ShapExplanation, class_index: int) -> str:
    """The text plot as a complete HTML page for download, with a heading naming the class (in the run's
    language)."""
    plot = shap_text_html(explanation, class_index)
    name = html.escape(explanation.class_names[class_index])
    title = _("SHAP values for {name}").format(name=name)
    heading = _("SHAP values for class “{name}”").format(name=name)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{title}</title></head>"
        f'<body style="font-family: sans-serif"><h3>{heading}</h3>{plot}</body></html>'
    )


def text_plot_height(explanation: ShapExplanation) -> int:
    """Pixels an iframe needs for :func:`shap_text_html`: the force plot plus wrapped lines of text."""
    lines = 1 + len("".join(explanation.tokens)) // 90
    return 130 + 30 * lines
