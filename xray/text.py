"""Check and clean user text before any model sees it, and say what was changed.

Emoji, CJK and right-to-left scripts pass through unchanged (with a notice where it helps
reading the views); control characters other than tab and newline are removed and counted.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from xray.translation import N_, Message, _, counted

_KEPT_CONTROLS = {"\n", "\t"}
_RTL_BIDI_CLASSES = {"R", "AL"}
FIRST_STRONG_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2068", "\u2069"


def isolate(text: str) -> str:
    """``text`` as a bidi isolate, the plain-text ``<bdi>`` (for Markdown and captions, where HTML is not allowed):
    a right-to-left word or piece quoted in an English sentence keeps its order and does not pull the punctuation or
    numbers around it into its own direction."""
    return f"{FIRST_STRONG_ISOLATE}{text}{POP_DIRECTIONAL_ISOLATE}"


@dataclass(frozen=True)
class PreparedText:
    """text: what the model will read; notices: one short sentence per change or caveat."""

    text: str
    notices: tuple[Message, ...]


TEXT, SECOND_TEXT = N_("text"), N_("second text")


def prepare_text(text: str | None, *, what: str = TEXT) -> PreparedText:
    """Validate and clean ``text``. Raises ValueError for empty or whitespace-only input.

    what: what the text is, marked with ``N_`` (default "text"; "second text" for a comparison's other text).
    """
    if text is None or not text.strip():
        raise ValueError(_("The {what} is empty: type a sentence or pick an example.").format(what=_(what)))
    kept = [char for char in text if unicodedata.category(char) != "Cc" or char in _KEPT_CONTROLS]
    notices: list[Message] = []
    removed = len(text) - len(kept)
    cleaned = "".join(kept)
    if removed:
        characters = counted(N_("{count} control character"), N_("{count} control characters"), removed)
        notices.append(Message(N_("Removed {characters} from the {what}."), characters=characters, what=Message(what)))
    if not cleaned.strip():
        raise ValueError(
            _("The {what} holds only control characters: type a sentence or pick an example.").format(what=_(what))
        )
    if any(unicodedata.bidirectional(char) in _RTL_BIDI_CLASSES for char in cleaned):
        rtl = N_("The {what} contains right-to-left script: tokens are listed in reading order, left to right.")
        notices.append(Message(rtl, what=Message(what)))
    return PreparedText(cleaned, tuple(notices))


def pretty_token(token: str) -> str:
    """A token as a reader would write it: byte-level and SentencePiece space marks become spaces."""
    return token.replace("Ġ", " ").replace("▁", " ").replace("Ċ", "\\n")


def position_labels(tokens: list[str], positions: list[int] | None = None) -> list[str]:
    """Unique axis labels ``"03 bank"``: the token's input position keeps repeated tokens apart.

    positions: each token's position in the input (default 0, 1, 2, ...), for a subset of tokens.
    """
    positions = list(range(len(tokens))) if positions is None else positions
    if len(positions) != len(tokens):
        raise ValueError(f"Got {len(positions)} positions for {len(tokens)} tokens.")
    width = len(str(max(positions, default=0)))
    return [f"{index:0{width}d} {pretty_token(token)}" for index, token in zip(positions, tokens, strict=True)]
