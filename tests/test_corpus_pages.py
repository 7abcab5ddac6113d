"""AppTest runs of the corpus pages (Embedding search and Projections) on the embedded model."""

from __future__ import annotations

import re

import pytest

from components.sidebar import OTHER_MODEL
from tests.pages import assert_clean, english_left, messages, run_page, table_with, with_text
from tests.tiny_models import tiny_bert_mlm
from xray.models.token_predictions import MASKED_LM_EXAMPLE

pytestmark = [pytest.mark.app, pytest.mark.integration]
SEARCH, PROJECTIONS = "2_Embedding_search.py", "6_Projections.py"
SENSES = {"corpus": "Word senses"}
RIVER_BANK = "We sat on the bank of the river"


def test_search_starts_at_bank_and_shows_neighbours_purity_and_tags():
    app = run_page(SEARCH, text=RIVER_BANK, layer="4", **SENSES)
    assert_clean(app)
    assert any("focus token **bank · word 5** (the piece 'bank')" in caption.value for caption in app.caption)
    neighbours = table_with(app, "rank", "cosine", "piece")
    assert len(neighbours) == 20 and (neighbours["piece"] == "bank").sum() >= 10
    assert "bank (river)" in messages(app)
    assert {"NOUN"} <= set(neighbours["pos"])
    assert MASKED_LM_EXAMPLE in messages(app)  # MiniLM has no masked-LM head, and the page says so


def test_a_focus_outside_the_word_sense_set_offers_the_word_sense_example():
    app = run_page(SEARCH, text="The ships sailed at dawn.", **SENSES)
    assert_clean(app)
    assert any("'ships' is not one of the word-sense set's" in caption.value for caption in app.caption)
    app.button(key="corpus.sense_example").click().run()
    assert app.sidebar.text_area(key="text").value == "We sat on the bank of the river."
    assert any("focus token **bank · word 5**" in caption.value for caption in app.caption)


def test_search_by_a_corpus_word_leaves_the_occurrence_itself_out():
    app = run_page(SEARCH, **{"search.by": "A word of the corpus", "search.word": "spring"}, **SENSES)
    assert_clean(app)
    neighbours = table_with(app, "rank", "cosine", "piece")
    assert len(neighbours) == 20 and "spring (" in messages(app)
    assert neighbours["cosine"].iloc[0] < 0.9999  # the occurrence searched from would be its own best match


def test_a_word_missing_from_the_corpus_says_so():
    app = run_page(SEARCH, **{"search.by": "A word of the corpus", "search.word": "zyzzyva"}, **SENSES)
    assert_clean(app)
    assert "does not occur" in messages(app)


def test_projections_colour_by_cluster_and_label_with_separation_by_level():
    app = run_page(PROJECTIONS, **{"projection.sample": "500"}, **SENSES)
    assert_clean(app)
    clusters = table_with(app, "size", "dominant label")
    assert clusters["size"].sum() == 500 and "dominant label" in clusters
    assert app.get("vega_lite_chart") or app.get("arrow_vega_lite_chart")


@pytest.mark.parametrize(
    "query",
    [
        {"projection.method": "UMAP", "projection.sample": "500"},
        {"projection.unit": "piece", "projection.sample": "500", "projection.colour": "pos"},
        {"projection.colour": "prediction", "projection.sample": "200"},
    ],
    ids=["umap", "pieces-by-pos", "by-prediction"],
)
def test_projection_variants_render(query):
    app = run_page(PROJECTIONS, **query, **SENSES)
    assert_clean(app)


def test_a_masked_lm_predicts_the_token_beside_its_neighbours(tmp_path):
    folder = tiny_bert_mlm(tmp_path / "mlm")
    app = run_page(SEARCH, model=OTHER_MODEL, model_id=str(folder), text="she sat on the bank", **SENSES)
    assert_clean(app)
    assert MASKED_LM_EXAMPLE not in messages(app)
    captions = " ".join(caption.value for caption in app.caption)
    assert "'bank' masked: the model's top 10 tokens for the gap" in captions
    predictions = table_with(app, "token", "probability")
    assert len(predictions) == 10 and predictions["probability"].is_monotonic_decreasing


def test_search_speaks_turkish_with_turkish_shares():
    app = run_page(SEARCH, text=RIVER_BANK, layer="4", lang="tr", **SENSES)
    assert_clean(app)
    assert app.title[0].value == "Gömme araması"
    by = app.get_by_key("search.by")
    assert by.label == "Neye göre aransın" and by.value == "A token of the sidebar text"
    assert app.slider(key="search.k").label == "Komşular (k)"
    assert "Kenar çubuğundaki odak tokeni **bank · " in with_text(app.caption, "odak tokeni").value
    verdict = with_text(app.info, "etiketi").value
    assert re.search(r"'bank \(river\)' etiketi 4\. katman düzeyinde ilk 20 komşunun %\d+ kadarını", verdict), verdict
    assert with_text(app.subheader, "en yakın").value == "4. katman düzeyinde en yakın 20 kelime parçası"
    neighbours = table_with(app, "sıra", "kosinüs", "parça")
    assert (neighbours["parça"] == "bank").sum() >= 10
    assert english_left(app) == []


def test_search_by_a_corpus_word_in_turkish_opens_from_a_link_naming_the_mode_in_english():
    app = run_page(SEARCH, lang="tr", **{"search.by": "A word of the corpus", "search.word": "spring"}, **SENSES)
    assert_clean(app)
    assert app.get_by_key("search.by").value == "A word of the corpus"
    assert app.text_input(key="search.word").label == "Kelime"
    assert "'spring' kelimesinin geçtiği" in with_text(app.caption, "kelimesinin geçtiği").value
    occurrences = {option[:120] for option in app.selectbox(key="search.row").options}  # corpus sentences ("… and …")
    assert [(english, text) for english, text in english_left(app) if text not in occurrences] == []


def test_projections_speak_turkish_with_turkish_numbers():
    app = run_page(PROJECTIONS, lang="tr", **{"projection.sample": "500", "projection.colour": "label"}, **SENSES)
    assert_clean(app)
    assert app.title[0].value == "İzdüşümler"
    assert app.selectbox(key="projection.unit").label == "Noktalar"
    colour = app.selectbox(key="projection.colour")
    assert colour.label == "Renklendirme ölçütü" and colour.value == "label"  # a link names the column in English
    kept = with_text(app.caption, "PCA şunları korur").value
    assert re.fullmatch(r"PCA şunları korur: x ekseninde varyansın %\d+ kadarı, .*\.", kept), kept
    assert re.search(r"\d+: -?0,\d{3}", app.slider(key="projection.clusters").proto.help)  # silhouettes, Turkish
    clusters = table_with(app, "boyut", "baskın etiket")
    assert clusters["boyut"].sum() == 500
    assert re.search(r"Örneklenen noktaların \d+ tanesi", with_text(app.caption, "k-NN doğruluğu").value)
    assert "Etiketlerin katman katman ayrışması" in [subheader.value for subheader in app.subheader]
    assert english_left(app) == []
