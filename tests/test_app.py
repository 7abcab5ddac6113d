"""AppTest smoke and behaviour tests: every page runs on the embedded model with no exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.classifier_picker import KINDS
from components.sidebar import OTHER_MODEL
from tests.tiny_models import tiny_bert, tiny_t5
from xray.loading import EMBEDDED_MODEL, MAX_PARAMETERS_ENV

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "pages").glob("*.py"))
ATTENTION = ROOT / "pages" / "1_Attention.py"
pytestmark = [pytest.mark.app, pytest.mark.integration]


def _run(script: Path, **query: str) -> AppTest:
    app = AppTest.from_file(str(script), default_timeout=180)
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()


def _assert_clean(app: AppTest) -> None:
    assert not app.exception, [exception.value for exception in app.exception]
    assert not app.error, [error.value for error in app.error]


def _messages(app: AppTest) -> str:
    return " ".join(str(element.value) for kind in ("error", "warning", "info") for element in getattr(app, kind))


def test_home_page_describes_pages_and_the_loaded_model():
    app = _run(ROOT / "streamlit_app.py")
    _assert_clean(app)
    assert any("6 layers" in caption.value for caption in app.sidebar.caption)
    assert any(EMBEDDED_MODEL in markdown.value for markdown in app.markdown)


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_every_page_runs_without_exception(page):
    _assert_clean(_run(page))


@pytest.mark.parametrize(
    ("view", "iframes", "downloads"),
    [
        ("Head view", 1, "Head view (HTML)"),
        ("Model view", 1, "Model view (HTML)"),
        ("Neuron view", 1, "Neuron view (HTML)"),
        ("Head heatmap", 0, "PNG"),
        ("Head overview", 0, "Statistics (CSV)"),
        ("Rollout", 0, "SVG"),
    ],
)
def test_each_attention_view_renders_and_offers_downloads(view, iframes, downloads):
    app = _run(ATTENTION, **{"attention.view": view})
    _assert_clean(app)
    frames = app.get("iframe")
    assert len(frames) == iframes
    if iframes:
        assert "animal" in frames[0].proto.srcdoc
    labels = [button.label for button in app.get("download_button")]
    assert downloads in labels and {"JSON", "NPZ"} <= set(labels)


def test_url_sets_the_sidebar():
    text = "She sat on the river bank."
    app = _run(ATTENTION, text=text, layer="2")
    _assert_clean(app)
    assert app.sidebar.text_area(key="text").value == text
    assert app.sidebar.slider(key="layer").value == 2


def test_layer_is_clamped_when_switching_to_a_smaller_model(tmp_path):
    folder = tiny_bert(tmp_path / "two-layers")
    app = _run(ATTENTION, layer="5")
    app.sidebar.selectbox(key="model").set_value(OTHER_MODEL).run()
    app.sidebar.text_input(key="model_id").set_value(str(folder)).run()
    assert not app.exception
    assert app.sidebar.slider(key="layer").value == 1
    assert "Layer 5 does not exist in this model (2 layers)" in _messages(app)


def test_unknown_model_id_gives_a_short_error_naming_the_default():
    app = _run(ATTENTION, model=OTHER_MODEL, model_id="no-such-org/no-such-model-xray")
    assert not app.exception
    assert "embedded default" in app.error[0].value and "Traceback" not in app.error[0].value


def test_model_over_the_budget_is_refused_with_how_to_raise_it(tmp_path, monkeypatch):
    folder = tiny_bert(tmp_path / "over-budget")
    monkeypatch.setenv(MAX_PARAMETERS_ENV, "1000")
    app = _run(ATTENTION, model=OTHER_MODEL, model_id=str(folder))
    assert not app.exception
    assert MAX_PARAMETERS_ENV in app.error[0].value


def test_empty_text_asks_for_a_sentence():
    app = _run(ATTENTION)
    app.sidebar.text_area(key="text").set_value("   ").run()
    assert not app.exception
    assert "empty" in app.error[0].value


def test_long_text_is_truncated_with_a_notice():
    app = _run(ATTENTION, text="word " * 700)
    _assert_clean(app)
    assert "reads at most 512" in _messages(app)
    assert "first 64 of 512 tokens" in " ".join(caption.value for caption in app.caption)


def test_html_in_the_text_is_never_rendered_as_html():
    app = _run(ATTENTION, text='Hi <img src=x onerror="alert(1)"> </script> there')
    _assert_clean(app)
    srcdoc = app.get("iframe")[0].proto.srcdoc
    assert "<img" not in srcdoc and srcdoc.count("</script") == 4


def test_encoder_decoder_models_chart_each_attention_stack(tmp_path):
    folder = tiny_t5(tmp_path / "t5")
    app = _run(ATTENTION, model=OTHER_MODEL, model_id=str(folder), **{"attention.view": "Head heatmap"})
    _assert_clean(app)
    assert app.radio(key="attention.block").options == ["Encoder", "Decoder", "Cross (decoder → encoder)"]
    app.radio(key="attention.block").set_value("cross").run()
    _assert_clean(app)
    spec = json.loads(app.get("vega_lite_chart")[0].proto.spec)
    assert spec["title"].startswith("Cross (decoder → encoder): layer")


@pytest.mark.parametrize(
    ("text", "notice"),
    [
        ("The dog 🐶 was tired.", "unknown to this tokenizer"),
        ("The animal\x07 was\x00 tired.", "Removed 2 control characters"),
        ("The word שלום means peace.", "right-to-left"),
    ],
)
def test_unusual_characters_are_explained_on_the_page(text, notice):
    app = _run(ATTENTION, text=text)
    _assert_clean(app)
    assert notice in _messages(app)
    assert app.get("iframe"), "the head view still renders"


def test_cjk_text_renders_in_the_head_view():
    app = _run(ATTENTION, text="東京は大きい都市です")
    _assert_clean(app)
    assert json.dumps("東") in app.get("iframe")[0].proto.srcdoc  # bertviz's JSON escapes non-ASCII


LIME_PAGE = ROOT / "pages" / "4_LIME.py"
# Bound widgets with a format_func put the formatted label in the URL.


@pytest.mark.parametrize(
    ("classes", "message"),
    [("sport", "at least two class descriptions"), ("sport\nart\nsport", "repeated: sport")],
)
def test_zero_shot_with_too_few_or_repeated_classes_says_what_to_fix(classes, message):
    app = _run(LIME_PAGE, classifier=KINDS["zero-shot"], classes=classes, **{"lime.samples": "500"})
    assert not app.exception
    assert message in app.error[0].value


def test_zero_shot_classifier_explains_with_the_typed_classes():
    app = _run(LIME_PAGE, classifier=KINDS["zero-shot"], classes="sport\npolitics", **{"lime.samples": "500"})
    _assert_clean(app)
    assert app.selectbox(key="lime.class").options == ["Predicted class", "sport", "politics"]


def test_a_model_without_a_classification_head_is_refused_on_the_page():
    app = _run(LIME_PAGE, classifier=KINDS["model"], **{"lime.samples": "500"})
    assert not app.exception
    assert "has no sequence-classification head" in app.error[0].value


def test_topic_classifier_states_its_measured_held_out_accuracy():
    from xray.classifiers import LinearHead

    accuracy = LinearHead.load().metadata["held_out_accuracy"]
    app = _run(LIME_PAGE, **{"lime.samples": "500"})
    _assert_clean(app)
    assert any(f"held-out accuracy {accuracy:.3f}" in caption.value for caption in app.sidebar.caption)
