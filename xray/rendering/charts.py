"""Altair charts of attention that bertviz lacks. Each function returns a chart; nothing is displayed.

Data goes in as inline values, so charts also export to PNG/SVG (see :mod:`xray.rendering.export`)
without Altair's row limit getting in the way. Titles, axes, legends and the methods' names are written in the run's
language: build a chart where it is drawn, never inside a cached function; the data's field names stay English.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from xray.techniques.attention import STATISTICS, HeadStatistics
from xray.text import position_labels
from xray.translation import _, percent

CELL_PIXELS = 18
SMALL_CELL_PIXELS = 9
# Above this many tokens, cells shrink so a 128-token heatmap still fits a laptop screen.
LARGE_INPUT = 48
LEGEND_LABEL_LIMIT = 400
"""Pixels a legend label may take before Vega cuts it with an ellipsis (its default, 160, cut method names such as
"Attention from [CLS], last layer")."""
FOCUS_COLOUR = "#ff7f0e"  # the sidebar's focus token, on every chart that shows it
BAR_COLOUR = "#4c78a8"


def _cell(count: int) -> int:
    """Pixels per token along a discrete axis."""
    return CELL_PIXELS if count <= LARGE_INPUT else SMALL_CELL_PIXELS


def _inline(frame: pd.DataFrame) -> alt.InlineData:
    return alt.InlineData(values=frame.to_dict(orient="records"))


def _token_axis(title: str, count: int, angle: int = 0) -> alt.Axis:
    """Every token labelled while cells are big enough to hold a label; else Vega-Lite thins them."""
    return alt.Axis(title=title, labelAngle=angle, labelOverlap=count > LARGE_INPUT, labelLimit=140)


def attention_heatmap(
    matrix: np.ndarray, query_tokens: list[str], key_tokens: list[str], title: str, *, focus: int | None = None
) -> alt.Chart | alt.LayerChart:
    """Heatmap of one (query, key) attention matrix with the weight on hover; ``focus``, a query row (e.g. the
    sidebar's focus token), is framed in the focus colour."""
    if matrix.shape != (len(query_tokens), len(key_tokens)):
        raise ValueError(f"matrix shape {matrix.shape} does not match {len(query_tokens)} x {len(key_tokens)} tokens.")
    queries, keys = position_labels(query_tokens), position_labels(key_tokens)
    rows, columns = np.indices(matrix.shape)
    frame = pd.DataFrame(
        {
            "query": np.asarray(queries)[rows.ravel()],
            "key": np.asarray(keys)[columns.ravel()],
            "weight": matrix.ravel().round(4),
        }
    )
    heatmap = (
        alt.Chart(_inline(frame), title=title)
        .mark_rect()
        .encode(
            x=alt.X("key:N", sort=keys, axis=_token_axis(_("key (attended to)"), len(keys), -60)),
            y=alt.Y("query:N", sort=queries, axis=_token_axis(_("query (attending)"), len(queries))),
            color=alt.Color(
                "weight:Q",
                title=_("weight"),
                scale=alt.Scale(scheme="blues", domain=[0, float(max(matrix.max(), 1e-9))]),
            ),
            tooltip=[
                alt.Tooltip("query:N", title=_("query")),
                alt.Tooltip("key:N", title=_("key")),
                alt.Tooltip("weight:Q", title=_("weight"), format=".4f"),
            ],
        )
        .properties(width=alt.Step(_cell(len(keys))), height=alt.Step(_cell(len(queries))), autosize="pad")
    )
    if focus is None or not 0 <= focus < len(queries):
        return heatmap
    heatmap.autosize = alt.Undefined
    outline = (
        heatmap.transform_filter(alt.FieldOneOfPredicate(field="query", oneOf=[queries[focus]]))
        .mark_rect(fill=None, stroke=FOCUS_COLOUR, strokeWidth=2)
        .encode(color=alt.value(None))
    )
    return alt.layer(heatmap, outline).properties(autosize="pad")


def head_overview(statistics: HeadStatistics, statistic: str) -> alt.Chart:
    """Layers x heads heatmap of one statistic, every statistic of a head on hover."""
    values = statistics.get(statistic)
    layers, heads = np.indices(values.shape)
    frame = pd.DataFrame({"layer": layers.ravel(), "head": heads.ravel()})
    for name in STATISTICS:
        frame[name] = statistics.get(name).ravel().round(4)
    return (
        alt.Chart(_inline(frame), title=_("{statistic} per head").format(statistic=statistic))
        .mark_rect()
        .encode(
            x=alt.X("head:O", title=_("head"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("layer:O", title=_("layer")),
            color=alt.Color(f"{statistic}:Q", scale=alt.Scale(scheme="viridis")),
            tooltip=[
                alt.Tooltip("layer:O", title=_("layer")),
                alt.Tooltip("head:O", title=_("head")),
                *[alt.Tooltip(f"{name}:Q", format=".3f") for name in STATISTICS],
            ],
        )
        .properties(width=alt.Step(28), height=alt.Step(28), autosize="pad")
    )


def token_bars(
    values: np.ndarray,
    tokens: list[str],
    title: str,
    value_title: str,
    positions: list[int] | None = None,
    *,
    highlight: int | None = None,
) -> alt.Chart:
    """One bar per token, in input order (e.g. the rollout from [CLS] to each input token).

    positions: each token's input position, when ``tokens`` is a subset of the input.
    highlight: the index (into ``tokens``) of a bar drawn in the focus colour, e.g. the sidebar's focus token.
    """
    if values.shape != (len(tokens),):
        raise ValueError(f"values shape {values.shape} does not match {len(tokens)} tokens.")
    labels = position_labels(tokens, positions)
    frame = pd.DataFrame({"token": labels, "value": values.round(4), "focus": np.arange(len(labels)) == highlight})
    return (
        alt.Chart(_inline(frame), title=title)
        .mark_bar()
        .encode(
            x=alt.X("token:N", sort=labels, axis=_token_axis(_("token"), len(labels), -60)),
            y=alt.Y("value:Q", title=value_title),
            color=alt.condition("datum.focus", alt.value(FOCUS_COLOUR), alt.value(BAR_COLOUR)),
            tooltip=[
                alt.Tooltip("token:N", title=_("token")),
                alt.Tooltip("value:Q", title=value_title, format=".4f"),
            ],
        )
        .properties(width=alt.Step(_cell(len(tokens))), height=220, autosize="pad")
    )


def signed_bars(
    labels: list[str],
    values: np.ndarray,
    title: str,
    value_title: str,
    *,
    towards: str | None = None,
    against: str | None = None,
) -> alt.Chart:
    """Horizontal bars of signed scores (e.g. SHAP values or LIME weights), strongest first.

    labels: unique names, one per value (e.g. :func:`xray.text.position_labels`); values: (n,).
    Positive bars (legend ``towards``, default "towards the class") are red, negative ones (``against``, default
    "against the class") blue, as in shap's plots.
    """
    if values.shape != (len(labels),):
        raise ValueError(f"values shape {values.shape} does not match {len(labels)} labels.")
    towards = towards or _("towards the class")
    against = against or _("against the class")
    order = np.argsort(-np.abs(values), kind="stable")
    frame = pd.DataFrame({"label": [labels[index] for index in order], "value": values[order].round(5)})
    frame["direction"] = np.where(frame["value"] >= 0, towards, against)
    return (
        alt.Chart(_inline(frame), title=title)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title=value_title),
            y=alt.Y("label:N", sort=list(frame["label"]), title=None, axis=alt.Axis(labelLimit=220)),
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(domain=[towards, against], range=["#d62728", "#1f77b4"]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("label:N", title=_("token")),
                alt.Tooltip("value:Q", title=value_title, format=".5f"),
            ],
        )
        .properties(width=420, height=alt.Step(20), autosize="pad")
    )


def _method_labels(methods: list[str]) -> dict[str, str]:
    """Each method's name (a key of the scores, English) -> its name in the run's language."""
    from xray.techniques.compare import method_label  # only the comparison's charts need it, not the attention page

    return {method: method_label(method) for method in methods}


def word_scores_heatmap(words: list[str], scores: dict[str, np.ndarray]) -> alt.Chart:
    """Methods x words, each method's scores divided by its largest magnitude so all share one colour scale."""
    labels = position_labels(words)
    shown = _method_labels(list(scores))
    rows = []
    for method, values in scores.items():
        scale = float(np.abs(values).max()) or 1.0
        rows += [
            {"method": shown[method], "word": label, "score": float(value), "relative": float(value) / scale}
            for label, value in zip(labels, values, strict=True)
        ]
    return (
        alt.Chart(_inline(pd.DataFrame(rows)), title=_("Word scores, each method scaled to its strongest word"))
        .mark_rect()
        .encode(
            x=alt.X("word:N", sort=labels, axis=_token_axis(_("word"), len(labels), -60)),
            y=alt.Y("method:N", sort=list(shown.values()), title=None, axis=alt.Axis(labelLimit=260)),
            color=alt.Color(
                "relative:Q",
                title=_("relative score"),
                scale=alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True),
            ),
            tooltip=[
                alt.Tooltip("method:N", title=_("method")),
                alt.Tooltip("word:N", title=_("word")),
                alt.Tooltip("score:Q", title=_("score"), format=".5f"),
            ],
        )
        .properties(width=alt.Step(_cell(len(labels)) + 8), height=alt.Step(24), autosize="pad")
    )


def agreement_heatmap(methods: list[str], matrix: np.ndarray, title: str | None = None) -> alt.Chart:
    """Methods x methods rank correlation, the value printed in each cell; title: by default "Rank agreement
    (Spearman) between methods"."""
    shown = list(_method_labels(methods).values())
    rows = [
        {"first": first, "second": second, "spearman": None if np.isnan(value) else round(float(value), 3)}
        for first, row in zip(shown, matrix, strict=True)
        for second, value in zip(shown, row, strict=True)
    ]
    title = title or _("Rank agreement (Spearman) between methods")
    base = alt.Chart(_inline(pd.DataFrame(rows)), title=title).encode(
        x=alt.X("second:N", sort=shown, title=None, axis=alt.Axis(labelAngle=-40, labelLimit=200, labelOverlap=False)),
        y=alt.Y("first:N", sort=shown, title=None, axis=alt.Axis(labelLimit=260)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "spearman:Q", title="Spearman", scale=alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True)
        ),
        tooltip=[
            alt.Tooltip("first:N", title=_("method")),
            alt.Tooltip("second:N", title=_("against")),
            alt.Tooltip("spearman:Q", title="Spearman"),
        ],
    )
    text = base.mark_text(fontSize=12).encode(
        text=alt.Text("spearman:Q", format=".2f"),
        color=alt.condition("abs(datum.spearman) > 0.6", alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(width=alt.Step(80), height=alt.Step(34), autosize="pad")


def faithfulness_curves(
    fractions: np.ndarray, curves: dict[str, np.ndarray], title: str, y_title: str, dashed: str | None = None
) -> alt.Chart:
    """One line per method: the probability drop at each share of words removed or kept.

    dashed: the method drawn dashed (a baseline such as a random order).
    """
    shown = _method_labels(list(curves))
    rows = [
        {"share": float(fraction), "method": shown[method], "drop": float(value)}
        for method, values in curves.items()
        for fraction, value in zip(fractions, values, strict=True)
    ]
    share = _("share of words")
    return (
        alt.Chart(_inline(pd.DataFrame(rows)), title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("share:Q", title=share, axis=alt.Axis(format="%")),
            y=alt.Y("drop:Q", title=y_title),
            color=alt.Color(
                "method:N",
                sort=list(shown.values()),
                title=_("method"),
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=LEGEND_LABEL_LIMIT),
            ),
            strokeDash=alt.condition(alt.datum.method == shown.get(dashed), alt.value([4, 4]), alt.value([1, 0])),
            tooltip=[
                alt.Tooltip("method:N", title=_("method")),
                alt.Tooltip("share:Q", title=share, format=".0%"),
                alt.Tooltip("drop:Q", title=y_title, format=".4f"),
            ],
        )
        .properties(width=360, height=240, autosize="pad")
    )


def interval_dots(frame: pd.DataFrame, measure: str, title: str, baseline: str, axis: str | None = None) -> alt.Chart:
    """One row per method: a dot at its mean ``measure`` and a bar over its interval, the ``baseline`` row's mean as
    a dashed vertical line.

    frame: one row per method with columns ``method``, ``measure``, ``"<measure> low"`` and ``"<measure> high"``
    (e.g. :meth:`xray.explainer_benchmark.summary.ExplainerBenchmark.faithfulness`), each method named in English as
    the scores' keys are (drawn translated); axis: the x axis's title (default: "<measure> (mean, 95% interval)").
    """
    missing = {"method", measure, f"{measure} low", f"{measure} high"} - set(frame.columns)
    if missing:
        raise ValueError(f"The frame lacks the columns {', '.join(sorted(missing))}.")
    if baseline not in set(frame["method"]):
        raise ValueError(f"No row for the baseline '{baseline}'; the methods are {', '.join(frame['method'])}.")
    rows = frame[["method", measure, f"{measure} low", f"{measure} high"]].rename(
        columns={measure: "mean", f"{measure} low": "low", f"{measure} high": "high"}
    )
    is_baseline = rows["method"] == baseline
    rows["method"] = rows["method"].map(_method_labels(rows["method"].tolist()))
    order = rows["method"].tolist()
    base = alt.Chart(_inline(rows)).encode(y=alt.Y("method:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)))
    interval = _("{measure} (mean, {share} interval)").format(measure=measure, share=percent(0.95))
    bars = base.mark_rule(strokeWidth=3, color=BAR_COLOUR).encode(x=alt.X("low:Q", title=axis or interval), x2="high:Q")
    dots = base.mark_point(filled=True, size=70, color=BAR_COLOUR).encode(
        x="mean:Q",
        tooltip=[
            alt.Tooltip("method:N", title=_("method")),
            alt.Tooltip("mean:Q", title=_("mean"), format=".3f"),
            alt.Tooltip("low:Q", title=_("low"), format=".3f"),
            alt.Tooltip("high:Q", title=_("high"), format=".3f"),
        ],
    )
    line = alt.Chart(_inline(rows[is_baseline])).mark_rule(strokeDash=[4, 4], color="grey").encode(x="mean:Q")
    return (bars + dots + line).properties(title=title, width=480, height=alt.Step(30), autosize="pad")
