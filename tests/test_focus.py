"""The focus token: words as a reader counts them, one label for every page, defaults that are worth seeing."""

from __future__ import annotations

import pytest

from xray.corpora.linguistics import WordTags
from xray.examples import EXAMPLES, example_for_text, example_named
from xray.focus import default_focus, focus_label, piece_of_word, text_words, word_numbered


def test_words_are_counted_as_a_reader_counts_them_without_surrounding_punctuation():
    words = text_words("She sat on the river bank, and — (read) it.")
    assert [word.text for word in words] == ["She", "sat", "on", "the", "river", "bank", "and", "read", "it"]
    assert [word.number for word in words] == list(range(1, 10))
    text = "She sat on the river bank, and — (read) it."
    assert all(text[word.start : word.end] == word.text for word in words)
    assert focus_label(words[5]) == "bank · word 6"


def test_a_text_without_words_has_no_focus():
    assert text_words(" … !! — ") == []
    assert default_focus(" … !! — ") is None


def test_the_key_word_of_an_example_is_its_default_focus():
    for example in EXAMPLES:
        number = default_focus(example.text, example.key_word)
        assert word_numbered(text_words(example.text), number).text.lower() == example.key_word.lower()
    assert example_for_text(f"  {EXAMPLES[1].text} ") == EXAMPLES[1]
    with pytest.raises(ValueError, match="Coreference"):
        example_named("No such example")


def test_without_a_key_word_the_focus_is_the_first_noun_that_is_not_a_stop_word():
    text = "The old man saw the ships."
    tags = [WordTags(4, 7, "ADJ", "amod"), WordTags(8, 11, "NOUN", "nsubj"), WordTags(20, 25, "NOUN", "dobj")]
    assert default_focus(text, None, lambda _: tags) == 3
    assert default_focus(text, "absent", None) == 2  # no tagger: the first word that is not a stop word
    assert default_focus("it is the", None, None) == 1  # only stop words: the first word


def test_the_focus_piece_is_the_first_non_special_piece_of_the_word():
    words = text_words("We didn't go.")
    spans = [(0, 0), (0, 2), (3, 7), (7, 8), (8, 9), (10, 12), (12, 13), (0, 0)]
    assert piece_of_word(spans, words[1]) == 2
    assert piece_of_word(spans, words[2], special=[True] + [False] * 6 + [True]) == 5
    with pytest.raises(ValueError, match="cut at the model's maximum length"):
        piece_of_word(spans[:3], words[2])
    with pytest.raises(ValueError, match="words 1 to 3"):
        word_numbered(words, 4)
