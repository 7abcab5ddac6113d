"""Charts as files: PNG or SVG, rendered offline by vl-convert. Each function returns bytes or str."""

from __future__ import annotations

import altair as alt
import vl_convert


def chart_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """The chart rendered to PNG, offline (vl-convert)."""
    return vl_convert.vegalite_to_png(chart.to_json(), scale=scale)


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """The chart rendered to SVG, offline (vl-convert)."""
    return vl_convert.vegalite_to_svg(chart.to_json())
