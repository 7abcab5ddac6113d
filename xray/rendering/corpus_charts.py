"""Altair charts of a corpus seen through the model: neighbourhood purity and label separation across levels,
counts of the neighbours' tags, projection scatter plots, and factor importance and codes. Each function returns
a chart; nothing is shown. Level names are in the run's language (pages call these as they draw, never inside a
cache); the factor charts' titles and axes too.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from xray.levels import level_name
from xray.text import position_labels
from xray.translation import N_, _, translated

SELECTION = "points"
"""The name of a scatter plot's brush: the page reads the selected points under this name."""
MAX_COLOURS = 20
CATEGORIES = alt.Scale(scheme="category10")
OTHER = N_("(other)")


def _inline(frame: pd.DataFrame) -> alt.InlineData:
    return alt.InlineData(values=frame.to_dict(orient="records"))


def shown_level(level: int) -> str:
    """A level's name as the charts show it, in the run's language (their ``level_name`` field)."""
    return translated(level_name(level))


def level_axis(levels: int) -> alt.X:
    names = [shown_level(level) for level in range(levels)]
    return alt.X("level_name:N", sort=names, title=_("level"), axis=alt.Axis(labelAngle=-30, labelOverlap=False))


def selected_level_rule(level: int) -> alt.Chart:
    marker = pd.DataFrame({"level_name": [shown_level(level)]})
    return alt.Chart(_inline(marker)).mark_rule(color="gray", strokeDash=[4, 4]).encode(x="level_name:N")


def purity_lines(purity: pd.DataFrame, levels: int, selected: int, labels: list[str], k: int) -> alt.LayerChart:
    """One line per label in ``labels``: its share of the top ``k`` neighbours at every level; the selected
    level is marked. purity: level, level_name, label, share (see ``embedding_search.purity_by_level``)."""
    grid = pd.MultiIndex.from_product([range(levels), labels], names=["level", "label"]).to_frame(index=False)
    frame = grid.merge(purity[["level", "label", "share"]], on=["level", "label"], how="left").fillna({"share": 0.0})
    frame["level_name"] = frame["level"].map(shown_level)
    label, share = _("label"), _("share of top k")
    lines = (
        alt.Chart(_inline(frame), title=_("Share of the top {k} neighbours by label, at every level").format(k=k))
        .mark_line(point=True)
        .encode(
            x=level_axis(levels),
            y=alt.Y("share:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title=share),
            color=alt.Color("label:N", sort=labels, title=label, scale=CATEGORIES),
            tooltip=[
                alt.Tooltip("label:N", title=label),
                alt.Tooltip("level_name:N", title=_("level")),
                alt.Tooltip("share:Q", title=share, format=".0%"),
            ],
        )
    )
    return alt.layer(lines, selected_level_rule(selected)).properties(width=520, height=260)


BAR_PIXELS = 20
"""Height of one bar of :func:`count_bars`: room for its label, so no label is dropped."""
LABEL_LIMIT = 240
"""Pixels a category label may take before it is cut; labels such as "bank (river)" take about 90."""


def count_bars(counts: pd.DataFrame, title: str) -> alt.Chart:
    """Horizontal bars of value counts (value, count), most common on top, every value labelled: a fixed height per
    bar and padding autosize, so Streamlit's fit-to-width never squeezes the bars until labels overlap and drop."""
    return (
        alt.Chart(_inline(counts), title=title)
        .mark_bar()
        .encode(
            x=alt.X("count:Q", title=_("neighbours"), axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:N", sort="-x", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT, labelOverlap=False)),
            tooltip=[alt.Tooltip("value:N", title=title), alt.Tooltip("count:Q", title=_("neighbours"))],
        )
        .properties(width=150, height=alt.Step(BAR_PIXELS), autosize="pad")
    )


SEPARATION_MEASURES = {
    "knn_accuracy": N_("k-NN accuracy"),
    "silhouette": N_("silhouette"),
    "chance": N_("chance"),
}
"""The columns of ``projections.separation_by_level`` that :func:`separation_lines` draws, and their names."""


def separation_lines(separation: pd.DataFrame, selected: int) -> alt.LayerChart:
    """k-NN probe accuracy, silhouette and chance at every level (see ``projections.separation_by_level``)."""
    long = separation.melt(
        id_vars=["level", "level_name"], value_vars=list(SEPARATION_MEASURES), var_name="measure"
    ).assign(
        level_name=lambda table: table["level"].map(shown_level),
        measure=lambda table: table["measure"].map(lambda measure: _(SEPARATION_MEASURES[measure])),
    )
    chance = _(SEPARATION_MEASURES["chance"])
    lines = (
        alt.Chart(_inline(long), title=_("How well each level separates the labels"))
        .mark_line(point=True)
        .encode(
            x=level_axis(len(separation)),
            y=alt.Y("value:Q", title=_("score")),
            color=alt.Color("measure:N", title=None, scale=CATEGORIES),
            strokeDash=alt.condition(alt.datum.measure == chance, alt.value([4, 4]), alt.value([1, 0])),
            tooltip=[
                alt.Tooltip("measure:N", title=_("measure")),
                alt.Tooltip("level_name:N", title=_("level")),
                alt.Tooltip("value:Q", title=_("score"), format=".3f"),
            ],
        )
    )
    return alt.layer(lines, selected_level_rule(selected)).properties(width=520, height=240)


def capped_colours(values: pd.Series) -> pd.Series:
    """``values`` as strings, keeping the MAX_COLOURS - 1 most common and calling the rest OTHER (in the run's
    language)."""
    text = values.astype(str)
    common = text.value_counts().index[: MAX_COLOURS - 1]
    return text.where(text.isin(common), _(OTHER)) if text.nunique() > MAX_COLOURS else text


def projection_scatter(
    points: pd.DataFrame,
    colour: str,
    x: str,
    y: str,
    title: str,
    tooltip: list[str],
    query: tuple[float, float] | None = None,
    titles: Mapping[str, str] | None = None,
) -> alt.LayerChart:
    """Points at (x, y) coloured by ``colour`` (at most MAX_COLOURS colours), with a brush named SELECTION to
    select points and, when given, the query drawn as a large black cross labelled "your text".

    colour, x, y and tooltip are columns of ``points``; ``titles`` names any of them on the chart (default: the
    column's own name)."""
    named = dict(titles or {})
    frame = points[[x, y, "row", *tooltip]].assign(colour=capped_colours(points[colour]))
    scheme = "category10" if frame["colour"].nunique() <= 10 else "category20"  # category20 pairs similar hues
    brush = alt.selection_interval(name=SELECTION, encodings=["x", "y"])
    scatter = (
        alt.Chart(_inline(frame), title=title)
        .mark_circle(size=28, opacity=0.75)
        .encode(
            x=alt.X(f"{x}:Q", title=x, axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y(f"{y}:Q", title=y, axis=alt.Axis(labels=False, ticks=False)),
            color=alt.Color("colour:N", title=named.get(colour, colour), scale=alt.Scale(scheme=scheme)),
            tooltip=[
                alt.Tooltip("colour:N", title=named.get(colour, colour)),
                *(alt.Tooltip(f"{name}:N", title=named.get(name, name)) for name in tooltip),
            ],
        )
        .add_params(brush)
    )
    layers: list[alt.Chart] = [scatter]
    if query is not None:
        marker = pd.DataFrame({x: [query[0]], y: [query[1]], "label": [_("your text")]})
        base = alt.Chart(_inline(marker)).encode(x=f"{x}:Q", y=f"{y}:Q")
        layers += [
            base.mark_point(shape="cross", size=260, color="black", filled=True),
            base.mark_text(dy=-14, fontWeight="bold").encode(text="label:N"),
        ]
    return alt.layer(*layers).properties(width=600, height=480)


def importance_line(importance: np.ndarray, factor: int, selected: int) -> alt.LayerChart:
    """One factor's importance at every level (``importance``: (levels,)), the selected level marked."""
    frame = pd.DataFrame(
        {"level_name": [shown_level(level) for level in range(len(importance))], "importance": importance.round(4)}
    )
    title = _("Importance of factor {factor} at every level").format(factor=factor)
    shown = _("importance")
    line = (
        alt.Chart(_inline(frame), title=title)
        .mark_line(point=True)
        .encode(
            x=level_axis(len(importance)),
            y=alt.Y("importance:Q", title=shown),
            tooltip=[alt.Tooltip("level_name:N", title=_("level")), alt.Tooltip("importance:Q", title=shown)],
        )
    )
    # Streamlit fits the title and the axis labels inside this height too.
    return alt.layer(line, selected_level_rule(selected)).properties(width=420, height=280)


def codes_heatmap(codes: np.ndarray, tokens: list[str], factors: np.ndarray, title: str) -> alt.Chart:
    """Tokens × factors heatmap of codes: ``codes`` (tokens, all factors), only the columns ``factors`` drawn."""
    labels = position_labels(tokens)
    rows, columns = np.indices((len(tokens), len(factors)))
    frame = pd.DataFrame(
        {
            "token": np.asarray(labels)[rows.ravel()],
            "factor": np.asarray([str(f) for f in factors])[columns.ravel()],
            "code": codes[:, factors][rows.ravel(), columns.ravel()].round(4),
        }
    )
    factor, code = _("factor"), _("code")
    return (
        alt.Chart(_inline(frame), title=title)
        .mark_rect()
        .encode(
            x=alt.X(
                "factor:N",
                sort=[str(f) for f in factors],
                title=factor,
                axis=alt.Axis(labelAngle=-45, labelOverlap=False),
            ),
            y=alt.Y("token:N", sort=labels, title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.Color("code:Q", scale=alt.Scale(scheme="oranges"), title=code),
            tooltip=[
                alt.Tooltip("token:N", title=_("token")),
                alt.Tooltip("factor:N", title=factor),
                alt.Tooltip("code:Q", format=".3f", title=code),
            ],
        )
        .properties(width=alt.Step(28), height=alt.Step(18))
    )


def code_histogram(histogram: pd.DataFrame, title: str) -> alt.Chart:
    """How many pieces reach each non-zero code of a factor: ``histogram`` rows start, end, pieces (see
    :meth:`xray.units.dashboard.FactorDashboard.histogram`), one bar per bin."""
    return (
        alt.Chart(_inline(histogram), title=title)
        .mark_bar()
        .encode(
            x=alt.X("start:Q", bin="binned", title=_("code (pieces where the factor is active)")),
            x2="end:Q",
            y=alt.Y("pieces:Q", title=_("pieces")),
            tooltip=[
                alt.Tooltip("start:Q", format=".3f", title=_("code from")),
                alt.Tooltip("end:Q", format=".3f", title=_("code to")),
                alt.Tooltip("pieces:Q", format=",", title=_("pieces")),
            ],
        )
        .properties(width=520, height=240)
    )
