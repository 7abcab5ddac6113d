"""SHAP: invariants on tiny models, equality with shap's plain recipe, bad input, rendering, the page."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse
import shap

from tests.doubles import PlantedWordClassifier, RecordingClassifier, random_head
from tests.pages import assert_clean, english_left, labelled, run_page, with_text
from xray.models.batching import InferenceSettings
from xray.models.classifiers import EmbeddingHeadClassifier, topic_classifier
from xray.models.loading import LoadedModel
from xray.techniques.shap_explain import (
    BFLOAT16_TOLERANCE,
    COMPILE_SECONDS,
    FIT_LABELS,
    FLOAT32_TOLERANCE,
    FORCE_LABEL_CLASS,
    ShapExplanation,
    _DenseMaskPartition,
    estimate_seconds,
    explain_shap,
    is_compiled,
    shap_text_html,
    standalone_html,
    warm_up,
)

PAGE = "3_SHAP.py"
SENTENCE = "the animal didn't cross the street because it was too tired"
HOSTILE = 'the animal </script><img src=x onerror="alert(1)"> & was tired'


@pytest.fixture(scope="module")
def planted(tiny: dict[str, LoadedModel]) -> PlantedWordClassifier:
    return PlantedWordClassifier(tiny["bert"])


@pytest.fixture(scope="module")
def random_head_classifier(tiny: dict[str, LoadedModel]) -> EmbeddingHeadClassifier:
    return random_head(tiny["bert"], scale=4.0, bias=False, max_tokens=64)


def test_planted_token_gets_the_top_attribution(planted):
    explanation = explain_shap(planted, SENTENCE, max_evals=100)
    labels, values = explanation.strongest(0, count=3)
    assert labels[0].endswith("animal") and values[0] == pytest.approx(0.7)
    assert np.abs(values[1:]).max() < 1e-12
    assert explanation.predicted_class == 0
    np.testing.assert_allclose(explanation.base_values, [0.2, 0.8])
    assert explanation.additivity_gap.max() < 1e-12


def test_values_equal_the_plain_recipe_in_few_model_calls(random_head_classifier):
    max_evals = 120
    asked: list[int] = []

    def unbatched(texts):
        asked.append(len(texts))
        return np.stack([random_head_classifier.predict_proba([str(text)])[0] for text in texts])

    plain = shap.Explainer(unbatched, shap.maskers.Text(random_head_classifier.loaded.tokenizer))(
        [SENTENCE], max_evals=max_evals
    )
    assert sum(asked) == max_evals, "the budget must run out, or any batch size would give the same values"
    counting = RecordingClassifier(random_head_classifier)
    ours = explain_shap(counting, SENTENCE, max_evals=max_evals)
    np.testing.assert_allclose(ours.values, plain.values[0], atol=1e-5, rtol=0)
    np.testing.assert_allclose(ours.base_values, plain.base_values[0], atol=1e-5, rtol=0)
    assert ours.tokens == list(plain.data[0])
    assert ours.additivity_gap.max() < FLOAT32_TOLERANCE
    assert len(counting.sizes) * 2 <= len(asked)
    assert sum(counting.sizes) == ours.evaluations + 1  # each masked text once, plus the full text on its own


def _seeded_run(explainer, text: str) -> shap.Explanation:
    """shap breaks ties between equal priorities with np.random.randn(): seeded, two runs draw the same."""
    np.random.seed(0)
    return explainer([text], max_evals=40, silent=True)


def test_the_dense_mask_matrix_leaves_shaps_traversal_and_values_exactly_as_they_were():
    def counts(texts):  # a deterministic model of plain numbers: no float noise between the two runs
        return np.array([[len(str(text)), str(text).count("a")] for text in texts], dtype=np.float64)

    text = "a cat and a dog sat on a mat at the bank of a river in the rain"
    masker = shap.maskers.Text(r"\W+")
    plain = shap.Explainer(counts, masker, algorithm="partition")
    dense = shap.Explainer(counts, masker, algorithm="partition")
    dense.__class__ = _DenseMaskPartition
    expected, got = (_seeded_run(explainer, text) for explainer in (plain, dense))
    np.testing.assert_array_equal(got.values, expected.values)
    np.testing.assert_array_equal(got.hierarchical_values, expected.hierarchical_values)
    assert not scipy.sparse.issparse(dense._mask_matrix) and scipy.sparse.issparse(plain._mask_matrix)


def test_a_larger_shap_batch_alone_would_change_the_values(random_head_classifier):
    """Why explain_shap replays shap's default batch size: the batch size steers the Owen recursion."""
    explainer = shap.Explainer(
        random_head_classifier.predict_proba, shap.maskers.Text(random_head_classifier.loaded.tokenizer)
    )
    default = explainer([SENTENCE], max_evals=120, silent=True)
    large = explainer([SENTENCE], max_evals=120, batch_size=64, silent=True)
    assert np.abs(default.values - large.values).max() > 1e-3


def test_progress_counts_texts_against_max_evals(planted):
    reports: list[tuple[int, int]] = []
    explain_shap(planted, SENTENCE, max_evals=60, progress=lambda done, total: reports.append((done, total)))
    done = [report[0] for report in reports]
    assert done == sorted(done) and {total for _, total in reports} == {60} and reports[-1] == (60, 60)


@pytest.mark.parametrize(
    ("text", "max_evals", "message"),
    [
        ("   ", 100, "empty"),
        ("animal", 100, "at least two tokens"),
        ("the animal " * 40, 100, "reads at most 64"),
        (SENTENCE, 5, "max_evals must be at least"),
    ],
    ids=["empty", "single-token", "too-long", "tiny-budget"],
)
def test_bad_input_gets_a_clear_message(planted, text, max_evals, message):
    with pytest.raises(ValueError, match=message):
        explain_shap(planted, text, max_evals=max_evals)


def test_tokens_past_what_the_classifier_reads_get_zero_and_a_notice(tiny):
    explanation = explain_shap(random_head(tiny["bert"], scale=4.0, bias=False, max_tokens=6), SENTENCE, max_evals=60)
    assert "reads only the first 6" in explanation.notices[0]
    assert np.abs(explanation.values[5:]).max() < 1e-6 < np.abs(explanation.values[1:5]).max()  # [CLS] + 4 read


def test_text_plot_escapes_the_text_and_class_names_and_loads_nothing(tiny):
    classifier = PlantedWordClassifier(tiny["bert"], class_names=("<b>animal</b>", "other"))
    explanation = explain_shap(classifier, HOSTILE, max_evals=60)
    for page in (shap_text_html(explanation, 0), standalone_html(explanation, 0)):
        assert "<img" not in page and "<b>" not in page
        assert page.count("</script") == 1 and FIT_LABELS in page  # the one script is ours; the text's is escaped
        assert "&lt;" in page and "&gt;" in page
        assert "&lt;b&gt;animal&lt;/b&gt;" in page and "&amp;" in page
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
        assert "np.float" not in page and re.search(r"background: rgba\([\d.]+, [\d.]+, [\d.]+, [\d.]+\)", page)
    for render in (shap_text_html, standalone_html, ShapExplanation.strongest):
        with pytest.raises(ValueError, match="class_index"):
            render(explanation, -1)


def test_every_force_plot_label_is_marked_to_show_whole_or_not_at_all(random_head_classifier):
    explanation = explain_shap(random_head_classifier, SENTENCE, max_evals=200)
    page = shap_text_html(explanation, 0)
    labels = re.findall(rf'<text class="{FORCE_LABEL_CLASS}"[^>]*>([^<]*)</text>', page)
    values = explanation.values[:, 0]
    drawn = [token.strip() for token, value in zip(explanation.tokens, values, strict=True) if value != 0]
    assert labels and sorted(labels) == sorted(drawn)
    assert page.endswith(FIT_LABELS)


def test_values_table_and_json_hold_every_maskable_token(planted):
    explanation = explain_shap(planted, SENTENCE, max_evals=60)
    table = explanation.table()
    assert list(table.columns) == ["position", "token", "animal", "other"]
    assert len(table) == explanation.maskable.sum() == len(explanation.tokens) - 2  # [CLS] and [SEP] are never hidden
    assert "animal" in set(table["token"])
    stored = json.loads(explanation.to_json())
    assert stored["class_names"] == ["animal", "other"] and len(stored["tokens"]) == len(table)
    np.testing.assert_allclose(stored["output"], explanation.output)
    assert stored["classifier"] == planted.name and stored["additivity_holds"] is True


@pytest.mark.integration
def test_a_sport_word_ranks_high_for_sports_on_the_topic_classifier(minilm):
    classifier = topic_classifier(minilm)
    explanation = explain_shap(classifier, "The striker scored a late goal to win the cup final.", max_evals=300)
    sports = classifier.class_names.index("sports")
    assert explanation.predicted_class == sports
    assert explanation.additivity_gap.max() < FLOAT32_TOLERANCE
    labels, _ = explanation.strongest(sports, count=3)
    assert {label.split()[-1] for label in labels} & {"striker", "scored", "goal", "cup", "final"}, labels


def test_additivity_verdict_follows_the_classifiers_precision(planted):
    explanation = explain_shap(planted, SENTENCE, max_evals=60)
    assert (explanation.precision, explanation.tolerance) == ("float32", FLOAT32_TOLERANCE)
    assert explanation.additivity_holds and "tolerance 1e-05 in float32" in explanation.additivity_check(0)
    fast = explain_shap(replace(planted, settings=InferenceSettings(bf16=True)), SENTENCE, max_evals=60)
    assert (fast.precision, fast.tolerance) == ("bfloat16", BFLOAT16_TOLERANCE)
    off = replace(explanation, output=explanation.output + np.array([2 * FLOAT32_TOLERANCE, 0.0]))
    assert not off.additivity_holds


def test_the_estimate_counts_the_one_off_compilation_until_it_has_happened(planted):
    assert estimate_seconds(0.01, 500, compiled=False) == pytest.approx(0.01 * 500 * 0.5 + COMPILE_SECONDS)
    assert estimate_seconds(0.01, 500, compiled=True) == pytest.approx(0.01 * 500 * 0.5)
    warm_up()  # compiles on a toy model, or returns at once once compiled
    explain_shap(planted, SENTENCE, max_evals=40)
    assert is_compiled()


@pytest.mark.app
@pytest.mark.integration
def test_page_shows_the_plot_the_additivity_check_and_downloads():
    app = run_page(PAGE, **{"shap.max_evals": "100"})
    assert_clean(app)
    assert any("animal" in frame.proto.srcdoc for frame in app.get("iframe"))
    assert any(success.value.startswith("Additivity holds") for success in app.success)
    labels = {button.label for button in app.get("download_button")}
    assert {"Values (CSV)", "Explanation (JSON)", "Text plot (HTML)", "PNG", "SVG"} <= labels
    assert any("100 evaluations" in caption.value for caption in app.caption)
    assert any(caption.value.startswith("Estimated time: about") for caption in app.caption)


@pytest.mark.app
@pytest.mark.integration
def test_page_speaks_turkish_with_turkish_numbers():
    app = run_page(PAGE, lang="tr", **{"shap.max_evals": "100"})
    assert_clean(app)
    assert english_left(app) == []
    assert app.title[0].value == "SHAP"
    assert app.slider(key="shap.max_evals").label == "Model değerlendirmeleri (max_evals)"
    assert re.fullmatch(r"\d,\d{3}", labelled(app.metric, "Taban değer (bütün tokenler gizli)").value)
    (holds,) = [success.value for success in app.success]
    assert re.match(r"Toplanabilirlik sağlanıyor: taban değer \d,\d{4} \+ SHAP değerlerinin toplamı", holds)
    assert with_text(app.subheader, "lehine ve aleyhine tokenler").value.endswith("tokenler")
    assert with_text(app.caption, "100 değerlendirme (").value.endswith(" sn.")
    assert with_text(app.caption, "Tahmini süre: yaklaşık").value
    labels = {button.label for button in app.get("download_button")}
    assert {"Değerler (CSV)", "Açıklama (JSON)", "Metin grafiği (HTML)"} <= labels


@pytest.mark.app
@pytest.mark.integration
@pytest.mark.parametrize(
    ("text", "message"),
    [("animal", "at least two tokens"), ("word " * 600, "reads at most 512")],
    ids=["single-token", "too-long"],
)
def test_page_with_bad_text_shows_a_short_error(text, message):  # empty text: tests/test_app.py, for every page
    app = run_page(PAGE, text=text)
    assert not app.exception
    assert "Traceback" not in with_text(app.error, message).value
