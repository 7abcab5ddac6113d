"""Altair charts of attention that bertviz lacks. Each function returns a chart; nothing is displayed.

Data goes in as inline values, so charts also export to PNG/SVG (see :mod:`xray.export`)
without Altair's row limit getting in the way.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from xray.attention_stats import STATISTICS, HeadStatistics
from xray.text import position_labels

CELL_PIXELS = 16
MIN_SIDE = 220


def _inline(frame: pd.DataFrame) -> alt.InlineData:
    return alt.InlineData(values=frame.to_dict(orient="records"))


def attention_heatmap(matrix: np.ndarray, query_tokens: list[str], key_tokens: list[str], title: str) -> alt.Chart:
    """Heatmap of one (query, key) attention matrix with the weight on hover."""
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
    return (
        alt.Chart(_inline(frame), title=title)
        .mark_rect()
        .encode(
            x=alt.X("key:N", sort=keys, title="key (attended to)", axis=alt.Axis(labelAngle=-60)),
            y=alt.Y("query:N", sort=queries, title="query (attending)"),
            color=alt.Color("weight:Q", scale=alt.Scale(scheme="blues", domain=[0, float(max(matrix.max(), 1e-9))])),
            tooltip=["query:N", "key:N", alt.Tooltip("weight:Q", format=".4f")],
        )
        .properties(width=max(MIN_SIDE, CELL_PIXELS * len(keys)), height=max(MIN_SIDE, CELL_PIXELS * len(queries)))
    )


def head_overview(statistics: HeadStatistics, statistic: str) -> alt.Chart:
    """Layers x heads heatmap of one statistic, every statistic of a head on hover."""
    values = statistics.get(statistic)
    layers, heads = np.indices(values.shape)
    frame = pd.DataFrame({"layer": layers.ravel(), "head": heads.ravel()})
    for name in STATISTICS:
        frame[name] = statistics.get(name).ravel().round(4)
    return (
        alt.Chart(_inline(frame), title=f"{statistic} per head: {STATISTICS[statistic]}")
        .mark_rect()
        .encode(
            x=alt.X("head:O"),
            y=alt.Y("layer:O"),
            color=alt.Color(f"{statistic}:Q", scale=alt.Scale(scheme="viridis")),
            tooltip=["layer:O", "head:O", *[alt.Tooltip(f"{name}:Q", format=".3f") for name in STATISTICS]],
        )
        .properties(width=max(MIN_SIDE, 28 * values.shape[1]), height=max(120, 28 * values.shape[0]))
    )


def token_bars(values: np.ndarray, tokens: list[str], title: str, value_title: str) -> alt.Chart:
    """One bar per token, in input order (e.g. the rollout from [CLS] to each input token)."""
    if values.shape != (len(tokens),):
        raise ValueError(f"values shape {values.shape} does not match {len(tokens)} tokens.")
    labels = position_labels(tokens)
    frame = pd.DataFrame({"token": labels, value_title: values.round(4)})
    return (
        alt.Chart(_inline(frame), title=title)
        .mark_bar()
        .encode(
            x=alt.X("token:N", sort=labels, axis=alt.Axis(labelAngle=-60)),
            y=alt.Y(f"{value_title}:Q"),
            tooltip=["token:N", alt.Tooltip(f"{value_title}:Q", format=".4f")],
        )
        .properties(width=max(MIN_SIDE, CELL_PIXELS * len(tokens)), height=200)
    )
