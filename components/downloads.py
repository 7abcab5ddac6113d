"""Download buttons; file contents are built only when a button is clicked."""

from __future__ import annotations

import altair as alt
import streamlit as st

from xray.export import chart_png, chart_svg


def chart_downloads(chart: alt.TopLevelMixin, stem: str, key: str) -> None:
    """PNG and SVG download buttons for ``chart``, side by side."""
    row = st.container(horizontal=True)
    row.download_button(
        "PNG",
        lambda: chart_png(chart),
        f"{stem}.png",
        "image/png",
        key=f"{key}.png",
        on_click="ignore",
        icon=":material/download:",
    )
    row.download_button(
        "SVG",
        lambda: chart_svg(chart),
        f"{stem}.svg",
        "image/svg+xml",
        key=f"{key}.svg",
        on_click="ignore",
        icon=":material/download:",
    )


def html_download(html: str, label: str, file_name: str, key: str) -> None:
    st.download_button(label, html, file_name, "text/html", key=key, on_click="ignore", icon=":material/download:")
