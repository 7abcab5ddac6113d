"""Altair charts of neuron explanations: the distribution of explanation scores over the neurons of a layer, by
explainer, and one record's true and simulated activations token by token. Each function returns a chart, its
titles and labels in the run's language (pages call them as they draw, never inside a cache)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from xray.techniques.neuron_explanations import shown_name
from xray.text import position_labels
from xray.translation import _, number, translated
from xray.units.compare import KIND_NAMES


def score_text(value: float) -> str:
    """A score as pages show it: two decimals, or "undefined" for NaN (a constant side: nothing to correlate)."""
    return _("undefined") if value is None or np.isnan(value) else number(value)


def left_out(table: pd.DataFrame, layer: int) -> int:
    """How many neurons of ``layer`` in ``table`` have no top-and-random score (NaN): they never activate, or a
    side of the correlation is constant; :func:`score_histogram` leaves them out."""
    return int((table["layer"] == layer).sum() - defined_scores(table, layer).shape[0])


def defined_scores(table: pd.DataFrame, layer: int) -> pd.DataFrame:
    """The rows of ``layer`` with a top-and-random score: explainer, top_and_random."""
    scores = pd.to_numeric(table["top_and_random"], errors="coerce")
    return table[(table["layer"] == layer) & scores.notna()][["explainer", "top_and_random"]]


def score_histogram(table: pd.DataFrame, layer: int) -> alt.Chart:
    """How many neurons of ``layer`` reach each top-and-random score, one colour per explainer.
    table: rows of :meth:`NeuronExplanation.summary_row`; undefined scores (NaN) are left out (:func:`left_out`
    counts them)."""
    frame = defined_scores(table, layer)
    frame = frame.assign(explainer=frame["explainer"].map(shown_name))
    title = _("Explanation scores, layer {layer}").format(layer=layer)
    return (
        alt.Chart(alt.InlineData(values=frame.to_dict(orient="records")), title=title)
        .mark_bar(opacity=0.6)
        .encode(
            x=alt.X("top_and_random:Q", bin=alt.Bin(step=0.05), title=_("score (top-and-random correlation)")),
            y=alt.Y("count():Q", stack=None, title=_("neurons")),
            color=alt.Color("explainer:N", legend=alt.Legend(orient="bottom", labelLimit=400, title=_("explainer"))),
        )
        .properties(width=520, height=300)
    )


def true_and_simulated(
    tokens: list[str], true: np.ndarray, simulated: np.ndarray, title: str, *, legend: bool = True
) -> alt.Chart:
    """Grouped bars per token: the true activation (0-10) beside the simulated one (``legend`` False: no legend,
    for the charts after the first of a list)."""
    labels = position_labels(tokens)
    kinds = [_("true"), _("simulated")]
    frame = pd.DataFrame(
        {
            "token": labels * 2,
            "activation": np.concatenate([np.asarray(true, dtype=float), np.asarray(simulated, dtype=float)]),
            "kind": [kinds[0]] * len(labels) + [kinds[1]] * len(labels),
        }
    )
    activation = _("activation (0-10)")
    return (
        alt.Chart(alt.InlineData(values=frame.to_dict(orient="records")), title=title)
        .mark_bar()
        .encode(
            x=alt.X("token:N", sort=labels, title=None, axis=alt.Axis(labelAngle=-45, labelOverlap=False)),
            xOffset=alt.XOffset("kind:N", sort=kinds),
            y=alt.Y("activation:Q", scale=alt.Scale(domain=[0, 10]), title=activation),
            color=alt.Color("kind:N", sort=kinds, legend=alt.Legend(orient="top", title=None) if legend else None),
            tooltip=[
                alt.Tooltip("token:N", title=_("token")),
                alt.Tooltip("kind:N", title=_("kind")),
                alt.Tooltip("activation:Q", format=".2f", title=activation),
            ],
        )
        .properties(height=300)  # Streamlit fits axis labels and legend inside this height too
    )


def unit_medians(medians: pd.DataFrame, title: str) -> alt.LayerChart:
    """Median score by level for each kind of unit, with its bootstrap 95% interval as a bar: rows of
    :meth:`xray.units.compare.UnitScores.medians` (kind, level, level_name, median, low, high), levels in order."""
    shown = medians.dropna(subset=["median"]).assign(
        unit=lambda table: table["kind"].map(lambda kind: _(KIND_NAMES[kind])),
        level_name=lambda table: table["level_name"].map(translated),
    )
    order = shown.sort_values("level")["level_name"].unique().tolist()
    kinds = [_(KIND_NAMES[kind]) for kind in KIND_NAMES if _(KIND_NAMES[kind]) in set(shown["unit"])]
    level, unit, median = _("level"), _("unit"), _("median score (top and random)")
    x = alt.X("level_name:N", sort=order, title=level, axis=alt.Axis(labelAngle=0))
    colour = alt.Color("unit:N", sort=kinds, title=unit, scale=alt.Scale(scheme="tableau10"))
    tooltip = [
        alt.Tooltip("unit:N", title=unit),
        alt.Tooltip("level_name:N", title=level),
        alt.Tooltip("median:Q", title=_("median")),
        alt.Tooltip("low:Q", title=_("low")),
        alt.Tooltip("high:Q", title=_("high")),
        alt.Tooltip("units:Q", title=_("units")),
        alt.Tooltip("undefined:Q", title=_("undefined")),
    ]
    base = alt.Chart(shown).encode(x=x, color=colour, tooltip=tooltip)
    score = alt.Scale(domain=[min(-0.1, float(shown["low"].min())), 1])
    lines = base.mark_line(point=True).encode(y=alt.Y("median:Q", title=median, scale=score))
    bars = base.mark_errorbar(ticks=True).encode(y=alt.Y("low:Q", title=median), y2="high:Q")
    return (lines + bars).properties(width=520, height=300, title=title)
