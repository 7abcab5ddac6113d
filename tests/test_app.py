"""AppTest smoke and behaviour tests: every page runs on the embedded model with no exception."""

from __future__ import annotations

import json

import pytest

from components.navigation import LOADING, discover_pages
from components.sidebar import IGNORED_LAYER, OTHER_MODEL
from tests.pages import ENTRY, assert_clean, messages, run_page, with_text
from tests.tiny_models import tiny_bert, tiny_t5
from xray.models.classifiers import TOPIC_EXAMPLE
from xray.models.loading import EMBEDDED_MODEL, MAX_PARAMETERS_ENV

TECHNIQUE_PAGES = [path for path, _ in discover_pages()[1:]]
ATTENTION = "1_Attention.py"
pytestmark = [pytest.mark.app, pytest.mark.integration]


def test_home_page_describes_every_page_and_the_loaded_model():
    app = run_page(ENTRY)
    assert_clean(app)
    assert "Transformer X-Ray" in [title.value for title in app.title]
    assert any("6 layers" in caption.value for caption in app.sidebar.caption)
    assert any(EMBEDDED_MODEL in markdown.value for markdown in app.markdown)
    questions = {caption.value for caption in app.caption}
    assert all(info.question in questions for _, info in discover_pages()[1:])


@pytest.mark.parametrize("page", TECHNIQUE_PAGES, ids=lambda path: path.name)
def test_every_page_runs_on_its_own_without_exception(page):
    app = run_page(page)
    assert_clean(app)
    assert dict(discover_pages())[page].title in [title.value for title in app.title]


@pytest.mark.parametrize("page", TECHNIQUE_PAGES, ids=lambda path: path.name)
def test_every_page_runs_under_the_navigation_with_one_title_and_no_loading_line_left(page):
    app = run_page(ENTRY)
    app.switch_page(f"app_pages/{page.name}").run()
    assert_clean(app)
    assert [title.value for title in app.title] == [dict(discover_pages())[page].title]
    assert not any(caption.value == LOADING for caption in app.caption)


LAYERLESS_PAGES = [path.name for path, info in discover_pages()[1:] if not info.uses_layer]  # PAGE(uses_layer=False)


def test_the_classifier_pages_declare_that_they_ignore_the_layer():
    assert {"3_SHAP.py", "4_LIME.py", "8_Which_explanation.py"} <= set(LAYERLESS_PAGES)


@pytest.mark.parametrize("page", LAYERLESS_PAGES)
def test_pages_that_ignore_the_layer_say_so(page):
    app = run_page(page, **{"lime.samples": "500", "compare.lime_samples": "500", "shap.max_evals": "100"})
    assert app.sidebar.slider(key="layer").disabled
    assert IGNORED_LAYER in [caption.value for caption in app.sidebar.caption]
    assert not run_page(ATTENTION).sidebar.slider(key="layer").disabled


def test_a_text_far_from_the_topics_gets_a_warning_and_a_one_click_example():
    app = run_page("4_LIME.py", **{"lime.samples": "500"})  # the default sentence is no news
    assert "the classifier is unsure" in messages(app).lower()
    app.button(key="lime.example").click().run()
    assert_clean(app)
    assert app.sidebar.text_area(key="text").value == TOPIC_EXAMPLE
    assert "unsure" not in messages(app)


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
    app = run_page(ATTENTION, **{"attention.view": view})
    assert_clean(app)
    frames = app.get("iframe")
    assert len(frames) == iframes
    if iframes:
        assert "animal" in frames[0].proto.srcdoc
    labels = [button.label for button in app.get("download_button")]
    assert downloads in labels and {"JSON", "NPZ"} <= set(labels)


def test_url_sets_the_sidebar():
    text = "She sat on the river bank."
    app = run_page(ATTENTION, text=text, layer="2")
    assert_clean(app)
    assert app.sidebar.text_area(key="text").value == text
    assert app.sidebar.slider(key="layer").value == 2


def test_layer_is_clamped_when_switching_to_a_smaller_model(tmp_path):
    folder = tiny_bert(tmp_path / "two-layers")
    app = run_page(ATTENTION, layer="5")
    app.sidebar.selectbox(key="model").set_value(OTHER_MODEL).run()
    app.sidebar.text_input(key="model_id").set_value(str(folder)).run()
    assert not app.exception
    assert app.sidebar.slider(key="layer").value == 1
    assert "Layer 5 does not exist in this model (2 layers)" in messages(app)


def test_unknown_model_id_gives_a_short_error_naming_the_default():
    app = run_page(ATTENTION, model=OTHER_MODEL, model_id="no-such-org/no-such-model-xray")
    assert not app.exception
    assert "Traceback" not in with_text(app.error, "embedded default").value
    assert not any(caption.value == LOADING for caption in app.caption), "the loading line must go with the error"


def test_model_over_the_budget_is_refused_with_how_to_raise_it(tmp_path, monkeypatch):
    folder = tiny_bert(tmp_path / "over-budget")
    monkeypatch.setenv(MAX_PARAMETERS_ENV, "1000")
    app = run_page(ATTENTION, model=OTHER_MODEL, model_id=str(folder))
    assert not app.exception
    assert with_text(app.error, MAX_PARAMETERS_ENV)


@pytest.mark.parametrize(
    "page", [path for path, info in discover_pages()[1:] if info.uses_text], ids=lambda path: path.name
)
def test_empty_text_stops_every_page_that_reads_it_with_one_short_message(page):
    app = run_page(page, text="   ")
    assert not app.exception
    assert not app.error
    assert "The text is empty: type a sentence or pick an example." in messages(app)
    assert len(app.main.get("dataframe")) == 0 and len(app.main.get("vega_lite_chart")) == 0


def test_long_text_is_truncated_with_a_notice():
    app = run_page(ATTENTION, text="word " * 700)
    assert_clean(app)
    assert "reads at most 512" in messages(app)
    assert "first 64 of 512 tokens" in " ".join(caption.value for caption in app.caption)


def test_html_in_the_text_is_never_rendered_as_html():
    app = run_page(ATTENTION, text='Hi <img src=x onerror="alert(1)"> </script> there')
    assert_clean(app)
    (srcdoc,) = [frame.proto.srcdoc for frame in app.get("iframe") if "bertviz" in frame.proto.srcdoc]
    assert "<img" not in srcdoc and srcdoc.count("</script") == 4


def test_encoder_decoder_models_chart_each_attention_stack(tmp_path):
    folder = tiny_t5(tmp_path / "t5")
    app = run_page(ATTENTION, model=OTHER_MODEL, model_id=str(folder), **{"attention.view": "Head heatmap"})
    assert_clean(app)
    assert app.radio(key="attention.block").options == ["Encoder", "Decoder", "Cross (decoder → encoder)"]
    app.radio(key="attention.block").set_value("cross").run()
    assert_clean(app)
    titles = [json.loads(chart.proto.spec).get("title", "") for chart in app.get("vega_lite_chart")]
    assert any(str(title).startswith("Cross (decoder → encoder): layer") for title in titles)


@pytest.mark.parametrize(
    ("text", "notice"),
    [
        ("The dog 🐶 was tired.", "unknown to this tokenizer"),
        ("The animal\x07 was\x00 tired.", "Removed 2 control characters"),
        ("The word שלום means peace.", "right-to-left"),
    ],
)
def test_unusual_characters_are_explained_on_the_page(text, notice):
    app = run_page(ATTENTION, text=text)
    assert_clean(app)
    assert notice in messages(app)
    assert app.get("iframe"), "the head view still renders"


def test_cjk_text_renders_in_the_head_view():
    app = run_page(ATTENTION, text="東京は大きい都市です")
    assert_clean(app)
    # bertviz's JSON escapes non-ASCII
    assert any(json.dumps("東") in frame.proto.srcdoc for frame in app.get("iframe"))


LIME_PAGE = "4_LIME.py"
# Linked settings put the option itself in the URL (the classifier's kind), not its label.


@pytest.mark.parametrize(
    ("classes", "message"),
    [("sport", "at least two class descriptions"), ("sport\nart\nsport", "repeated: sport")],
)
def test_zero_shot_with_too_few_or_repeated_classes_says_what_to_fix(classes, message):
    app = run_page(LIME_PAGE, classifier="zero-shot", classes=classes, **{"lime.samples": "500"})
    assert not app.exception
    assert with_text(app.error, message)


def test_zero_shot_classifier_explains_with_the_typed_classes():
    app = run_page(LIME_PAGE, classifier="zero-shot", classes="sport\npolitics", **{"lime.samples": "500"})
    assert_clean(app)
    assert app.selectbox(key="lime.class").options == ["Predicted class", "sport", "politics"]


def test_a_model_without_a_classification_head_is_refused_on_the_page():
    app = run_page(LIME_PAGE, classifier="model", **{"lime.samples": "500"})
    assert not app.exception
    assert with_text(app.error, "has no sequence-classification head")


def test_topic_classifier_states_its_measured_held_out_accuracy():
    from xray.models.classifiers import LinearHead

    accuracy = LinearHead.load().metadata["held_out_accuracy"]
    app = run_page(LIME_PAGE, **{"lime.samples": "500"})
    assert_clean(app)
    assert any(f"held-out accuracy {accuracy:.3f}" in caption.value for caption in app.sidebar.caption)


def test_a_link_keeps_its_settings_through_page_switches():
    text = "She sat on the river bank."
    app = run_page(ENTRY, text=text, layer="3", focus="4")
    for page in ("9_Tokenizers.py", "1_Attention.py", "0_Home.py"):
        app.switch_page(f"app_pages/{page}").run()
        assert_clean(app)
        assert app.sidebar.text_area(key="text").value == text
        assert app.sidebar.slider(key="layer").value == 3
        focus = app.sidebar.selectbox(key="focus")
        assert focus.value == 4 and focus.format_func(focus.value) == "the · word 4"


def test_a_new_text_moves_the_focus_to_its_first_noun_and_an_example_to_its_key_word():
    app = run_page(ATTENTION, focus="2")
    assert app.sidebar.selectbox(key="focus").value == 2
    app.sidebar.text_area(key="text").input("It is the ships that sailed.").run()
    assert app.sidebar.selectbox(key="focus").value == 4  # ships: 'It', 'is', 'the' are stop words
    app.sidebar.selectbox(key="example").set_value("Word sense (two banks)").run()
    focus = app.sidebar.selectbox(key="focus")
    assert focus.format_func(focus.value) == "bank · word 6"


def test_a_link_whose_focus_is_past_the_last_word_opens_the_default_focus():
    app = run_page(ATTENTION, text="The ships sailed.", focus="9")
    assert_clean(app)
    focus = app.sidebar.selectbox(key="focus")
    assert focus.format_func(focus.value) == "ships · word 2"


def test_a_focus_past_the_model_s_maximum_leaves_the_attention_views_drawn():
    app = run_page(ATTENTION, text="word " * 700, focus="600", **{"attention.view": "Head heatmap"})
    assert_clean(app)
    assert any("does not reach word · word 600" in caption.value for caption in app.caption)
    assert app.get("vega_lite_chart")
