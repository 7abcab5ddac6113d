from __future__ import annotations

import numpy as np
import pytest

from xray.rendering.charts import attention_heatmap, head_overview, signed_bars, token_bars
from xray.rendering.export import chart_png, chart_svg
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
