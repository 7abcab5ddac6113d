"""Turkish under a tokenizer: how its pieces fall on the suffixes of agglutinative words, and what its normaliser
does to the dotted and dotless i.

Turkish builds words by chaining suffixes (*ev-ler-imiz-den*, "from our houses"), so a word's pieces can be read
against its morphemes: a piece boundary that falls on a morpheme boundary cuts where the language does. Turkish also
has two i's, each with its own capital (ı/I and i/İ): lower-casing as English does turns *I* into *i*, where Turkish
writes *ı*, and an uncased BERT normaliser then strips the marks off ç, ğ, ö, ş and ü as if they were accents.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from xray.tokenization.sources import TokenizerSource
from xray.translation import N_, _, number


@dataclass(frozen=True)
class TurkishWord:
    """word: as written; morphemes: its stem and suffixes, in order, spelling ``word`` when joined; gloss: what each
    morpheme does, in English (marked for translation)."""

    word: str
    morphemes: tuple[str, ...]
    gloss: str

    def __post_init__(self) -> None:
        if "".join(self.morphemes) != self.word:
            raise ValueError(f"The morphemes {self.morphemes} do not spell {self.word!r}.")

    @property
    def boundaries(self) -> frozenset[int]:
        """The character offsets inside the word where one morpheme ends and the next begins."""
        ends, offset = set(), 0
        for morpheme in self.morphemes[:-1]:
            offset += len(morpheme)
            ends.add(offset)
        return frozenset(ends)


AGGLUTINATIVE_WORDS = (
    TurkishWord("evlerimizden", ("ev", "ler", "imiz", "den"), N_("house + plural + our + from (ablative)")),
    TurkishWord("kitaplarımızı", ("kitap", "lar", "ımız", "ı"), N_("book + plural + our + object (accusative)")),
    TurkishWord(
        "gelemeyecekmişsiniz",
        ("gel", "e", "me", "yecek", "miş", "siniz"),
        N_("come + can + not + future + reportedly + you (plural)"),
    ),
    TurkishWord(
        "Çekoslovakyalılaştıramadıklarımızdan",
        ("Çekoslovakya", "lı", "laş", "tır", "a", "ma", "dık", "lar", "ımız", "dan"),
        N_("Czechoslovakia + of + become + make + can + not + that which + plural + our + from (ablative)"),
    ),
)
"""Words a Turkish class knows, with their morphemes as a grammar book splits them (the buffer letters y and n go
with the suffix that needs them)."""
DOTTED_I_WORDS = ("Iğdır", "ılık", "İstanbul", "IŞIK", "İNCİ", "kız", "çiçek")
"""Words with each of Turkish's four i's (I ı İ i) and the letters an uncased normaliser strips (ç ğ ş)."""


def pieces_with_offsets(source: TokenizerSource, word: str) -> tuple[tuple[str, ...], frozenset[int]]:
    """The pieces ``source`` cuts ``word`` into (no special tokens) and the character offsets in ``word`` where one
    piece ends and another begins (from the encoding's offsets, so normalisation does not shift them)."""
    encoding = source.tokenizer.encode(word, add_special_tokens=False)
    ends = {end for _start, end in encoding.offsets[:-1]}
    return tuple(encoding.tokens), frozenset(end for end in ends if 0 < end < len(word))


@dataclass(frozen=True)
class MorphemeSplit:
    """How each tokenizer cuts each word against its morphemes.

    rows: one per (word, tokenizer): the word, the tokenizer's name, its pieces, the morphemes, how many of the
    word's morpheme boundaries a piece boundary falls on (``matched``), of ``morpheme_boundaries``, and the pieces'
    own boundaries (``piece_boundaries``).
    """

    tokenizers: tuple[str, ...]
    rows: tuple[dict, ...]

    def scores(self) -> pd.DataFrame:
        """Per tokenizer, over all the words: its cuts inside them, the morpheme boundaries, how many of these it
        cuts at, and boundary precision, recall and F1 (the Morpho Challenge's measures of a segmentation)."""
        frame = (
            pd.DataFrame(list(self.rows))
            .groupby("tokenizer", sort=False)[["piece_boundaries", "morpheme_boundaries", "matched"]]
            .sum()
        )
        frame["precision"] = frame["matched"] / frame["piece_boundaries"].where(frame["piece_boundaries"] > 0)
        frame["recall"] = frame["matched"] / frame["morpheme_boundaries"]
        frame["f1"] = 2 * frame["matched"] / (frame["piece_boundaries"] + frame["morpheme_boundaries"])
        return frame.reset_index()

    def table(self) -> pd.DataFrame:
        """The rows with the pieces and morphemes written out (English column names; the page renames them)."""
        frame = pd.DataFrame(list(self.rows))
        frame["pieces"] = frame["pieces"].map(" · ".join)
        frame["morphemes"] = frame["morphemes"].map(" · ".join)
        return frame

    def verdict(self) -> str:
        """Which tokenizer cuts closest to where the suffixes begin, in the run's language."""
        best = self.scores().sort_values("f1", ascending=False, kind="stable").iloc[0]
        sentence = _(
            "**{best}** cuts closest to the suffixes: at {matched} of the {total} places where a morpheme begins, with "
            "{cuts} cuts in all (boundary F1 {f1}). No tokenizer here was trained on Turkish: a piece that ends on a "
            "suffix does so because the same letters are common in English, not because it knows the suffix."
        )
        return sentence.format(
            best=best["tokenizer"],
            matched=int(best["matched"]),
            total=int(best["morpheme_boundaries"]),
            cuts=int(best["piece_boundaries"]),
            f1=number(best["f1"]),
        )


def morpheme_split(
    sources: Sequence[TokenizerSource], words: Sequence[TurkishWord] = AGGLUTINATIVE_WORDS
) -> MorphemeSplit:
    """Each of ``sources`` on each of ``words``: its pieces and how many of the morpheme boundaries they hit."""
    if not sources:
        raise ValueError(_("Give at least one tokenizer to compare with the morphemes."))
    rows = []
    for word in words:
        for source in sources:
            pieces, ends = pieces_with_offsets(source, word.word)
            rows.append(
                {
                    "word": word.word,
                    "tokenizer": source.name,
                    "pieces": pieces,
                    "morphemes": word.morphemes,
                    "matched": len(ends & word.boundaries),
                    "morpheme_boundaries": len(word.boundaries),
                    "piece_boundaries": len(ends),
                }
            )
    return MorphemeSplit(tuple(source.name for source in sources), tuple(rows))


def turkish_lower(text: str) -> str:
    """``text`` lower-cased as Turkish does: I becomes ı and İ becomes i (Python's ``lower`` gives i and i̇)."""
    return text.replace("I", "ı").replace("İ", "i").lower()


def normalised(source: TokenizerSource, text: str) -> str:
    """``text`` after ``source``'s normaliser (unchanged where it has none)."""
    normaliser = source.tokenizer.normalizer
    return normaliser.normalize_str(text) if normaliser is not None else text


def lower_cases(source: TokenizerSource) -> bool:
    """True where ``source``'s normaliser lower-cases (an uncased model)."""
    return normalised(source, "A") == "a"


@dataclass(frozen=True)
class DottedI:
    """What one tokenizer's normaliser does to words with Turkish letters.

    rows: per word: the word, how Turkish writes it for this tokenizer (lower-cased the Turkish way where the
    tokenizer lower-cases, else as written, NFC), what the normaliser makes of it, the pieces, whether the two
    agree (``as_turkish``). unspellable: the words' letters that the vocabulary cannot spell (each alone becomes
    the unknown token).
    """

    tokenizer: str
    lower_cases: bool
    rows: tuple[dict, ...]
    unspellable: tuple[str, ...]

    def table(self) -> pd.DataFrame:
        frame = pd.DataFrame(list(self.rows))
        frame["pieces"] = frame["pieces"].map(" · ".join)
        return frame

    def verdict(self) -> str:
        """How many words come out of the normaliser as Turkish writes them, what goes wrong, and which letters the
        vocabulary cannot spell, in the run's language."""
        if not self.unspellable:
            return self._normalisation()
        unknown = _("Its vocabulary cannot spell {letters}: the pieces holding them become the unknown token.")
        return f"{self._normalisation()} {unknown.format(letters=' '.join(self.unspellable))}"

    def _normalisation(self) -> str:
        kept = sum(row["as_turkish"] for row in self.rows)
        if kept == len(self.rows):
            return _("{tokenizer} keeps every one of these words as Turkish writes it.").format(
                tokenizer=self.tokenizer
            )
        changes = "; ".join(
            _("*{word}* becomes *{normalised}*, where Turkish writes *{turkish}*").format(**row)
            for row in self.rows
            if not row["as_turkish"]
        )
        sentence = (
            _(
                "{tokenizer} lower-cases as English does and strips the marks off letters: {kept} of {count} words "
                "come out as Turkish writes them. {changes}."
            )
            if self.lower_cases
            else _("{tokenizer} changes {changed} of {count} words: {changes}.")
        )
        return sentence.format(
            tokenizer=self.tokenizer, kept=kept, changed=len(self.rows) - kept, count=len(self.rows), changes=changes
        )


def dotted_i(source: TokenizerSource, words: Sequence[str] = DOTTED_I_WORDS) -> DottedI:
    """``source``'s normaliser and pieces on ``words``, against Turkish spelling."""
    lowers = lower_cases(source)
    rows = []
    for word in words:
        written = unicodedata.normalize("NFC", turkish_lower(word) if lowers else word)
        after = normalised(source, word)
        pieces, _ends = pieces_with_offsets(source, word)
        rows.append(
            {
                "word": word,
                "turkish": written,
                "normalised": after,
                "pieces": pieces,
                "as_turkish": after == written,
            }
        )
    letters = dict.fromkeys(char for word in words for char in word if char.isalpha())
    unknown = source.unknown_id
    unspellable = tuple(
        char for char in letters if unknown in source.tokenizer.encode(char, add_special_tokens=False).ids
    )
    return DottedI(source.name, lowers, tuple(rows), unspellable)
