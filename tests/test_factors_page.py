"""AppTest runs of the Transformer factors page."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from components.sidebar import OTHER_MODEL
from tests.pages import assert_clean, english_left, keyed_table, labelled, messages, run_page, with_text
from tests.tiny_models import tiny_bert
from xray.cache import CACHE_ENV
from xray.neurons.saved import UNIT_SCORES, saved_unit_scores

pytestmark = [pytest.mark.app, pytest.mark.integration]
FACTORS = "5_Transformer_factors.py"


def test_the_shipped_dictionary_codes_the_sentence_and_charts_a_factor():
    app = run_page(FACTORS, layer="2", text="We sat on the bank of the river")
    assert_clean(app)
    assert labelled(app.metric, "Reconstruction error")
    assert labelled(app.metric, "Factors").value == "1,000"
    levels = ["embeddings", *(f"layer {layer}" for layer in range(6))]
    # the focus token "bank": its 3 strongest factors, one column per level
    per_token = keyed_table(app, "factors.focus_token")
    assert list(per_token.columns) == ["rank", *levels] and per_token["rank"].tolist() == [1, 2, 3]
    assert per_token["layer 2"].str.fullmatch(r"factor \d+ \(\d\.\d\d\)").all()
    strongest = int(per_token["layer 2"].iloc[0].split()[1])
    assert app.number_input(key="factors.factor").value == strongest  # the factor view opens on it
    assert any("peaks at" in caption.value for caption in app.caption)
    contexts = keyed_table(app, "factors.contexts")
    factor_table = keyed_table(app, "factors.every_factor")
    senses = keyed_table(app, "factors.senses")
    assert app.selectbox(key="factors.word").value == "bank" and list(senses.columns) == ["rank", *levels]
    assert senses["layer 2"].str.contains(r"F \d+\.\d\d; money \d\.\d{3}, river \d\.\d{3}").all()
    assert len(contexts) == 10 and contexts["code"].is_monotonic_decreasing
    assert len(factor_table) == 1_000 and (factor_table["summary"] != "").mean() > 0.9


def test_a_factor_out_of_range_gets_a_notice():
    app = run_page(FACTORS, **{"factors.factor": "5000"})
    assert_clean(app)
    assert "Factor 5000 does not exist" in messages(app)


def test_a_model_without_a_dictionary_learns_one_from_the_page(tmp_path):
    folder = tiny_bert(tmp_path / "tiny")
    app = run_page(FACTORS, model=OTHER_MODEL, model_id=str(folder))
    assert_clean(app)
    assert "python -m xray factors --model" in messages(app) and not app.metric

    app.selectbox(key="factors.learn.corpus").set_value("Word senses")
    settings = {"Factors": 8, "Epochs": 1, "Samples": 2_000}
    for box in app.number_input:
        if box.label in settings:
            box.set_value(settings[box.label])
    app = app.button(key="factors.learn.start").click().run()
    assert_clean(app)
    assert labelled(app.metric, "Factors").value == "8" and "No factor dictionary" not in messages(app)
    assert any("Word senses" in caption.value for caption in app.caption)  # the top contexts' corpus

    # The factor's dashboard reads every stored piece's codes, computed once when the user asks.
    assert "Density" not in [metric.label for metric in app.metric]
    app = app.button(key="factors.dashboard.start").click().run(timeout=180)
    assert_clean(app)
    factor, level = app.number_input(key="factors.factor").value, 1  # the sidebar's layer 0
    density = labelled(app.metric, "Density").value
    assert float(density.removesuffix("%")) > 0
    verdict = with_text(app.caption, "with the factor. Correlation").value
    specs = [chart.proto.spec for chart in app.get("vega_lite_chart") + app.get("arrow_vega_lite_chart")]
    assert any(f"Factor {factor}'s non-zero codes at layer 0" in spec for spec in specs)
    assert "_The main thing this factor does is find_" in " ".join(str(text.value) for text in app.markdown)
    assert with_text(app.caption, "Largest code here").value  # the test box, on the sidebar text
    tables = [saved_unit_scores(path.parent) for path in Path(os.environ[CACHE_ENV]).glob(f"*/{UNIT_SCORES}")]
    [row] = [row for table in tables for _, row in table.query("kind == 'factor'").iterrows()]
    assert (row["unit"], row["level"]) == (factor, level) and f"{row['top_and_random']:.2f}" in verdict
    again = run_page(FACTORS, model=OTHER_MODEL, model_id=str(folder))  # the codes are kept: no button
    assert_clean(again)
    assert labelled(again.metric, "Density").value == density


def test_a_tokens_factor_opens_in_the_factor_view_and_lime_explains_a_context():
    app = run_page(FACTORS, layer="2", text="We sat on the bank of the river")
    opened = app.button_group(key="factors.open")
    first = opened.options[0]
    app = opened.set_value(int(first.removeprefix("factor "))).run()
    assert_clean(app)
    factor = app.number_input(key="factors.factor").value
    assert f"factor {factor}" == first and app.button_group(key="factors.open").value is None
    assert any(f"Factor {factor} peaks at" in caption.value for caption in app.caption)

    explain = next(box for box in app.selectbox if str(box.key).startswith("factors.lime."))
    app = explain.select_index(0).run()
    assert_clean(app)
    summary = " ".join(caption.value for caption in app.caption) + messages(app)
    assert f"Factor {factor}'s code at" in summary and "The framed word always stays" in summary
    assert "outline: 2px solid" in with_text(app.html, "raises the code").value
    specs = [chart.proto.spec for chart in app.get("vega_lite_chart") + app.get("arrow_vega_lite_chart")]
    assert any(f"LIME weights for factor {factor}" in spec and "lowers the code" in spec for spec in specs)


DATA_WIDGETS = ("factors.word", "factors.lime.")
"""Widgets that offer the corpus's words and contexts (an English word-sense word such as "key" is data)."""


def test_the_page_speaks_turkish_with_turkish_numbers():
    app = run_page(FACTORS, layer="2", text="We sat on the bank of the river", lang="tr")
    assert_clean(app)
    assert english_left(app, data_widgets=DATA_WIDGETS) == []
    assert app.title[0].value == "Transformer faktörleri"
    assert labelled(app.metric, "Faktörler").value == "1.000"
    assert re.fullmatch(r"%\d+", labelled(app.metric, "Yeniden oluşturma hatası").value)
    assert re.fullmatch(r"\d+,\d", labelled(app.metric, "Token başına etkin faktör").value)
    assert app.subheader[0].value == "Cümlenin en güçlü faktörleri (2. katman)"
    levels = ["gömmeler", *(f"{layer}. katman" for layer in range(6))]
    per_token = keyed_table(app, "factors.focus_token")
    assert list(per_token.columns) == ["sıra", *levels]
    assert per_token["2. katman"].str.fullmatch(r"faktör \d+ \(\d,\d\d\)").all()
    assert app.number_input(key="factors.factor").label == "Faktör"
    peak = r"Faktör \d+ en yüksek önemine .+ düzeyinde ulaşır: (alt|orta|üst) düzey bir faktör\. "
    assert any(re.match(peak, caption.value) for caption in app.caption)
    assert list(keyed_table(app, "factors.contexts").columns) == ["kod", "sol", "parça", "sağ", "etiket"]
    assert app.selectbox(key="factors.word").label == "Sözcük anlamı setinden kelime"
    senses = keyed_table(app, "factors.senses")
    assert list(senses.columns) == ["sıra", *levels]
    assert senses["2. katman"].str.contains(r"F \d+,\d\d; money \d,\d{3}, river \d,\d{3}").all()
    every = keyed_table(app, "factors.every_factor")
    assert {"faktör", "özet", "bant"} <= set(every.columns) and set(every["bant"]) <= {
        "alt düzey",
        "orta düzey",
        "üst düzey",
    }
    labels = {button.label for button in app.get("download_button")}
    assert {"Kodlar (CSV)", "Kodlar (JSON)", "Faktörler (CSV)", "Sözlük (JSON)"} <= labels
    charts = str(
        [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart") + app.get("arrow_vega_lite_chart")]
    )
    assert "Kodlar (2. katman)" in charts and "numaralı faktörün her düzeydeki önemi" in charts and "'düzey'" in charts

    explain = next(box for box in app.selectbox if str(box.key).startswith("factors.lime."))
    app = explain.select_index(0).run()
    assert_clean(app)
    assert english_left(app, data_widgets=DATA_WIDGETS) == []
    summary = " ".join(caption.value for caption in app.caption) + messages(app)
    assert re.search(r"\d+ numaralı faktörün '.+' üzerindeki kodu \(2\. katman\) tam bağlamda \d,\d{3};", summary)
    assert re.search(r"Çerçeveli kelime her zaman kalır\. 1\.000 örnek \(\d+ farklı bağlam\)", summary)
