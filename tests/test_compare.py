from __future__ import annotations

import json

import numpy as np
import pytest

from tests.doubles import PlantedWordClassifier, SmoothPlantedClassifier
from tests.pages import assert_clean, run_page, table_after, with_text
from xray.models.loading import LoadedModel
from xray.techniques.compare import (
    RANDOM,
    attention_word_scores,
    compare_explanations,
    explain_and_compare,
    method_word_scores,
    rank_agreement,
)
from xray.techniques.gradients import GRADIENT_X_INPUT, INTEGRATED_GRADIENTS
from xray.words import locate_pieces, only_words, scores_on_words, split_words, token_spans, without_words

TEXT = "The animal didn't cross the street, it was tired."


def test_words_are_runs_of_word_characters_with_offsets():
    words = split_words(TEXT)
    assert [word.text for word in words][:4] == ["The", "animal", "didn", "t"]
    assert all(TEXT[word.start : word.end] == word.text for word in words)
    with pytest.raises(ValueError, match="no words"):
        split_words("?! ...")


def test_span_scores_are_summed_onto_overlapping_words():
    words = split_words("good morning")
    totals = scores_on_words(words, [(0, 2), (2, 4), (5, 12), (4, 5)], np.array([1.0, 2.0, 5.0, 7.0]))
    assert totals.tolist() == [3.0, 5.0]  # the space-only span (4, 5) touches no word
    with pytest.raises(ValueError, match="spans"):
        scores_on_words(words, [(0, 1)], np.array([1.0, 2.0]))


def test_pieces_are_located_in_order_and_specials_get_empty_spans():
    spans = locate_pieces("the bank and the bank", ["[CLS]", "the ", "bank ", "and ", "the ", "##bank", "[SEP]"])
    assert spans == [(0, 0), (0, 3), (4, 8), (9, 12), (13, 16), (17, 21), (21, 21)]


def test_token_spans_line_up_with_the_tokenizer(tiny):
    spans = token_spans(tiny["bert"].tokenizer, "the animal", 64)
    assert spans == [(0, 0), (0, 3), (4, 10), (0, 0)]


def test_removing_and_keeping_words():
    words = split_words(TEXT)
    assert without_words(TEXT, words, [1, 6]) == "The didn't cross the , it was tired."
    assert only_words(words, [1, 6]) == "animal street"


def test_rank_agreement_is_symmetric_and_nan_for_constant_scores():
    matrix = rank_agreement({"a": np.array([1.0, 2, 3]), "b": np.array([3.0, 2, 1]), "c": np.ones(3)})
    assert matrix[0, 1] == pytest.approx(-1.0) and matrix[1, 0] == pytest.approx(-1.0)
    assert np.isnan(matrix[0, 2]) and np.diag(matrix).tolist() == [1.0, 1.0, 1.0]


def _detector(loaded: LoadedModel) -> PlantedWordClassifier:
    """P("animal") is 0.9 when the word "animal" is in the text, else 0.1."""
    return PlantedWordClassifier(loaded, class_names=("other", "animal"), planted_class=1, absent=0.1)


def test_a_method_that_finds_the_planted_word_is_faithful_and_beats_random(tiny):
    classifier = _detector(tiny["bert"])
    words = split_words(TEXT)
    planted = np.array([1.0 if word.text == "animal" else 0.0 for word in words])
    comparison = compare_explanations(classifier, TEXT, 1, words, {"oracle": planted, "inverse": -planted})
    aopc = comparison.aopc()
    assert comparison.probability == pytest.approx(0.9)
    assert comparison.comprehensiveness["oracle"].tolist() == pytest.approx([0.8] * 5)
    assert comparison.sufficiency["oracle"].tolist() == pytest.approx([0.0] * 5)
    assert aopc["oracle"][0] > aopc[RANDOM][0] > aopc["inverse"][0]
    assert aopc["oracle"][1] < aopc["inverse"][1]
    assert comparison.agreement[0, 1] == pytest.approx(-1.0)
    assert comparison.class_name == "animal" and comparison.beats_random("oracle")
    assert not comparison.beats_random("inverse") and comparison.verdict() == (
        "Here **oracle** has the highest comprehensiveness."
    )
    table = comparison.table()
    assert list(table.columns) == ["word", "oracle", "inverse"] and len(table) == len(words)
    assert comparison.aopc_table()["method"].tolist() == ["oracle", "inverse", RANDOM]


def test_the_whole_pipeline_finds_the_planted_word(tiny):
    comparison = explain_and_compare(_detector(tiny["bert"]), TEXT, max_evals=100, num_samples=300)
    assert comparison.class_index == 1 and comparison.class_name == "animal"
    assert list(comparison.scores)[:2] == ["SHAP", "LIME"]
    animal = comparison.words.index("animal")
    for method in ("SHAP", "LIME"):
        assert int(np.argmax(comparison.scores[method])) == animal, method
    assert comparison.beats_random("SHAP") and json.loads(comparison.to_json())["class"] == "animal"
    assert INTEGRATED_GRADIENTS not in comparison.scores  # this double has no differentiable path, and says so
    assert any("no differentiable path" in notice and "left out" in notice for notice in comparison.notices)


def test_gradient_methods_join_the_comparison_where_the_classifier_has_a_path(tiny):
    comparison = explain_and_compare(SmoothPlantedClassifier(tiny["bert"]), TEXT, max_evals=100, num_samples=300)
    assert list(comparison.scores)[:4] == ["SHAP", "LIME", INTEGRATED_GRADIENTS, GRADIENT_X_INPUT]
    animal = comparison.words.index("animal")
    for method in ("SHAP", INTEGRATED_GRADIENTS, GRADIENT_X_INPUT):
        assert int(np.argmax(comparison.scores[method])) == animal, method
    assert comparison.beats_random(INTEGRATED_GRADIENTS)
    assert not any("differentiable" in notice for notice in comparison.notices)
    names = list(comparison.scores)
    assert comparison.agreement.shape == (len(names), len(names))
    assert set(comparison.comprehensiveness) == {*names, RANDOM}


def test_comparison_rejects_bad_input(tiny):
    classifier = _detector(tiny["bert"])
    words = split_words(TEXT)
    with pytest.raises(ValueError, match="class_index"):
        compare_explanations(classifier, TEXT, 2, words, {})
    with pytest.raises(ValueError, match="scores for"):
        compare_explanations(classifier, TEXT, 1, words, {"short": np.ones(2)})
    with pytest.raises(ValueError, match="two words"):
        compare_explanations(classifier, "animal", 1, split_words("animal"), {})
    with pytest.raises(ValueError, match="fractions"):
        compare_explanations(classifier, TEXT, 1, words, {}, fractions=(0.0,))


def test_attention_scores_cover_every_word_and_sum_like_attention(tiny):
    classifier = _detector(tiny["bert"])
    words = split_words("the animal was tired")
    scores = attention_word_scores(classifier, "the animal was tired", words)
    assert list(scores) == ["Attention from [CLS], last layer", "Rollout from [CLS]"]
    for values in scores.values():
        assert values.shape == (4,) and (values > 0).all() and values.sum() < 1.0


def test_a_decoder_is_summarised_by_its_last_token(tiny):
    scores = attention_word_scores(_detector(tiny["gpt2"]), "the animal was tired", split_words("the animal was tired"))
    assert list(scores) == ["Attention from Ġtired, last layer", "Rollout from Ġtired"]


SPORT = "The striker scored twice as United beat Chelsea in the cup final."


@pytest.mark.integration
def test_methods_are_aligned_on_the_same_words_for_the_topic_classifier(minilm):
    from xray.models.classifiers import topic_classifier
    from xray.techniques.lime_explain import explain_lime, word_count
    from xray.techniques.shap_explain import explain_shap

    classifier = topic_classifier(minilm)
    shap_explanation = explain_shap(classifier, SPORT, max_evals=200)
    sports = classifier.class_names.index("sports")
    lime_explanation = explain_lime(
        classifier, SPORT, class_index=sports, num_samples=500, num_features=word_count(SPORT)
    )
    words, scores = method_word_scores(classifier, shap_explanation, lime_explanation, sports)
    assert [word.text for word in words] == SPORT.rstrip(".").split()
    assert list(scores)[:2] == ["SHAP", "LIME"]
    # Summed per word, SHAP values keep their total, but for punctuation, which belongs to no word.
    wordy = np.array([any(char.isalnum() for char in token) for token in shap_explanation.tokens])
    assert scores["SHAP"].sum() == pytest.approx(shap_explanation.values[wordy, sports].sum(), abs=1e-6)
    comparison = compare_explanations(classifier, SPORT, sports, words, scores)
    assert comparison.probability == pytest.approx(shap_explanation.output[sports], abs=1e-5)
    assert comparison.most_comprehensive() in scores
    assert json.loads(comparison.to_json())["spearman"]["methods"] == list(scores)
    with pytest.raises(ValueError, match="LIME explained class"):
        method_word_scores(classifier, shap_explanation, lime_explanation, (sports + 1) % 5)


@pytest.mark.app
@pytest.mark.integration
def test_comparison_page_shows_agreement_faithfulness_and_downloads():
    app = run_page("8_Which_explanation.py", text=SPORT, **{"compare.shap_evals": "200", "compare.lime_samples": "500"})
    assert_clean(app)
    assert "sports" in with_text(app.subheader, "Words for and against").value
    methods = table_after(app, "Are they faithful").loc[:, "method"].tolist()
    assert methods == [
        "SHAP",
        "LIME",
        INTEGRATED_GRADIENTS,
        GRADIENT_X_INPUT,
        "Attention from [CLS], last layer",
        "Rollout from [CLS]",
        RANDOM,
    ]
    assert with_text(app.markdown, "How to read this")
    labels = [button.label for button in app.get("download_button")]
    assert {"Word scores (CSV)", "Comparison (JSON)"} <= set(labels)


@pytest.mark.app
@pytest.mark.integration
def test_comparison_page_names_the_methods_in_turkish():
    query = {"compare.shap_evals": "200", "compare.lime_samples": "500", "lang": "tr"}
    app = run_page("8_Which_explanation.py", text=SPORT, **query)
    assert_clean(app)
    methods = table_after(app, "Sınıflandırıcıya sadıklar mı?").loc[:, "yöntem"].tolist()
    assert methods[2:] == [
        "Tümleşik gradyanlar",
        "Gradyan × girdi",
        "[CLS] tokeninden dikkat, son katman",
        "[CLS] tokeninden dikkat yayılımı",
        "Rastgele sıra",
    ]
    assert "Burada en yüksek kapsayıcılık **" in with_text(app.markdown, "Nasıl okunur").value
