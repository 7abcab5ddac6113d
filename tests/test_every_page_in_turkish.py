"""Every page opened with ``?lang=tr``: no exception, and no English message of the catalog left in its titles,
captions, messages and labels (see :func:`tests.pages.english_left`). Pages with a Turkish test of their own call the
same check there; the others are run here."""

from __future__ import annotations

import pytest

from tests.pages import ENTRY, PAGES, assert_clean, english_left, run_page

OWN_TURKISH_TEST = {
    "8_Which_explanation.py": "tests/test_translation.py",
    "10_Which_units.py": "tests/test_translation.py",
    "12_Explainers_on_a_corpus.py": "tests/test_explainer_benchmark_page.py",
    "7_Neuron_explanations.py": "tests/test_neuron_explanations_page.py",
}
TURKISH_TEXT = "Kitapları masanın üstüne koydum ve çok yorgun olduğum için hemen uyudum."


@pytest.mark.app
@pytest.mark.parametrize(
    "page", sorted(path.name for path in PAGES.glob("*.py") if path.name not in {*OWN_TURKISH_TEST, "0_Home.py"})
)
def test_the_page_speaks_turkish_with_no_english_left(page):
    app = run_page(page, lang="tr")
    assert_clean(app)
    assert english_left(app) == []


@pytest.mark.app
def test_the_home_page_speaks_turkish_with_no_english_left():
    app = run_page(ENTRY, lang="tr")
    assert_clean(app)
    assert english_left(app) == []


@pytest.mark.app
def test_a_turkish_text_on_the_english_only_model_is_said_to_be_noise_in_the_pages_language():
    app = run_page("1_Attention.py", text=TURKISH_TEXT, lang="tr")
    assert_clean(app)
    (notice,) = [warning.value for warning in app.warning if "Türkçe görünüyor" in warning.value]
    assert "yalnızca İngilizce" in notice and "xlm-roberta-base" in notice
    english = run_page("1_Attention.py", text=TURKISH_TEXT)
    assert any("looks Turkish" in warning.value for warning in english.warning)
    assert not any("looks Turkish" in warning.value for warning in run_page("1_Attention.py").warning)
