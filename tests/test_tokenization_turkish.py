"""Turkish under a tokenizer: pieces against morphemes, and the dotted and dotless i under the normaliser."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordPiece

from xray.tokenization.sources import model_tokenizer, source_from
from xray.tokenization.turkish import (
    AGGLUTINATIVE_WORDS,
    TurkishWord,
    dotted_i,
    morpheme_split,
    turkish_lower,
)
from xray.translation import use_language

EV = TurkishWord("evlerimizden", ("ev", "ler", "imiz", "den"), "from our houses")
LETTERS = "abcdefghijklmnoprstuvyzçğöşüıİIĞŞÇÖÜ"


def _wordpiece(name: str, pieces: list[str], *, lowercase: bool):
    """A WordPiece tokenizer whose vocabulary is [UNK], every letter (alone and as ##letter) and ``pieces``."""
    vocab = ["[UNK]", *LETTERS, *(f"##{letter}" for letter in LETTERS), *pieces]
    tokenizer = Tokenizer(
        WordPiece({piece: index for index, piece in enumerate(dict.fromkeys(vocab))}, unk_token="[UNK]")
    )
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=lowercase) if lowercase else normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return source_from(name, "folder", tokenizer, None)


def test_the_morphemes_spell_the_word_and_give_its_boundaries():
    assert EV.boundaries == {2, 5, 9}
    assert all("".join(word.morphemes) == word.word for word in AGGLUTINATIVE_WORDS)
    with pytest.raises(ValueError, match="do not spell"):
        TurkishWord("evler", ("ev", "lar"), "houses")


def test_pieces_on_the_suffixes_score_one_and_letters_get_full_recall_but_low_precision():
    morphemic = _wordpiece("morphemic", ["ev", "##ler", "##imiz", "##den"], lowercase=False)
    letters = _wordpiece("letters", [], lowercase=False)
    split = morpheme_split([letters, morphemic], [EV])
    scores = split.scores().set_index("tokenizer")
    assert scores.loc["morphemic", ["precision", "recall", "f1"]].tolist() == [1.0, 1.0, 1.0]
    assert scores.loc["letters", "recall"] == 1.0 and scores.loc["letters", "precision"] == pytest.approx(3 / 11)
    assert split.table().loc[1, "pieces"] == "ev · ##ler · ##imiz · ##den"
    assert split.verdict().startswith("**morphemic** cuts closest to the suffixes: at 3 of the 3 places")
    use_language("tr")
    try:
        assert "**morphemic**" in split.verdict() and "F1 1,00" in split.verdict()
    finally:
        use_language("en")


def test_turkish_lower_cases_its_two_is_apart():
    assert turkish_lower("IĞDIR İSTANBUL") == "ığdır istanbul"
    assert "IĞDIR".lower() == "iğdir"  # what English lower-casing does


def test_an_uncased_normaliser_breaks_the_dotless_i_and_strips_the_marks():
    uncased = dotted_i(_wordpiece("uncased", [], lowercase=True), ["Iğdır", "İstanbul", "kız"])
    rows = {row["word"]: row for row in uncased.rows}
    assert (rows["Iğdır"]["normalised"], rows["Iğdır"]["turkish"], rows["Iğdır"]["as_turkish"]) == (
        "igdır",
        "ığdır",
        False,
    )
    assert rows["İstanbul"]["as_turkish"] and rows["kız"]["as_turkish"]
    assert "*Iğdır* becomes *igdır*, where Turkish writes *ığdır*" in uncased.verdict()
    cased = dotted_i(_wordpiece("cased", [], lowercase=False), ["Iğdır", "İstanbul"])
    assert all(row["as_turkish"] for row in cased.rows) and cased.unspellable == ()
    assert cased.verdict() == "cased keeps every one of these words as Turkish writes it."


def test_letters_missing_from_the_vocabulary_are_named():
    vocab = {"[UNK]": 0, "k": 1, "z": 2, "##z": 3}
    tokenizer = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    check = dotted_i(source_from("small", "folder", tokenizer, None), ["kız"])
    assert check.unspellable == ("ı",) and "cannot spell ı" in check.verdict()


@pytest.mark.integration
def test_the_embedded_models_normaliser_reads_iğdır_as_igdır(minilm):
    check = dotted_i(model_tokenizer(minilm))
    rows = {row["word"]: row for row in check.rows}
    assert rows["Iğdır"]["normalised"] == "igdır" and rows["çiçek"]["normalised"] == "cicek"
    assert rows["İstanbul"]["as_turkish"] and not rows["IŞIK"]["as_turkish"]
