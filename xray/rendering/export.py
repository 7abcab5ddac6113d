"""Charts as files: PNG or SVG, rendered offline by vl-convert, and the names they are saved under. Each function
returns bytes or str."""

from __future__ import annotations

import re
import unicodedata

import altair as alt
import vl_convert

MAX_STEM = 120
"""Characters a file stem may take (file systems allow 255 bytes a name)."""


def file_stem(*parts: object) -> str:
    """A file name without extension, naming a view and its settings: the parts joined by ``_``, as lowercase ASCII
    of ``[a-z0-9_.-]`` only (accents dropped, spaces and anything else turned into ``_``), at most MAX_STEM long.

    ``file_stem("attention heatmap", "L4", "H3")`` is ``attention_heatmap_l4_h3``; parts that leave nothing (an
    Arabic word, an empty string) are skipped, and a stem with nothing left is ``download``.
    """
    cleaned = []
    for part in parts:
        ascii_text = unicodedata.normalize("NFKD", str(part)).encode("ascii", "ignore").decode().lower()
        text = re.sub(r"[^a-z0-9.-]+", "_", ascii_text).strip("_.-")
        if text:
            cleaned.append(text)
    return "_".join(cleaned)[:MAX_STEM].rstrip("_.-") or "download"


def chart_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """The chart rendered to PNG, offline (vl-convert)."""
    return vl_convert.vegalite_to_png(chart.to_json(), scale=scale)


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """The chart rendered to SVG, offline (vl-convert)."""
    return vl_convert.vegalite_to_svg(chart.to_json())
