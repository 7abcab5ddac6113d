"""Tokenizations drawn: the pieces of a text as HTML (hover a piece to light up its characters, or the characters to
light up their piece), and Altair charts comparing tokenizers. Each function returns a value; nothing is displayed.

The HTML escapes every character of the text and of every token, styles itself with one ``<style>`` block scoped to
a class of its own (``key``) and links piece and characters by CSS ``:has()`` alone, with no script, so it is safe
for ``st.html``. Right-to-left text keeps its order: pieces are listed left to right (as every page lists tokens),
each inside ``<bdi>`` so an Arabic or Hebrew piece and its id never swap places, and a text flows in its own
direction (``dir="auto"``; a text of a pair in ``<bdi>``, isolated from its label). Every function is called where
the page draws, so its labels are in the run's language.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from itertools import pairwise

import altair as alt
import pandas as pd

from xray.rendering.charts import FOCUS_COLOUR
from xray.techniques.tokenizers import SEQUENCE_NAMES, Piece, Segmentation
from xray.translation import N_, _, n_

SEQUENCE_COLOURS = ("#1f77b4", "#ff7f0e")  # text A, text B (as the type id)
HIGHLIGHT = "background: rgba(255, 193, 7, 0.85); color: black"
_STYLE = """
.{key} .pieces {{ display: flex; flex-wrap: wrap; gap: 0.35rem 0; margin-bottom: 0.6rem }}
.{key} .piece {{ font-family: monospace; padding: 0.1rem 0.3rem; border-radius: 0.25rem; cursor: default;
  background: rgba(127, 127, 127, 0.14); border-bottom: 3px solid transparent; white-space: pre }}
.{key} .piece sub {{ opacity: 0.6; font-size: 0.7em; margin-left: 0.2em }}
.{key} .start {{ margin-left: 0.55rem; border-left: 3px solid currentColor }}
.{key} .continues {{ margin-left: 2px; border-left: 3px dotted rgba(127, 127, 127, 0.6) }}
.{key} .special {{ margin-left: 0.55rem; font-style: italic; opacity: 0.75; border: 1px dashed currentColor }}
.{key} .unknown {{ background: rgba(214, 39, 40, 0.35); outline: 2px solid #d62728 }}
.{key} .seq0 {{ border-bottom-color: {colour_a} }}
.{key} .seq1 {{ border-bottom-color: {colour_b} }}
.{key} .text {{ white-space: pre-wrap; line-height: 1.9; font-size: 1.05rem; margin: 0.2rem 0 }}
.{key} .text span[title] {{ border-bottom: 1px solid rgba(127, 127, 127, 0.5); cursor: default }}
.{key} .cut {{ opacity: 0.45; text-decoration: line-through }}
.{key} .legend {{ font-size: 0.85rem; opacity: 0.85; margin-top: 0.4rem }}
.{key} .focus {{ outline: 2px solid {focus}; outline-offset: 1px }}
"""


def _piece_title(piece: Piece, text: str) -> str:
    if piece.special:
        return _("{token} · id {id} · special token added by the tokenizer · type id {type_id}").format(
            token=piece.token, id=piece.id, type_id=piece.type_id
        )
    where = _("starts a word") if piece.word_start else _("continues a word")
    unknown = _(" · UNKNOWN: the vocabulary cannot spell these characters") if piece.unknown else ""
    return (
        _(
            "{token} · id {id} · characters {start}–{end} {characters} · {where} · text {text}, type id {type_id}"
        ).format(
            token=piece.token,
            id=piece.id,
            start=piece.start,
            end=piece.end,
            characters=repr(text[piece.start : piece.end]),
            where=where,
            text=SEQUENCE_NAMES[piece.sequence],
            type_id=piece.type_id,
        )
        + unknown
    )


def _piece_classes(piece: Piece, index: int, pair: bool, focus: bool) -> str:
    """CSS classes of a piece: its index, its kind, unknown, the focus, and (for a pair) its type id's underline."""
    kind = "special" if piece.special else ("start" if piece.word_start else "continues")
    classes = ["piece", f"p{index}", kind]
    classes += [f"seq{piece.type_id % 2}"] if pair else []
    return " ".join(classes + (["unknown"] if piece.unknown else []) + (["focus"] if focus else []))


def _pieces_html(segmentation: Segmentation, focus: tuple[int, int] | None = None) -> str:
    chips = []
    pair = len(segmentation.texts) > 1
    framed = set(segmentation.pieces_covering(*focus)) if focus is not None else set()
    for index, piece in enumerate(segmentation.pieces):
        text = "" if piece.special else segmentation.texts[piece.sequence]
        classes = _piece_classes(piece, index, pair, index in framed)
        chips.append(
            f'<span class="{classes}" title="{html.escape(_piece_title(piece, text))}">'
            f"<bdi>{html.escape(piece.token)}</bdi><sub>{piece.id}</sub></span>"
        )
    return f'<div class="pieces" dir="ltr">{"".join(chips)}</div>'


def _text_html(segmentation: Segmentation, sequence: int) -> str:
    """The text cut at every piece boundary; each stretch carries the classes of the pieces that cover it."""
    text = segmentation.texts[sequence]
    kept = [(index, piece) for index, piece in enumerate(segmentation.pieces) if piece.sequence == sequence]
    cut = [piece for piece in segmentation.cut if piece.sequence == sequence]
    spans = [(piece.start, piece.end) for _index, piece in kept] + [(piece.start, piece.end) for piece in cut]
    bounds = sorted({0, len(text)} | {bound for span in spans for bound in span})
    stretches = []
    for start, end in pairwise(bounds):
        covering = [index for index, piece in kept if piece.start <= start and end <= piece.end]
        is_cut = any(piece.start <= start and end <= piece.end for piece in cut)
        chunk = html.escape(text[start:end])
        if covering:
            tokens = " ".join(segmentation.pieces[index].token for index in covering)
            classes = " ".join(f"p{index}" for index in covering)
            stretches.append(f'<span class="{classes}" title="{html.escape(tokens)}">{chunk}</span>')
        elif is_cut:
            cut_title = html.escape(_("cut: past the maximum length"))
            stretches.append(f'<span class="cut" title="{cut_title}">{chunk}</span>')
        else:
            stretches.append(chunk)
    shown = "".join(stretches)
    if len(segmentation.texts) == 1:
        return f'<div class="text" dir="auto">{shown}</div>'
    # dir="auto" skips text inside <bdi>, so the line goes by its English label and the text by itself.
    label = html.escape(_("Text {name}").format(name=SEQUENCE_NAMES[sequence]))
    return f'<div class="text"><b>{label}</b> · <bdi>{shown}</bdi></div>'


def _style(key: str, count: int) -> str:
    """The view's style, scoped to class ``key``, with a rule lighting piece i and its characters for each of the
    ``count`` pieces."""
    if not key.replace("-", "").isalnum():
        raise ValueError(f"key must be letters, digits and dashes, not {key!r}.")
    rules = _STYLE.format(key=key, colour_a=SEQUENCE_COLOURS[0], colour_b=SEQUENCE_COLOURS[1], focus=FOCUS_COLOUR)
    links = "".join(f".{key}:has(.p{index}:hover) .p{index} {{ {HIGHLIGHT} }}\n" for index in range(count))
    return f"<style>{rules}{links}</style>"


def _legend(segmentation: Segmentation, focus: bool = False) -> str:
    framed_word = html.escape(_("framed"))
    framed = f'<span style="outline: 2px solid {FOCUS_COLOUR}">{framed_word}</span>'
    parts = [_("{framed}: the focus token").format(framed=framed)] if focus else []
    parts += [
        _("a solid bar starts a word, a dotted one continues it"),
        _("dashed: special tokens the tokenizer adds"),
        _("red: unknown"),
        _("small number: the id"),
    ]
    if len(segmentation.texts) > 1:
        names = html.escape(_("type id 0 (text A)")), html.escape(_("type id 1 (text B)"))
        first, second = (
            f'<span style="color: {colour}">{name}</span>' for colour, name in zip(SEQUENCE_COLOURS, names, strict=True)
        )
        parts.append(_("underline: {first} or {second}").format(first=first, second=second))
    if segmentation.truncated:
        parts.append(
            _("struck through: {count} tokens cut at the maximum of {limit}").format(
                count=len(segmentation.cut), limit=segmentation.max_length
            )
        )
    hover = _("Hover a piece or a word")
    return f'<div class="legend">{hover} · {" · ".join(parts)}</div>'


def segmentation_html(segmentation: Segmentation, key: str, focus: tuple[int, int] | None = None) -> str:
    """The pieces of ``segmentation`` above its text(s), hover-linked both ways, with a legend.

    key: a CSS class name unique on the page (letters, digits and dashes), so several views do not light each other.
    focus: the (start, end) characters of the sidebar's focus word in the first text; its pieces are framed.
    """
    texts = "".join(_text_html(segmentation, sequence) for sequence in range(len(segmentation.texts)))
    legend = _legend(segmentation, focus is not None)
    return (
        f"{_style(key, len(segmentation.pieces))}"
        f'<div class="{key}">{_pieces_html(segmentation, focus)}{texts}{legend}</div>'
    )


def side_by_side_html(segmentations: Sequence[Segmentation], key: str) -> str:
    """One row of pieces per tokenizer, its name and token count first; hover a piece for its characters."""
    rows = "".join(
        f'<div style="margin: 0.3rem 0 0.7rem"><b><bdi>{html.escape(segmentation.tokenizer)}</bdi></b> · '
        f"{html.escape(_counts(segmentation))}{_pieces_html(segmentation)}</div>"
        for segmentation in segmentations
    )
    return f'{_style(key, 0)}<div class="{key}">{rows}</div>'


def _counts(segmentation: Segmentation) -> str:
    """ "12 tokens, 2 words split"."""
    split = len(segmentation.split_words)
    words = n_("{count} word", "{count} words", split).format(count=split)
    return _("{tokens} tokens, {words} split").format(tokens=len(segmentation.pieces), words=words)


def _inline(frame: pd.DataFrame) -> alt.InlineData:
    return alt.InlineData(values=frame.to_dict(orient="records"))


MEASURES = {
    N_("tokens per word"): ".2f",
    N_("words split"): ".0%",
    N_("unknown rate"): ".3%",
}
"""The measures :func:`measure_bars` charts (columns of ``TokenizerComparison.table()``) and their number formats."""


def measure_bars(table: pd.DataFrame) -> alt.HConcatChart:
    """One bar chart per measure of :data:`MEASURES`, one bar per tokenizer
    (rows of ``TokenizerComparison.table()``)."""
    order = list(table["tokenizer"])
    tokenizer, algorithm = _("tokenizer"), _("algorithm")
    charts = [
        alt.Chart(_inline(table[["tokenizer", "algorithm", measure]]), title=_(measure))
        .mark_bar()
        .encode(
            x=alt.X(f"{measure}:Q", title=None, axis=alt.Axis(format=number_format)),
            y=alt.Y("tokenizer:N", sort=order, title=None, axis=alt.Axis(labelLimit=220) if index == 0 else None),
            color=alt.Color("algorithm:N", title=algorithm, legend=alt.Legend(orient="bottom") if index == 0 else None),
            tooltip=[
                alt.Tooltip("tokenizer:N", title=tokenizer),
                alt.Tooltip("algorithm:N", title=algorithm),
                alt.Tooltip(f"{measure}:Q", title=_(measure), format=number_format),
            ],
        )
        .properties(width=200, height=alt.Step(22))
        for index, (measure, number_format) in enumerate(MEASURES.items())
    ]
    return alt.hconcat(*charts, title=_("Held-out text, as each tokenizer cuts it")).properties(autosize="pad")


def length_curve(table: pd.DataFrame, corpus: str) -> alt.LayerChart:
    """Mean tokens per held-out text against vocabulary size: a line per trained algorithm, a labelled point per
    other tokenizer (rows of ``TokenizerComparison.table()``)."""
    trained = table[table["origin"] == "trained"]
    others = table[table["origin"] != "trained"]
    size = _("vocabulary size")
    x = alt.X("vocabulary size:Q", scale=alt.Scale(type="log"), axis=alt.Axis(format=",d"), title=size)
    y = alt.Y(
        "tokens per text:Q", scale=alt.Scale(zero=False), title=_("tokens per {corpus} text").format(corpus=corpus)
    )
    tooltip = [
        alt.Tooltip("tokenizer:N", title=_("tokenizer")),
        alt.Tooltip("vocabulary size:Q", title=size, format=","),
        alt.Tooltip("tokens per text:Q", title=_("tokens per text")),
        alt.Tooltip("tokens per word:Q", title=_("tokens per word")),
    ]
    title = _("Sequence length against vocabulary size, held-out {corpus}").format(corpus=corpus)
    legend = alt.Legend(orient="bottom")
    lines = (
        alt.Chart(_inline(trained), title=title)
        .mark_line(point=True)
        .encode(x=x, y=y, color=alt.Color("algorithm:N", title=_("algorithm"), legend=legend), tooltip=tooltip)
    )
    points = alt.Chart(_inline(others)).mark_point(shape="diamond", size=90, filled=True, color="black")
    labels = alt.Chart(_inline(others)).mark_text(align="left", dx=8, fontSize=11)
    layers = [lines]
    if len(others):
        layers += [points.encode(x=x, y=y, tooltip=tooltip), labels.encode(x=x, y=y, text="tokenizer:N")]
    return alt.layer(*layers).properties(width=460, height=280, autosize="pad")
