from __future__ import annotations

import json
import re

import pytest

from xray.rendering.bertviz_html import (
    CDN_REQUIRE_TAG,
    head_view_html,
    model_view_html,
    safe_json,
    view_window,
)
from xray.techniques.attention import compute_attention

PAYLOAD = '</script><img src=x onerror="window.pwned=1">'


def _params(html: str) -> dict:
    match = re.search(r"const params = (\{.*?\}); // HACK", html, flags=re.S)
    assert match, "params JSON not found"
    return json.loads(match.group(1))


@pytest.mark.parametrize("render", [head_view_html, model_view_html])
def test_views_are_offline_and_self_contained(tiny, render):
    html = render(compute_attention(tiny["bert"], "the animal was tired"))
    assert CDN_REQUIRE_TAG not in html
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html), "nothing may load from the network"
    assert "d3js.org v5" in html and "jQuery v3" in html
    assert "window.require = window.requirejs" in html


def test_params_keep_tokens_and_rounded_weights(tiny):
    result = compute_attention(tiny["bert"], "the animal was tired")
    params = _params(head_view_html(result))
    first = params["attention"][0]
    assert first["left_text"] == result.tokens
    weights = first["attn"][0][0]
    assert all(round(weight, 3) == weight for weight in weights[0])
    assert weights[1][2] == pytest.approx(result.main.attentions[0, 0, 1, 2], abs=5e-4)


@pytest.mark.parametrize("render", [head_view_html, model_view_html])
def test_html_in_the_text_never_reaches_the_page_raw(tiny, render):
    html = render(compute_attention(tiny["gpt2"], f"the animal {PAYLOAD} was tired"))
    assert "onerror" in html  # the text is there, escaped inside the JSON
    assert "<img" not in html
    # d3, jQuery, the require stand-in and bertviz's own script; the model view adds its fit-to-width script.
    assert html.count("</script") == (5 if render is model_view_html else 4)


def test_token_cap_cuts_every_view_and_sentence_b_outside_is_dropped(tiny):
    result = compute_attention(tiny["bert"], " ".join(["animal"] * 30), "the bank")
    window = view_window(result, 16)
    assert window.capped and (window.shown, window.total) == (16, len(result.tokens))
    params = _params(head_view_html(result, max_tokens=16))
    assert len(params["attention"]) == 1  # sentence B starts after token 16: no pair filters
    assert len(params["attention"][0]["left_text"]) == 16
    assert len(params["attention"][0]["attn"][0][0]) == 16


def test_sentence_pair_adds_bertviz_filters(tiny):
    params = _params(head_view_html(compute_attention(tiny["bert"], "the animal", "it was tired")))
    assert [entry["name"] for entry in params["attention"]][:2] == ["All", "Sentence A -> Sentence A"]


def test_encoder_decoder_views_have_three_stacks(tiny):
    params = _params(head_view_html(compute_attention(tiny["t5"], "the animal", "she sat")))
    assert [entry["name"] for entry in params["attention"]] == ["Encoder", "Decoder", "Cross"]


def test_model_view_layer_subset_and_bad_layers(tiny):
    result = compute_attention(tiny["bert"], "the animal")
    assert _params(model_view_html(result, layers=[1]))["include_layers"] == [1]
    with pytest.raises(ValueError, match="subset"):
        model_view_html(result, layers=[5])
    with pytest.raises(ValueError, match="at least 2"):
        view_window(result, 1)


def test_safe_json_round_trips_and_escapes():
    value = {"token": "</script>&<!--", "line": "\u2028"}
    text = safe_json(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


@pytest.mark.integration
def test_minilm_head_view_size_shrinks_with_rounding(minilm):
    result = compute_attention(minilm, "The animal didn't cross the street because it was too tired.")
    html = head_view_html(result)
    assert len(html) < 1_500_000
    assert _params(html)["attention"][0]["left_text"][2] == "animal"
