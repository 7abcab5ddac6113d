"""What a run of the explainers over a corpus says: each method's faithfulness with a bootstrap interval against the
random order, the methods' mean agreement, the texts where two methods disagree most, and the words the classifier
relies on per class (the largest mean |score|, as shap's global bar plot ranks features over a data set)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xray.cache import write_atomically
from xray.explainer_benchmark.run import ExplainedText
from xray.results import json_text
from xray.techniques.compare import RANDOM, method_label, rank_agreement
from xray.translation import _, number, percent

BOOTSTRAP = 1_000
"""Resamples of the texts behind each interval (percentile, 95 %)."""
CONFIDENCE = 0.95
"""The intervals' coverage, as the verdict states it."""


def bootstrap_interval(values: np.ndarray, seed: int = 0, resamples: int = BOOTSTRAP) -> tuple[float, float]:
    """The 95 % percentile interval of the mean of (n,) ``values`` over ``resamples`` resamples of them."""
    if not len(values):
        raise ValueError("A bootstrap interval needs at least one value.")
    generator = np.random.default_rng(seed)
    means = np.asarray(values)[generator.integers(0, len(values), (resamples, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True)
class ExplainerBenchmark:
    """The explainers run over ``corpus`` with ``classifier``; settings: the budgets and options of the run
    (max_evals, num_samples, steps, seed, only_positive, held_out); rows: one :class:`ExplainedText` per text."""

    classifier: str
    corpus: str
    settings: dict[str, object]
    rows: list[ExplainedText] = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        """The methods compared, in the explainers' order (the random order not among them)."""
        return list(self.rows[0].scores) if self.rows else []

    def faithfulness(self) -> pd.DataFrame:
        """One row per method, the random order last: mean comprehensiveness and sufficiency AOPC over the texts,
        each with its bootstrap 95 % interval, and whether the mean comprehensiveness beats the random order's."""
        frame = []
        random_comprehensiveness = np.mean([row.comprehensiveness[RANDOM] for row in self.rows])
        for method in [*self.methods, RANDOM]:
            comprehensive = np.array([row.comprehensiveness[method] for row in self.rows])
            sufficient = np.array([row.sufficiency[method] for row in self.rows])
            low, high = bootstrap_interval(comprehensive)
            suff_low, suff_high = bootstrap_interval(sufficient)
            frame.append(
                {
                    "method": method,
                    "comprehensiveness": comprehensive.mean(),
                    "comprehensiveness low": low,
                    "comprehensiveness high": high,
                    "sufficiency": sufficient.mean(),
                    "sufficiency low": suff_low,
                    "sufficiency high": suff_high,
                    "beats random": method != RANDOM and comprehensive.mean() > random_comprehensiveness,
                }
            )
        return pd.DataFrame(frame)

    def verdict(self) -> str:
        """What the faithfulness table says: the most comprehensive method with its interval, the methods whose
        interval reaches it (not told apart on these texts), those not beating the random order, and the most
        sufficient method."""
        table = self.faithfulness().set_index("method")
        methods = table.drop(index=RANDOM)
        best = methods["comprehensiveness"].idxmax()
        low, high = methods.loc[best, ["comprehensiveness low", "comprehensiveness high"]]
        tied = [name for name in methods.index if name != best and methods.loc[name, "comprehensiveness high"] >= low]
        losing = [name for name in methods.index if not methods.loc[name, "beats random"]]
        said = _(
            "Over {count} texts, *{best}* is the most comprehensive ({mean}, {share} interval {low} to {high})"
        ).format(
            count=len(self.rows),
            share=percent(CONFIDENCE),
            best=method_label(best),
            mean=number(methods.loc[best, "comprehensiveness"]),
            low=number(low),
            high=number(high),
        )
        if tied:
            said += _("; {methods} cannot be told apart from it here.").format(methods=_listed(tied))
        else:
            said += _(", clear of every other method.")
        random_mean = number(table.loc[RANDOM, "comprehensiveness"])
        if losing:
            said += " " + _("No better than the random order ({mean}): {methods}.").format(
                mean=random_mean, methods=_listed(losing)
            )
        else:
            said += " " + _("Every method beats the random order ({mean}).").format(mean=random_mean)
        sufficient = methods["sufficiency"].idxmin()
        kept = _(
            "Keeping only its top words, *{method}* keeps the prediction best (sufficiency {value}; the random "
            "order's {random})."
        ).format(
            method=method_label(sufficient),
            value=number(methods.loc[sufficient, "sufficiency"]),
            random=number(table.loc[RANDOM, "sufficiency"]),
        )
        return f"{said} {kept}"

    def agreements(self) -> np.ndarray:
        """(texts, methods, methods) each text's Spearman correlation of the methods' word scores (NaN where one
        method gives every word the same score)."""
        return np.stack([rank_agreement(row.scores) for row in self.rows])

    def agreement(self) -> pd.DataFrame:
        """(methods, methods) mean Spearman correlation over the texts where it is defined."""
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(self.agreements(), axis=0)
        return pd.DataFrame(mean, index=self.methods, columns=self.methods)

    def disagreements(self, first: str, second: str, count: int = 5) -> pd.DataFrame:
        """The ``count`` texts where ``first`` and ``second`` rank the words least alike: text, class, Spearman."""
        methods = self.methods
        for method in (first, second):
            if method not in methods:
                raise ValueError(f"No method '{method}' in this run; it has {', '.join(methods)}.")
        spearman = self.agreements()[:, methods.index(first), methods.index(second)]
        frame = pd.DataFrame(
            {
                "text": [row.text for row in self.rows],
                "class": [row.class_name for row in self.rows],
                "spearman": spearman,
            }
        )
        return frame.dropna().sort_values("spearman", kind="stable").head(count).reset_index(drop=True)

    def relied_on(self, method: str = "SHAP", top: int = 10, min_count: int = 2) -> pd.DataFrame:
        """Per predicted class, the ``top`` words (case-folded) with the largest mean |``method`` score| over their
        occurrences in the texts predicted as that class, among words seen at least ``min_count`` times: class,
        word, mean |score|, mean score (its sign: for or against), count, an example text."""
        if method not in self.methods:
            raise ValueError(f"No method '{method}' in this run; it has {', '.join(self.methods)}.")
        occurrences = [
            (row.class_name, word.casefold(), float(score), row.text)
            for row in self.rows
            for word, score in zip(row.words, row.scores[method], strict=True)
        ]
        frame = pd.DataFrame(occurrences, columns=["class", "word", "score", "example"])
        frame["magnitude"] = frame["score"].abs()
        grouped = frame.groupby(["class", "word"], sort=False).agg(
            **{
                "mean |score|": ("magnitude", "mean"),
                "mean score": ("score", "mean"),
                "count": ("score", "size"),
                "example": ("example", "first"),
            }
        )
        grouped = grouped[grouped["count"] >= min_count].reset_index()
        ranked = grouped.sort_values(["class", "mean |score|"], ascending=[True, False], kind="stable")
        return ranked.groupby("class", sort=False).head(top).reset_index(drop=True)

    def table(self) -> pd.DataFrame:
        """One row per text: text, label, class, probability, then each method's comprehensiveness and sufficiency."""
        frame = pd.DataFrame(
            {
                "text": [row.text for row in self.rows],
                "label": [row.label for row in self.rows],
                "class": [row.class_name for row in self.rows],
                "probability": [row.probability for row in self.rows],
            }
        )
        for method in [*self.methods, RANDOM]:
            frame[f"{method} comprehensiveness"] = [row.comprehensiveness[method] for row in self.rows]
            frame[f"{method} sufficiency"] = [row.sufficiency[method] for row in self.rows]
        return frame

    def to_json(self) -> str:
        return json_text(
            {
                "classifier": self.classifier,
                "corpus": self.corpus,
                "settings": self.settings,
                "rows": [row.to_dict() for row in self.rows],
            }
        )

    def save(self, path: Path) -> None:
        """Write the run as JSON at ``path``, atomically; :func:`load_benchmark` reads it back."""
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda temporary: temporary.write_text(self.to_json(), encoding="utf-8"))


def _listed(names: list[str]) -> str:
    """The names in italics, joined: "*SHAP*, *LIME* and *Rollout from [CLS]*" (a name may hold a comma)."""
    shown = [f"*{method_label(name)}*" for name in names]
    return shown[0] if len(shown) == 1 else _("{first} and {last}").format(first=", ".join(shown[:-1]), last=shown[-1])


def load_benchmark(path: Path) -> ExplainerBenchmark:
    """The run :meth:`ExplainerBenchmark.save` wrote at ``path``."""
    content = json.loads(path.read_text(encoding="utf-8"))
    rows = [ExplainedText.from_dict(row) for row in content["rows"]]
    return ExplainerBenchmark(content["classifier"], content["corpus"], content["settings"], rows)
