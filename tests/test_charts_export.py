from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import vl_convert

import components.downloads as downloads
from xray.rendering.charts import attention_heatmap, faithfulness_curves, head_overview, signed_bars, token_bars
from xray.rendering.corpus_charts import BAR_PIXELS, count_bars
from xray.rendering.export import MAX_STEM, chart_png, chart_svg, file_stem
from xray.techniques.attention import STATISTICS, compute_attention, head_statistics


@pytest.fixture(scope="module")
def result(tiny):
    return compute_attention(tiny["bert"], "the animal was tired </script>")


def _values(chart) -> list[dict]:
    spec = chart.to_dict()
    return spec["datasets"][spec["data"]["name"]]


def test_heatmap_has_one_cell_per_query_key_pair(result):
    block = result.main
    chart = attention_heatmap(block.attentions[0, 1], block.query_tokens, block.key_tokens, "layer 0 head 1")
    values = _values(chart)
    tokens = len(result.tokens)
    assert len(values) == tokens * tokens
    assert values[1]["weight"] == pytest.approx(block.attentions[0, 1, 0, 1], abs=1e-4)
    with pytest.raises(ValueError, match="does not match"):
        attention_heatmap(block.attentions[0, 1], block.query_tokens[:-1], block.key_tokens, "bad")


def test_overview_carries_every_statistic(result):
    stats = head_statistics(result.main.attentions, result.main.key_special_mask)
    values = _values(head_overview(stats, "entropy"))
    assert len(values) == 2 * 4
    assert set(STATISTICS) <= set(values[0])
    assert values[5]["to_self"] == pytest.approx(stats.to_self[1, 1], abs=1e-4)


def test_token_bars_check_lengths(result):
    assert len(_values(token_bars(np.ones(len(result.tokens)), result.tokens, "t", "share"))) == len(result.tokens)
    with pytest.raises(ValueError, match="does not match"):
        token_bars(np.ones(2), result.tokens, "t", "share")


def test_charts_export_to_png_and_svg_with_html_text_escaped(tiny):
    result = compute_attention(tiny["gpt2"], "the animal </script> was tired")
    chart = attention_heatmap(result.main.attentions[0, 0], result.tokens, result.tokens, "heatmap")
    assert chart_png(chart).startswith(b"\x89PNG")
    svg = chart_svg(chart)
    assert svg.lstrip().startswith("<svg") and "<script" not in svg and "&lt;" in svg


def test_signed_bars_put_the_strongest_first_and_colour_by_sign():
    chart = signed_bars(["a", "b", "c"], np.array([0.1, -0.5, 0.2]), "t", "value")
    values = _values(chart)
    assert [row["label"] for row in values] == ["b", "c", "a"]
    assert values[0]["direction"] == "against the class" and values[1]["direction"] == "towards the class"
    with pytest.raises(ValueError, match="does not match"):
        signed_bars(["a"], np.array([1.0, 2.0]), "t", "value")


# What Streamlit 1.67's Vega-Lite theme (frontend CustomTheme) does to labels: it fits a chart to its width, thins
# overlapping axis labels (every other one goes), pushes the first and last ones flush, and cuts axis labels at 100 px.
STREAMLIT_THEME = {
    "autosize": {"type": "fit", "contains": "padding"},
    "axis": {
        "labelFontSize": 12,
        "labelLimit": 100,
        "labelOverlap": True,
        "labelFlush": True,
        "labelFlushOffset": 1,
        "labelBound": False,
        "labelPadding": 16,
        "labelSeparation": 2,
    },
    "legend": {"labelFontSize": 14, "labelPadding": 16},
}


def _drawn_texts(chart) -> dict[str, float]:
    """Every text the chart draws under Streamlit's theme (rendered offline by vl-convert): text -> opacity."""
    spec = chart.to_dict()
    spec["config"] = {**spec.get("config", {}), **STREAMLIT_THEME}
    svg = vl_convert.vegalite_to_svg(spec)
    return {
        text: float(re.search(r'opacity="([^"]*)"', attributes)[1]) if "opacity" in attributes else 1.0
        for attributes, text in re.findall(r"<text([^>]*)>([^<]*)</text>", svg)
    }


def test_count_bars_label_every_value_under_streamlits_theme():
    values = ["bank (river)", "bank (money)", "business", "politics", "sport", "tech", "entertainment", "(none)"]
    counts = pd.DataFrame({"value": values, "count": [9, 6, 1, 1, 1, 1, 1, 1]})
    chart = count_bars(counts, "Label")

    spec = chart.to_dict()
    axis = spec["encoding"]["y"]["axis"]
    assert axis["labelOverlap"] is False and axis["labelLimit"] >= 200
    assert spec["height"] == {"step": BAR_PIXELS} and spec["autosize"] == "pad"
    assert [row["value"] for row in _values(chart)] == values
    drawn = _drawn_texts(chart)
    assert {value: drawn.get(value) for value in values} == dict.fromkeys(values, 1.0)
    assert not any("…" in text for text in drawn)


def test_faithfulness_legend_shows_every_method_whole():
    methods = ["SHAP", "LIME", "Attention from [CLS], last layer", "Rollout from [CLS]", "Random order"]
    fractions = np.array([0.1, 0.2, 0.3])
    chart = faithfulness_curves(
        fractions, {m: fractions * i for i, m in enumerate(methods)}, "t", "drop", "Random order"
    )

    legend = chart.to_dict()["encoding"]["color"]["legend"]
    assert legend["orient"] == "bottom" and legend["labelLimit"] >= 300
    drawn = _drawn_texts(chart)
    assert set(methods) <= set(drawn) and not any("…" in text for text in drawn)


@pytest.mark.parametrize(
    ("parts", "stem"),
    [
        (("attention_heatmap", "L4", "H3"), "attention_heatmap_l4_h3"),
        (("neighbourhood purity", "bank", "layer 3", "k20"), "neighbourhood_purity_bank_layer_3_k20"),
        (("shap", "Café Société!", "500_evals"), "shap_cafe_societe_500_evals"),
        (("attention_rollout_from", "[CLS]", "L5"), "attention_rollout_from_cls_l5"),
        (("../../etc/passwd", "a\\b:c*?"), "etc_passwd_a_b_c"),
        (("focus", "ذهب", "", 3), "focus_3"),
        (("ذهب",), "download"),
    ],
)
def test_file_stems_are_lowercase_ascii_and_filesystem_safe(parts, stem):
    assert file_stem(*parts) == stem
    assert re.fullmatch(r"[a-z0-9_.-]+", stem) and not stem.startswith(".")


def test_a_long_stem_is_cut_to_the_limit():
    stem = file_stem("x" * 100, "y" * 100)
    assert len(stem) == MAX_STEM and stem.startswith("x" * 100 + "_y")


def test_chart_downloads_save_under_a_safe_stem(monkeypatch):
    names: list[str] = []
    monkeypatch.setattr(downloads, "download_row", lambda: None)
    monkeypatch.setattr(downloads, "download", lambda label, data, file_name, *rest: names.append(file_name))
    downloads.chart_downloads(signed_bars(["a"], np.array([1.0]), "t", "v"), "Attention heatmap self L4 H3", "k")
    assert names == ["attention_heatmap_self_l4_h3.png", "attention_heatmap_self_l4_h3.svg"]
