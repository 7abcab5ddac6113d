"""The app's languages: the catalog holds every message of the code, translated, following the glossary; numbers
as the language writes them; the language chosen per run and kept in the URL."""

from __future__ import annotations

import csv
import pickle
import re
import threading

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.pages import ROOT, assert_clean, english_left, run_page
from xray.translation import (
    KEYWORDS,
    LOCALE_DIR,
    N_,
    Message,
    _,
    current_language,
    language_of_locale,
    number,
    percent,
    translated,
    use_language,
)

CATALOG = LOCALE_DIR / "tr" / "LC_MESSAGES" / "xray.po"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def _messages_in_code() -> set[str]:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS, comment_tags=())
    return {message if isinstance(message, str) else message[0] for _file, _line, message, _c, _ctx in found}


def _key(message) -> str:
    """An entry's source message: its msgid, the singular for a plural entry."""
    return message.id if isinstance(message.id, str) else message.id[0]


def _forms(message) -> list[tuple[str, str]]:
    """(English, Turkish) for each form of an entry: one for a message; for a plural, each of the language's
    forms beside the English singular (the first) or plural (the others)."""
    if isinstance(message.id, str):
        return [(message.id, message.string)]
    return [(message.id[min(index, 1)], form) for index, form in enumerate(message.string)]


def _strings(message) -> str | tuple[str, ...]:
    return message.string if isinstance(message.string, str) else tuple(message.string)


@pytest.fixture(scope="module")
def catalog():
    with CATALOG.open("rb") as file:
        return read_po(file)


def test_every_message_of_the_code_is_in_the_turkish_catalog_translated(catalog):
    in_code = _messages_in_code()
    assert len(in_code) > 50 and "Explainers on a corpus" in in_code  # the pages' PageInfo literals are read too
    assert not catalog.fuzzy and catalog.charset == "utf-8"  # a fuzzy header: pybabel compile skips the catalog
    entries = {_key(message): message for message in catalog if message.id}
    assert sorted(in_code - set(entries)) == []  # run the README's extract and update commands, then translate
    assert sorted(set(entries) - in_code) == []  # no entry the code no longer has
    for message in entries.values():
        assert not message.fuzzy, message.id
        for english, turkish in _forms(message):
            assert turkish.strip(), english
            assert sorted(PLACEHOLDER.findall(turkish)) == sorted(PLACEHOLDER.findall(english)), english


def test_the_shipped_compiled_catalog_is_the_translated_one(catalog):
    with (CATALOG.with_suffix(".mo")).open("rb") as file:
        compiled = read_mo(file)
    assert {_key(m): _strings(m) for m in compiled if m.id} == {_key(m): _strings(m) for m in catalog if m.id}


def _folded(text: str) -> str:
    return text.replace("İ", "i").replace("I", "ı").casefold()


def test_the_translations_use_the_glossarys_terms(catalog):
    with (LOCALE_DIR / "glossary.tr.csv").open(encoding="utf-8") as file:
        glossary = list(csv.DictReader(file))
    assert {"attention head", "layer", "polysemy", "dictionary learning", "tokenizer"} <= {
        t["english"] for t in glossary
    }
    misses = []
    for message in catalog:
        for source, turkish in _forms(message) if message.id else ():
            english = PLACEHOLDER.sub("", source)  # a {probability} placeholder is not the word
            for term in glossary:
                used = re.search(rf"\b{re.escape(term['english'])}(s|es)?\b", english, re.IGNORECASE)
                if used and _folded(term["stem"]) not in _folded(turkish):
                    misses.append((term["english"], source[:60]))
    assert misses == []


def test_numbers_and_shares_are_written_as_the_language_writes_them():
    use_language("tr")
    try:
        assert (number(0.42), number(1234.5, 1), percent(0.42), percent(0.425, 1)) == (
            "0,42",
            "1.234,5",
            "%42",
            "%42,5",
        )
        assert _("Layer") == "Katman"
        seen = []
        thread = threading.Thread(target=lambda: seen.append(current_language()))
        thread.start()
        thread.join()
        assert seen == ["en"]  # each run's thread has its own language
    finally:
        use_language("en")
    assert (number(0.42), percent(0.42), _("Layer")) == ("0.42", "42%", "Layer")
    with pytest.raises(ValueError, match="the app speaks en, tr"):
        use_language("de")


@pytest.mark.parametrize(
    ("locale", "language"), [("tr-TR", "tr"), ("tr", "tr"), ("en-GB", "en"), ("de-DE", "en"), (None, "en"), ("", "en")]
)
def test_the_browsers_locale_picks_the_language(locale, language):
    assert language_of_locale(locale) == language


@pytest.mark.app
def test_a_page_opened_with_lang_tr_speaks_turkish_and_keeps_it_in_its_links():
    app = run_page("10_Which_units.py", lang="tr")
    assert_clean(app)
    assert english_left(app) == []
    assert app.title[0].value == "Hangi birimler"
    assert app.radio(key="lang").value == "tr" and app.radio(key="lang").label == "Dil"
    assert app.text_area(key="text").label == "Girdi metni"
    assert app.query_params["lang"] == "tr"  # kept in the URL, so a click in the navigation keeps it
    english = run_page("10_Which_units.py")
    assert english.title[0].value == "Which units" and english.radio(key="lang").value == "en"


@pytest.mark.app
def test_the_classifier_controls_speak_turkish_too():
    app = run_page("12_Explainers_on_a_corpus.py", lang="tr", **{"explainers.texts": "3"})
    assert_clean(app)
    assert app.title[0].value == "Bir derlem üzerinde açıklayıcılar"
    assert app.radio(key="classifier").label == "Sınıflandırıcı"
    assert app.toggle(key="bf16").label == "Hızlı bfloat16 çıkarımı"


@pytest.mark.app
@pytest.mark.integration
def test_which_explanation_speaks_turkish_with_turkish_numbers():
    query = {"compare.shap_evals": "100", "compare.lime_samples": "500", "lang": "tr"}
    app = run_page("8_Which_explanation.py", text="The referee sent off the captain and the crowd booed.", **query)
    assert_clean(app)
    assert english_left(app) == []
    assert re.fullmatch(r"“sports” lehine ve aleyhine kelimeler \(p = 0,\d\d\)", app.subheader[0].value)
    assert [subheader.value for subheader in app.subheader[1:3]] == [
        "Yöntemler uyuşuyor mu?",
        "Sınıflandırıcıya sadıklar mı?",
    ]
    assert app.slider(key="compare.shap_evals").label == "SHAP değerlendirmeleri"


def test_a_message_kept_by_a_cache_is_english_and_drawn_in_the_runs_language():
    use_language("tr")
    try:
        message = Message(N_("Explaining {count} texts of {corpus}"), count=1234, corpus=Message(N_("Layer")))
        assert message == "Explaining 1,234 texts of Layer"  # English whatever the run's language: compares, saves
        kept = pickle.loads(pickle.dumps(message))  # as st.cache_data keeps it
        assert kept.translated() == translated(kept) == "Katman derleminin 1.234 metni açıklanıyor"
        assert translated("bank") == "bank"  # a word of the input is drawn as it is
    finally:
        use_language("en")
    assert kept.translated() == "Explaining 1,234 texts of Layer"
