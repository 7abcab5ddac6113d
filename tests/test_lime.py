"""LIME: a planted word wins, same weights as plain lime for a seed, spans, escaping, bad input, the page."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from lime.lime_text import LimeTextExplainer
from streamlit.testing.v1 import AppTest

from tests.doubles import NoisyPlantedClassifier
from tests.pages import english_left, labelled, run_page, with_text
from xray.models.classifiers import topic_classifier
from xray.rendering.highlight import highlighted_text_html
from xray.techniques.lime_explain import POOR_FIT, expected_distinct_texts, explain_lime

PAGE = "4_LIME.py"
TEXT = "The animal sat on the river bank and read a letter."
SAMPLES = 300


@pytest.fixture(scope="module")
def animal(tiny) -> NoisyPlantedClassifier:
    return NoisyPlantedClassifier(tiny["bert"])


@pytest.fixture(scope="module")
def explained(animal):
    return explain_lime(animal, TEXT, num_samples=SAMPLES, num_features=5)


def test_the_planted_word_gets_the_top_weight(explained):
    assert explained.class_names[explained.class_index] == "animal"
    assert explained.class_index == explained.predicted_index
    assert explained.words[0] == "animal" and explained.weights[0] > 0
    assert np.all(np.abs(explained.weights[1:]) < explained.weights[0] / 2)
    assert explained.score > 0.5


def test_the_other_class_gives_the_planted_word_a_negative_weight(animal):
    other = explain_lime(animal, TEXT, class_index=0, num_samples=SAMPLES, num_features=3)
    assert other.class_index == 0 and other.words[0] == "animal" and other.weights[0] < 0


def test_surrogate_parts_add_up(explained):
    """On the full text every feature is present: the surrogate predicts intercept + sum of weights."""
    assert explained.local_prediction == pytest.approx(explained.intercept + explained.weights.sum(), abs=1e-9)
    np.testing.assert_allclose(explained.probabilities.sum(), 1.0, atol=1e-6)
    assert len(explained.words) == len(explained.weights) == 5
    assert explained.num_samples == SAMPLES and 1 < explained.distinct_texts <= SAMPLES


@pytest.mark.parametrize("num_features", [3, 10], ids=["forward selection", "highest weights"])
def test_same_weights_as_the_plain_lime_recipe_for_the_same_seed(animal, num_features):
    def all_at_once(texts: list[str]) -> np.ndarray:
        """The straightforward classifier function: every text, in lime's order, padded to the longest."""
        batch = animal.loaded.tokenizer(texts, padding=True, return_tensors="pt")
        with torch.inference_mode():
            return animal.probabilities(dict(batch)).numpy()

    plain = LimeTextExplainer(random_state=7).explain_instance(
        TEXT, all_at_once, labels=(1,), num_features=num_features, num_samples=SAMPLES
    )
    ours = explain_lime(animal, TEXT, class_index=1, num_samples=SAMPLES, num_features=num_features, seed=7)
    expected = plain.as_list(label=1)
    assert ours.words == [word for word, _ in expected]
    np.testing.assert_allclose(ours.weights, [weight for _, weight in expected], atol=1e-5)
    assert ours.score == pytest.approx(plain.score, abs=1e-5)
    assert ours.intercept == pytest.approx(plain.intercept[1], abs=1e-5)
    other_seed = explain_lime(animal, TEXT, class_index=1, num_samples=SAMPLES, num_features=num_features, seed=8)
    assert not np.allclose(other_seed.weights, ours.weights, atol=1e-4), "another seed draws other samples"


def test_spans_cover_every_word_and_carry_its_feature_weight(animal):
    text = "the animal, the bank; the ANIMAL!"
    result = explain_lime(animal, text, num_samples=SAMPLES, num_features=2)
    assert [(start, end) for start, end, _ in result.spans] == [match.span() for match in re.finditer(r"\w+", text)]
    weight_of = dict(zip(result.words, result.weights, strict=True))
    for start, end, weight in result.spans:
        assert weight == weight_of.get(text[start:end])
    the = [weight for start, end, weight in result.spans if text[start:end] == "the"]
    assert len(the) == 3 and len(set(the)) == 1, "a word's weight applies to every occurrence"


def test_progress_reaches_every_distinct_text(animal):
    reports: list[tuple[int, int]] = []
    result = explain_lime(animal, TEXT, num_samples=SAMPLES, progress=lambda done, total: reports.append((done, total)))
    assert reports[-1] == (result.distinct_texts, result.distinct_texts)


def test_expected_distinct_texts_matches_what_lime_draws(animal, explained):
    """Two words allow exactly four texts (both, either one, none); longer texts repeat less."""
    assert expected_distinct_texts("animal sat", SAMPLES) == pytest.approx(4.0)
    assert explain_lime(animal, "animal sat", num_samples=SAMPLES).distinct_texts == 4
    assert expected_distinct_texts(TEXT, SAMPLES) == pytest.approx(explained.distinct_texts, rel=0.05)
    assert expected_distinct_texts(" ".join(f"w{index}" for index in range(2000)), SAMPLES) == pytest.approx(
        SAMPLES, rel=1e-3
    )


def test_fit_verdict_flags_a_poor_surrogate(explained):
    assert not explained.poor_fit and "explains" in explained.fit_summary()
    poor = replace(explained, score=POOR_FIT - 0.01)
    assert poor.poor_fit and poor.fit_summary().startswith("Poor fit")


def test_exports_hold_the_weights_and_lime_page(explained):
    payload = json.loads(explained.to_json())
    assert payload["class"] == "animal" and payload["features"][0]["word"] == "animal"
    assert payload["score"] == explained.score and len(payload["spans"]) == len(explained.spans)
    assert list(explained.table().columns) == ["word", "weight"]
    assert explained.html.startswith("<html>") and "animal" in explained.html


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("", {}, "empty"),
        ("   \n", {}, "empty"),
        ("animal", {}, "at least two distinct words to remove and compare; this text has 1"),
        ("animal animal!", {}, "this text has 1"),
        ("?!", {}, "this text has 0"),
        (" ".join(f"w{index}" for index in range(1001)), {}, "1,001 distinct words; LIME here handles at most 1,000"),
        (TEXT, {"num_samples": 10}, "num_samples must be between 100"),
        (TEXT, {"num_features": 0}, "num_features must be between 1"),
        (TEXT, {"class_index": 2}, "class_index must be between 0 and 1"),
        (TEXT, {"seed": -1}, "seed must be between 0"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(animal, text, options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        explain_lime(animal, text, **options)


def test_text_longer_than_the_classifier_reads_gets_a_notice(animal):
    long_text = "the animal sat on the bank. " * 12  # 84 words, over the tiny BERT's 64 tokens
    result = explain_lime(animal, long_text, num_samples=SAMPLES)
    assert any("reads only the first 64" in notice for notice in result.notices)
    assert not explain_lime(animal, TEXT, num_samples=SAMPLES).notices


def test_a_classifier_reading_fewer_tokens_than_the_model_says_so(tiny):
    short = NoisyPlantedClassifier(tiny["bert"], max_tokens=8)
    result = explain_lime(short, TEXT, num_samples=SAMPLES)
    assert any("reads only the first 8" in notice for notice in result.notices)


def test_highlight_escapes_the_text_and_shades_scored_words():
    text = 'Hi <img src=x onerror="alert(1)"> </script> animal & co'
    start = text.index("animal")
    html = highlighted_text_html(text, [(0, 2, None), (start, start + 6, 0.5), (text.index("co"), len(text), -0.25)])
    assert "<img" not in html and "</script" not in html and "<script" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &lt;/script&gt;" in html and "&amp; " in html
    assert 'title="animal: +0.5000"' in html and 'title="co: -0.2500"' in html
    assert html.count("rgba(214, 39, 40") == 2 and html.count("rgba(31, 119, 180") == 2  # words + legend
    with pytest.raises(ValueError, match="in order"):
        highlighted_text_html(text, [(5, 9, 1.0), (0, 2, 1.0)])


def test_highlighted_text_takes_its_own_direction_as_one_run():
    text = "ذهب الولد إلى المدرسة"
    html = highlighted_text_html(text, [(0, 3, 0.5), (4, 9, -0.2)])
    box = re.search(r'<div class="xray-highlight"><div dir="auto" style="[^"]*">(.*?)</div>', html)
    assert box and re.sub(r"<[^>]+>", "", box[1]) == text
    assert "<bdi" not in box[1]  # isolating each word would reverse a right-to-left phrase in an English sentence


@pytest.mark.integration
def test_topic_classifier_explains_a_sports_sentence(minilm):
    classifier = topic_classifier(minilm)
    text = "The striker scored twice as the club won the league title at a packed stadium on Saturday."
    result = explain_lime(classifier, text, num_samples=500)
    assert result.class_names[result.class_index] == "sports"
    positive = [word for word, weight in zip(result.words, result.weights, strict=True) if weight > 0]
    assert {"striker", "scored", "club", "league", "stadium"} & set(positive[:3])
    assert result.local_prediction == pytest.approx(result.intercept + result.weights.sum(), abs=1e-9)


def _lime_page(text: str | None = None, **query: str) -> AppTest:
    return run_page(PAGE, **{"lime.samples": "500"}, **({} if text is None else {"text": text}), **query)


@pytest.mark.app
@pytest.mark.integration
def test_lime_page_shows_highlighted_words_fit_and_downloads():
    app = _lime_page('The animal <img src=x onerror="alert(1)"> didn\'t cross </script> the street.')
    assert not app.exception, [exception.value for exception in app.exception]
    assert not app.error, [error.value for error in app.error]
    (highlighted,) = [element.proto.body for element in app.get("html") if "xray-highlight" in element.proto.body]
    assert "animal" in highlighted and "&lt;" in highlighted and "<img" not in highlighted
    assert "</script" not in highlighted
    assert "Surrogate fit (weighted R²)" in [metric.label for metric in app.metric]
    labels = {button.label for button in app.get("download_button")}
    assert {"PNG", "SVG", "Weights (CSV)", "Explanation (JSON)", "lime's own page (HTML)"} <= labels
    app.selectbox(key="lime.class").select(2).run()  # BBC topics: business, entertainment, politics, ...
    assert not app.exception
    assert labelled(app.metric, "Explained class").value.startswith("politics")


@pytest.mark.app
@pytest.mark.integration
def test_lime_page_speaks_turkish_with_turkish_numbers():
    app = _lime_page(lang="tr")
    assert not app.exception and not app.error
    assert english_left(app) == []
    assert app.title[0].value == "LIME"
    assert app.slider(key="lime.samples").label == "Örnekler"
    assert app.number_input(key="lime.seed").label == "Tohum"
    assert re.fullmatch(r"-?\d,\d{2}", labelled(app.metric, "Vekil model uyumu (ağırlıklı R²)").value)
    assert with_text(app.subheader, "lehine ve aleyhine kelimeler").value.endswith("kelimeler")
    assert with_text(app.caption, "500 örnek (").value.endswith(" sn.")
    assert "Doğrusal vekil model tam metin için" in " ".join(
        str(element.value) for element in [*app.caption, *app.warning]
    )
    labels = {button.label for button in app.get("download_button")}
    assert {"Ağırlıklar (CSV)", "Açıklama (JSON)", "lime'ın kendi sayfası (HTML)"} <= labels


@pytest.mark.app
@pytest.mark.integration
@pytest.mark.parametrize(("text", "message"), [("Hello", "at least two distinct words")])
def test_lime_page_explains_bad_text_briefly(text, message):  # empty text: tests/test_app.py, for every page
    app = _lime_page(text)
    assert not app.exception
    assert "Traceback" not in with_text(app.error, message).value
