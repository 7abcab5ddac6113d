from __future__ import annotations

import pytest

from xray.text import position_labels, prepare_text, pretty_token


def test_plain_text_passes_unchanged():
    prepared = prepare_text("The bank was closed.")
    assert prepared.text == "The bank was closed." and prepared.notices == ()


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_empty_text_is_refused_with_a_hint(text):
    with pytest.raises(ValueError, match="type a sentence"):
        prepare_text(text)


def test_control_characters_are_removed_and_counted():
    prepared = prepare_text("a\x00b\x07c\nd\te")
    assert prepared.text == "abc\nd\te"
    assert prepared.notices == ("Removed 2 control characters from the text.",)


def test_text_of_control_characters_only_is_refused():
    with pytest.raises(ValueError, match="only control characters"):
        prepare_text("\x00\x01\x02")


def test_right_to_left_script_gets_a_reading_notice():
    assert any("right-to-left" in notice for notice in prepare_text("שלום עולם").notices)
    assert prepare_text("東京 😀").notices == ()


def test_tokens_are_prettified_and_labels_stay_unique():
    assert pretty_token("Ġbank") == " bank" and pretty_token("▁bank") == " bank"
    labels = position_labels(["the", "bank", "the"] * 4)
    assert len(set(labels)) == 12 and labels[0] == "00 the"


def test_labels_keep_input_positions_for_a_subset():
    assert position_labels(["the", "bank"], positions=[3, 12]) == ["03 the", "12 bank"]
    with pytest.raises(ValueError, match="positions"):
        position_labels(["the"], positions=[1, 2])
