"""The explainers run over many texts, each text's methods scored for faithfulness as ferret scores them.

Each text gets every method's word scores for its predicted class (:func:`xray.techniques.compare.explain_methods`:
SHAP, LIME, integrated gradients, gradient × input, attention), then ferret's comprehensiveness and sufficiency
(:mod:`xray.explainer_benchmark.faithfulness`) for each method and for :data:`RANDOM_ORDERS` random orders (scores
drawn uniformly, all above 0, so the random rationales run up to every word). The faithfulness texts of a chunk of
texts go to the classifier in one call (duplicates once, sorted by length); on an accelerator the chunk's texts are
also explained at once, their SHAP and LIME calls merged (:mod:`xray.models.coalesced`). A finished chunk is handed
to ``on_chunk`` so a caller can keep it and resume after an interruption.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from xray.explainer_benchmark.faithfulness import perturbations
from xray.models.classifiers import Classifier
from xray.models.coalesced import map_coalesced
from xray.progress import Progress
from xray.techniques.compare import RANDOM, MethodScores, explain_methods
from xray.text import prepare_text

RANDOM_ORDERS = 5
CHUNK = 8
"""Texts whose faithfulness texts share one classifier call (and whose explainers share calls when coalesced)."""
COALESCE_ON_CPU = False
"""Whether a run on the CPU merges its texts' classifier calls by default (see :func:`explain_texts`)."""


@dataclass(frozen=True)
class ExplainedText:
    """One text of the benchmark.

    text: as the explainers read it; label: its label in the corpus (None without a label column); class_index,
    class_name, probability: the predicted class explained and its probability; words: (words,); scores: method ->
    (words,) word scores; comprehensiveness, sufficiency: method (:data:`RANDOM` included) -> ferret's AOPC.
    """

    text: str
    label: str | None
    class_index: int
    class_name: str
    probability: float
    words: list[str]
    scores: dict[str, np.ndarray]
    comprehensiveness: dict[str, float]
    sufficiency: dict[str, float]
    notices: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready values; :meth:`from_dict` reads them back."""
        return {
            "text": self.text,
            "label": self.label,
            "class_index": self.class_index,
            "class_name": self.class_name,
            "probability": self.probability,
            "words": self.words,
            "scores": {method: values.tolist() for method, values in self.scores.items()},
            "comprehensiveness": self.comprehensiveness,
            "sufficiency": self.sufficiency,
            "notices": list(self.notices),
        }

    @classmethod
    def from_dict(cls, row: dict) -> ExplainedText:
        scores = {method: np.asarray(values, dtype=np.float64) for method, values in row["scores"].items()}
        fields = {key: row[key] for key in ("text", "label", "class_index", "class_name", "probability", "words")}
        return cls(
            **fields,
            scores=scores,
            comprehensiveness=dict(row["comprehensiveness"]),
            sufficiency=dict(row["sufficiency"]),
            notices=tuple(row.get("notices", ())),
        )


def _faithfulness(
    classifier: Classifier, explained: list[MethodScores], first_index: int, seed: int, only_positive: bool
) -> list[tuple[dict[str, float], dict[str, float]]]:
    """(comprehensiveness, sufficiency) per method, random orders included, of each of ``explained``; the texts
    of all of them in one classifier call. Text ``i``'s random orders come from the seed ``(seed, first_index + i)``."""
    plans = []
    asked: list[str] = []
    for offset, item in enumerate(explained):
        generator = np.random.default_rng((seed, first_index + offset))
        orders = {method: [values] for method, values in item.scores.items()}
        orders[RANDOM] = [generator.random(len(item.words)) for _ in range(RANDOM_ORDERS)]
        made = {
            method: [perturbations(item.text, item.words, scores, only_positive=only_positive) for scores in chosen]
            for method, chosen in orders.items()
        }
        plans.append((item, len(asked), made))
        asked.append(item.text)
        for method_perturbations in made.values():
            for perturbation in method_perturbations:
                asked.extend(perturbation.texts)
    probabilities = classifier.predict_proba(asked)
    results = []
    for item, start, made in plans:
        column = probabilities[:, item.class_index]
        full, cursor = float(column[start]), start + 1
        comprehensive, sufficient = {}, {}
        for method, method_perturbations in made.items():
            pairs = []
            for perturbation in method_perturbations:
                pairs.append(perturbation.aopc(full, column[cursor : cursor + len(perturbation.texts)]))
                cursor += len(perturbation.texts)
            comprehensive[method], sufficient[method] = (float(value) for value in np.mean(pairs, axis=0))
        results.append((comprehensive, sufficient))
    return results


class _Counter:
    """Texts done, reported to ``progress`` as each worker finishes one (one report at a time)."""

    def __init__(self, done: int, total: int, progress: Progress | None) -> None:
        self.done, self.total, self.progress = done, total, progress
        self.lock = threading.Lock()

    def add(self) -> None:
        with self.lock:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total)


def explain_texts(
    classifier: Classifier,
    texts: Sequence[str],
    labels: Sequence[str] | None = None,
    *,
    max_evals: int = 500,
    num_samples: int = 1000,
    steps: int = 50,
    seed: int = 0,
    only_positive: bool = True,
    done: Sequence[ExplainedText] = (),
    on_chunk: Callable[[list[ExplainedText]], None] | None = None,
    progress: Progress | None = None,
    coalesce: bool | None = None,
) -> list[ExplainedText]:
    """Every text of ``texts`` explained by every method and scored for faithfulness, in order.

    labels: each text's label, or None. done: the first texts' results from an interrupted run (their texts must
    match), kept as they are. on_chunk: called with each new chunk of :data:`CHUNK` results once finished.
    progress: ``progress(texts done, texts)``, a text counted once its methods are done. coalesce: the texts of a
    chunk explained at once, their classifier calls merged (:func:`xray.models.coalesced.map_coalesced`), or one
    after the other (the same values up to float round-off); None: merged on an accelerator only. On a 2-core CPU
    merging cut the classifier calls six-fold but not the time (the model is busy at any batch size there;
    ``python -m bench.explain_corpus``), so :data:`COALESCE_ON_CPU` is False.
    """
    if labels is not None and len(labels) != len(texts):
        raise ValueError(f"{len(labels)} labels for {len(texts)} texts.")
    if not texts:
        raise ValueError("Benchmarking the explainers needs at least one text.")
    results = list(done)
    if len(results) > len(texts):
        raise ValueError(f"{len(results)} texts are done, but the run has only {len(texts)}.")
    for at, row in enumerate(results):
        if row.text != prepare_text(texts[at]).text:
            raise ValueError(f"Text {at + 1} of the run is not the one done before; start the run afresh.")
    budgets = {"max_evals": max_evals, "num_samples": num_samples, "steps": steps}
    finished = _Counter(len(results), len(texts), progress)

    def explain(shared: Classifier, text: str) -> MethodScores:
        explained = explain_methods(shared, text, **budgets)
        finished.add()
        return explained

    if coalesce is None:
        coalesce = COALESCE_ON_CPU or classifier.loaded.device.type != "cpu"
    for index in range(len(results), len(texts), CHUNK):
        chunk = range(index, min(index + CHUNK, len(texts)))
        if coalesce:
            explained, _ = map_coalesced(classifier, [texts[at] for at in chunk], explain)
        else:
            explained = [explain(classifier, texts[at]) for at in chunk]
        scored = _faithfulness(classifier, explained, index, seed, only_positive)
        new = [
            ExplainedText(
                text=item.text,
                label=None if labels is None else str(labels[at]),
                class_index=item.class_index,
                class_name=classifier.class_names[item.class_index],
                probability=item.probability,
                words=[word.text for word in item.words],
                scores=item.scores,
                comprehensiveness=comprehensive,
                sufficiency=sufficient,
                notices=item.notices,
            )
            for at, item, (comprehensive, sufficient) in zip(chunk, explained, scored, strict=True)
        ]
        results.extend(new)
        if on_chunk is not None:
            on_chunk(new)
    if progress is not None:
        progress(len(texts), len(texts))
    return results
