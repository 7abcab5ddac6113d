"""Which language the input is in, and the notice where an English-only model reads Turkish."""

from __future__ import annotations

import pytest

from xray.models.loading import EMBEDDED_MODEL
from xray.text_language import model_language_notice, text_language
from xray.translation import use_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hayvan çok yorgun olduğu için caddeyi geçmedi.", "tr"),
        ("Çekoslovakyalılaştıramadıklarımızdan mısınız?", "tr"),
        ("Kitapları masanın üstüne koydum.", "tr"),
        ("The animal didn't cross the street because it was too tired.", "en"),
        ("We sat on the bank of the river.", "en"),
        ("£1.5bn", None),  # too few letters to tell
    ],
)
def test_the_texts_language_is_found(text, language):
    assert text_language(text) == language
    text_language.cache_clear()
    assert text_language(text) == language  # seeded: the same answer every time


def test_an_english_only_model_reading_turkish_gets_a_notice_in_the_runs_language():
    turkish = "Kitapları masanın üstüne koydum."
    notice = model_language_notice(EMBEDDED_MODEL, turkish)
    assert notice is not None and EMBEDDED_MODEL in notice and "English text only" in notice
    use_language("tr")
    try:
        assert "yalnızca İngilizce" in notice.translated()
    finally:
        use_language("en")
    assert model_language_notice(EMBEDDED_MODEL, "We sat on the bank of the river.") is None
    assert model_language_notice("dbmdz/bert-base-turkish-cased", turkish) is None  # not known as English-only
