"""A text with its words shaded by signed scores (e.g. LIME weights), as a small self-contained HTML string.

Red shades push towards the class, blue against it (the colours of :func:`xray.rendering.charts.signed_bars`);
the opacity grows with the score's size relative to the largest. Every character of the text is
HTML-escaped, styles are inline and there is no script, so the result is safe for ``st.html``.
The text takes its own direction (``dir="auto"``: Arabic or Hebrew runs right to left); its words are not isolated
one by one, which would reverse the order of a right-to-left phrase inside a left-to-right sentence.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from xray.translation import N_, _

TOWARDS_RGB = (214, 39, 40)
AGAINST_RGB = (31, 119, 180)
MIN_OPACITY = 0.12  # the weakest scored word is still visibly shaded
MAX_OPACITY = 0.75  # the strongest word stays readable in light and dark themes
TOWARDS, AGAINST = N_("towards the class"), N_("against the class")
_BOX = "white-space: pre-wrap; line-height: 2; font-size: 1.05rem"
_MARK = "padding: 0.1em 0.15em; border-radius: 0.25em"
_OUTLINE = "outline: 2px solid currentColor; font-weight: 600"


def _colour(weight: float, largest: float) -> str:
    red, green, blue = TOWARDS_RGB if weight >= 0 else AGAINST_RGB
    opacity = MIN_OPACITY + (MAX_OPACITY - MIN_OPACITY) * abs(weight) / largest if largest > 0 else MIN_OPACITY
    return f"rgba({red}, {green}, {blue}, {opacity:.3f})"


def _swatch(weight: float, label: str) -> str:
    return f'<span style="background: {_colour(weight, 1.0)}; {_MARK}">{html.escape(label)}</span>'


def highlighted_text_html(
    text: str,
    spans: Sequence[tuple[int, int, float | None]],
    *,
    towards: str = TOWARDS,
    against: str | None = AGAINST,
    outlined: tuple[int, int] | None = None,
    legend: bool = True,
) -> str:
    """``text`` as HTML with each scored span shaded and its score in a hover tooltip, then a legend (``legend``
    False: none, for a list of texts under one :func:`highlight_legend`).

    spans: (start, end, score) character spans of ``text``, in order and not overlapping; a span
        with score None is shown plain. towards, against: legend labels for positive and negative
        scores, translated where they are drawn (against None: no negative swatch, for scores that are never
        negative).
    outlined: (start, end) of one span to frame (e.g. the word whose output is explained), or None.
    """
    largest = max((abs(score) for _, _, score in spans if score is not None), default=0.0)
    pieces: list[str] = []
    cursor = 0
    for start, end, score in spans:
        if not cursor <= start <= end <= len(text):
            raise ValueError(f"Spans must be in order, inside the text and not overlap; got ({start}, {end}).")
        pieces.append(html.escape(text[cursor:start]))
        word = html.escape(text[start:end])
        if (start, end) == outlined:
            pieces.append(f'<span style="{_OUTLINE}; {_MARK}">{word}</span>')
        elif score is None:
            pieces.append(word)
        else:
            tooltip = html.escape(f"{text[start:end]}: {score:+.4f}", quote=True)
            pieces.append(
                f'<span title="{tooltip}" style="background: {_colour(score, largest)}; {_MARK}">{word}</span>'
            )
        cursor = end
    pieces.append(html.escape(text[cursor:]))
    below = highlight_legend(_(towards), None if against is None else _(against)) if legend else ""
    return f'<div class="xray-highlight"><div dir="auto" style="{_BOX}">{"".join(pieces)}</div>{below}</div>'


def highlight_legend(towards: str, against: str | None = None) -> str:
    """The legend of :func:`highlighted_text_html`'s shading, on its own (one for a whole list of texts)."""
    swatches = _swatch(1.0, towards) + (f" {_swatch(-1.0, against)}" if against is not None else "")
    legend = _("{swatches} · a stronger colour means a larger value; hover a word to see it").format(swatches=swatches)
    return f'<div style="font-size: 0.85rem; margin-top: 0.5rem">{legend}</div>'
