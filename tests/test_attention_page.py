"""AppTest runs of the Attention page in Turkish: its labels, captions, bertviz's menus and the shares it writes."""

from __future__ import annotations

import json
import re

import pytest

from tests.pages import assert_clean, english_left, run_page, with_text
from xray.translation import _, use_language

pytestmark = [pytest.mark.app, pytest.mark.integration]
ATTENTION = "1_Attention.py"


def _titles(app) -> list[str]:
    """Every title in the page's charts (a layered chart keeps its title in a layer)."""
    found = []

    def collect(node) -> None:
        if isinstance(node, dict):
            title = node.get("title")
            found.extend([title] if isinstance(title, str) else [])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    for chart in app.get("vega_lite_chart") + app.get("arrow_vega_lite_chart"):
        collect(json.loads(chart.proto.spec))
    return found


def test_the_page_speaks_turkish_down_to_bertviz_s_menus():
    app = run_page(ATTENTION, lang="tr")
    assert_clean(app)
    assert app.title[0].value == "Dikkat"
    view = app.get_by_key("attention.view")
    assert view.label == "Görünüm" and view.value == "Head view"  # the value (bound to the URL) stays English
    assert app.slider(key="attention.tokens").label == "Etkileşimli görünümlerdeki token sayısı"
    assert with_text(app.caption, "bertviz başlık görünümü").value.startswith("bertviz başlık görünümü: çizimin")
    (frame,) = app.get("iframe")
    assert 'Katman: <select id="layer">' in frame.proto.srcdoc and "Layer: <select" not in frame.proto.srcdoc
    assert "Dikkat ağırlıklarını indirin" in [expander.label for expander in app.expander]
    assert english_left(app) == []


def test_the_model_view_s_headings_and_the_heatmap_s_share_are_turkish():
    app = run_page(ATTENTION, lang="tr", **{"attention.view": "Model view"})
    assert_clean(app)
    (frame,) = app.get("iframe")
    assert '.text("Başlıklar")' in frame.proto.srcdoc and '.text("Katmanlar")' in frame.proto.srcdoc
    app = run_page(ATTENTION, lang="tr", layer="4", focus="2", **{"attention.view": "Head heatmap"})
    assert_clean(app)
    assert app.number_input(key="attention.head").label == "Başlık"
    caption = with_text(app.caption, "Odak tokeni").value
    assert re.search(r"dikkatinin %\d+ kadarı", caption), caption  # a share as Turkish writes it
    assert "Öz-dikkat: 4. katman, 0. başlık" in _titles(app)
    assert english_left(app) == []


def test_the_rollout_and_the_statistics_speak_turkish():
    app = run_page(ATTENTION, lang="tr", layer="2", **{"attention.view": "Rollout"})
    assert_clean(app)
    assert re.search(r"'\[CLS\]' kendisinin %\d+ kadarını koruyor", with_text(app.caption, "kendisinin").value)
    assert "2. katmandan sonraki yayılım yalnızca 0 ile 2 arasındaki katmanları" in app.info[0].value
    assert "2. katmandan sonraki yayılım" in _titles(app)
    assert english_left(app) == []
    app = run_page(ATTENTION, lang="tr", **{"attention.view": "Head overview"})
    assert_clean(app)
    statistic = app.selectbox(key="attention.statistic")
    assert statistic.label == "İstatistik" and statistic.value == "entropy"
    assert statistic.options[0].startswith("entropy: Bir sorgunun dikkatinin bit cinsinden entropisi")
    assert english_left(app) == []


def test_a_link_names_the_view_by_its_value_in_either_language_and_a_later_choice_stays():
    app = run_page(ATTENTION, lang="tr", **{"attention.view": "Rollout"})  # as the lesson links it
    assert app.get_by_key("attention.view").value == "Rollout"
    app.get_by_key("attention.view").set_value("Head heatmap").run()
    assert_clean(app)
    assert app.get_by_key("attention.view").value == "Head heatmap"
    assert app.number_input(key="attention.head").label == "Başlık"


def test_a_link_copied_from_the_page_in_turkish_opens_the_same_view_in_english():
    use_language("tr")
    turkish_label = _("Head heatmap")
    assert turkish_label != "Head heatmap"
    app = run_page(ATTENTION, **{"attention.view": turkish_label})  # English, with the label a Turkish page wrote
    assert_clean(app)
    assert app.get_by_key("attention.view").value == "Head heatmap"
