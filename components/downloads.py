"""Download buttons that never rerun the page; file contents given as a callable are built only on click."""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from xray.rendering.export import chart_png, chart_svg, file_stem

Contents = str | bytes | Callable[[], str | bytes]


def download(
    label: str, data: Contents, file_name: str, mime: str, key: str, container: DeltaGenerator | None = None
) -> None:
    """One download button (in ``container``, default the current block)."""
    (container or st).download_button(
        label, data, file_name, mime, key=key, on_click="ignore", icon=":material/download:"
    )


def download_row() -> DeltaGenerator:
    """A horizontal row to put several download buttons side by side."""
    return st.container(horizontal=True)


def chart_downloads(chart: alt.TopLevelMixin, stem: str, key: str) -> None:
    """PNG and SVG download buttons for ``chart``, side by side, saved as ``stem`` (made safe by :func:`file_stem`):
    name the view and its settings, e.g. ``file_stem("attention_heatmap", f"L{layer}", f"H{head}")``.

    Streamlit's own chart menu (Download as PNG) names every file ``<date>_chart.png`` and takes no name: Streamlit
    1.67 drops ``usermeta.embedOptions`` other than theme, renderer and padding, and runs vega-embed without actions.
    """
    stem = file_stem(stem)
    row = download_row()
    download("PNG", lambda: chart_png(chart), f"{stem}.png", "image/png", f"{key}.png", row)
    download("SVG", lambda: chart_svg(chart), f"{stem}.svg", "image/svg+xml", f"{key}.svg", row)


def chart_with_downloads(chart: alt.TopLevelMixin, stem: str, key: str, *, caption: str | None = None) -> None:
    """``chart`` at its own width, then ``caption`` (when given) and its PNG and SVG downloads
    (:func:`chart_downloads`, saved as ``stem``, buttons keyed ``key``)."""
    st.altair_chart(chart, width="content")
    if caption is not None:
        st.caption(caption)
    chart_downloads(chart, stem, key)


def html_download(html: str, label: str, file_name: str, key: str) -> None:
    download(label, html, file_name, "text/html", key)
