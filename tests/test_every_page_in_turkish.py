"""Every page in Turkish: each page's own test opens it with ``?lang=tr`` and checks that no English message of the
catalog is left in its titles, captions, messages and labels (:func:`tests.pages.english_left`); this file checks
that every page has such a test, runs the home page, and checks the notice a Turkish text gets on an English-only
model."""

from __future__ import annotations

import pytest

from tests.pages import ENTRY, PAGES, ROOT, assert_clean, english_left, run_page

TURKISH_TESTS = {
    "1_Attention.py": "test_attention_page.py",
    "2_Embedding_search.py": "test_corpus_pages.py",
    "3_SHAP.py": "test_shap.py",
    "4_LIME.py": "test_lime.py",
    "5_Transformer_factors.py": "test_factors_page.py",
    "6_Projections.py": "test_corpus_pages.py",
    "7_Neuron_explanations.py": "test_neuron_explanations_page.py",
    "8_Which_explanation.py": "test_translation.py",
    "9_Tokenizers.py": "test_tokenizers.py",
    "10_Which_units.py": "test_units_page.py",
    "11_Gradients.py": "test_gradients_page.py",
    "12_Explainers_on_a_corpus.py": "test_explainer_benchmark_page.py",
}
"""Each page and the test file that opens it in Turkish and calls :func:`~tests.pages.english_left` on it."""
TURKISH_TEXT = "Kitapları masanın üstüne koydum ve çok yorgun olduğum için hemen uyudum."


def test_every_page_has_a_turkish_test_that_looks_for_english_left():
    pages = {path.name for path in PAGES.glob("*.py")} - {"0_Home.py"}
    assert set(TURKISH_TESTS) == pages
    for page, test in TURKISH_TESTS.items():
        source = (ROOT / "tests" / test).read_text(encoding="utf-8")
        assert f'"{page}"' in source and 'lang="tr"' in source and "english_left(" in source, (page, test)


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
