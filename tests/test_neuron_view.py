"""bertviz's neuron view: weights really copied, input capped, unsupported families refused, text escaped."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from bertviz.neuron_view import get_attention
from transformers import AutoTokenizer, BertConfig, BertModel

from tests.tiny_models import SIZES
from xray.models.families import FAMILIES
from xray.models.loading import LoadedModel, load_model
from xray.rendering.bertviz_html import CDN_REQUIRE_TAG, offline_scripts
from xray.rendering.neuron_view import SPECIAL_TOKENS, build_neuron_model, neuron_view_html, neuron_view_support
from xray.techniques.attention import compute_attention

SENTENCE = "the animal didn't cross the street because it was too tired"
PAYLOADS = ("</script><script>alert(1)</script>", "<img src=x onerror=alert(1)>")


@pytest.fixture(scope="module")
def models(tiny: dict[str, LoadedModel]) -> dict[str, tuple[LoadedModel, torch.nn.Module]]:
    return {name: (tiny[name], build_neuron_model(tiny[name])) for name in ("bert", "roberta", "gpt2")}


def _params(html: str) -> dict:
    """The params JSON embedded in the page (escaped and rounded)."""
    start = html.index("window.bertviz_params = ") + len("window.bertviz_params = ")
    return json.loads(html[start : html.index("\n</script>", start)])


@pytest.mark.parametrize(
    ("name", "text_b"), [("bert", None), ("bert", "she sat on the river bank"), ("roberta", None), ("gpt2", None)]
)
def test_neuron_attention_equals_model_attention(models, name: str, text_b: str | None) -> None:
    loaded, neuron_model = models[name]
    expected = compute_attention(loaded, SENTENCE, text_b)
    with torch.inference_mode():
        data = get_attention(neuron_model, name, loaded.tokenizer, SENTENCE, text_b, include_queries_and_keys=True)
    assert len(data["all"]["left_text"]) == len(expected.tokens)
    np.testing.assert_allclose(np.array(data["all"]["attn"]), expected.main.attentions, atol=1e-4)
    # The page carries the same weights, rounded to 3 decimals.
    page = _params(neuron_view_html(loaded, neuron_model, SENTENCE, text_b).html)
    np.testing.assert_allclose(np.array(page["attention"]["all"]["attn"]), expected.main.attentions, atol=1e-3)
    assert np.array(page["attention"]["all"]["queries"]).shape == (
        loaded.num_layers,
        loaded.num_heads,
        len(expected.tokens),
        loaded.hidden_size // loaded.num_heads,
    )


def test_shared_model_is_not_mutated(tiny_folders: dict[str, Path]) -> None:
    loaded = load_model(str(tiny_folders["bert"]), device="cpu")
    before = {key: value.clone() for key, value in loaded.model.state_dict().items()}
    neuron_model = build_neuron_model(loaded)
    with torch.no_grad():
        for parameter in neuron_model.parameters():
            parameter.add_(1.0)
    neuron_view_html(loaded, neuron_model, SENTENCE)
    after = loaded.model.state_dict()
    assert all(torch.equal(before[key], after[key]) for key in before)


@pytest.mark.parametrize(
    "change",
    [
        lambda state: state.pop("encoder.layer.1.attention.self.query.weight"),
        lambda state: state.update({"encoder.layer.0.attention.self.distance_embedding.weight": torch.zeros(3, 32)}),
        lambda state: state.update({"embeddings.word_embeddings.weight": torch.zeros(5, 32)}),
    ],
    ids=["missing", "unexpected", "wrong-shape"],
)
def test_weights_that_do_not_fit_are_refused(models, change) -> None:
    loaded = models["bert"][0]
    state = dict(loaded.model.base_model.state_dict())
    change(state)
    fake = SimpleNamespace(config=loaded.model.config, base_model=SimpleNamespace(state_dict=lambda: state))
    with pytest.raises(ValueError, match="bertviz's bert model"):
        build_neuron_model(dataclasses.replace(loaded, model=fake))


def test_missing_pooler_is_accepted(models) -> None:
    loaded = models["bert"][0]
    state = {key: value for key, value in loaded.model.base_model.state_dict().items() if not key.startswith("pooler.")}
    fake = SimpleNamespace(config=loaded.model.config, base_model=SimpleNamespace(state_dict=lambda: state))
    assert not build_neuron_model(dataclasses.replace(loaded, model=fake)).training


@pytest.mark.parametrize("name", ["bert", "gpt2"])
def test_long_input_is_capped(models, name: str) -> None:
    loaded, neuron_model = models[name]
    text = " ".join([SENTENCE] * 4)
    total = len(loaded.tokenizer.tokenize(text))
    view = neuron_view_html(loaded, neuron_model, text, max_tokens=10)
    assert (view.tokens_shown, view.tokens_total, view.capped) == (10, total, True)
    specials = 2 if name == "bert" else 0
    assert len(_params(view.html)["attention"]["all"]["left_text"]) == 10 + specials


def test_pair_is_capped_per_sentence(models) -> None:
    loaded, neuron_model = models["bert"]
    text_b = "she sat on the river bank and read a letter from her bank about a loan"
    total = len(loaded.tokenizer.tokenize(SENTENCE)) + len(loaded.tokenizer.tokenize(text_b))
    view = neuron_view_html(loaded, neuron_model, SENTENCE, text_b, max_tokens=8)
    assert (view.tokens_shown, view.tokens_total) == (8, total)
    attention = _params(view.html)["attention"]
    assert len(attention["aa"]["left_text"]) == 4 + 2 and len(attention["bb"]["left_text"]) == 4 + 1


def test_short_input_is_not_capped(models) -> None:
    loaded, neuron_model = models["bert"]
    view = neuron_view_html(loaded, neuron_model, "hello world")
    assert (view.tokens_shown, view.tokens_total, view.capped) == (2, 2, False)


@pytest.mark.parametrize("name", ["distilbert", "t5", "bart"])
def test_unsupported_family_is_explained(tiny: dict[str, LoadedModel], name: str) -> None:
    reason = neuron_view_support(tiny[name])
    assert reason and name in reason
    with pytest.raises(ValueError, match="only for BERT, RoBERTa and GPT-2"):
        build_neuron_model(tiny[name])


@pytest.mark.parametrize("name", ["bert", "roberta", "gpt2"])
def test_bertviz_families_are_supported_before_any_model_is_built(tiny: dict[str, LoadedModel], name: str) -> None:
    assert neuron_view_support(tiny[name]) is None


def test_the_family_table_names_exactly_the_families_bertviz_reimplements() -> None:
    claimed = {facts.neuron_view for facts in FAMILIES.values()} - {None}
    assert claimed == set(SPECIAL_TOKENS) == {"bert", "roberta", "gpt2"}


def test_non_standard_gpt2_scaling_is_explained(models) -> None:
    loaded = models["gpt2"][0]
    config = loaded.model.config.__class__(**loaded.model.config.to_dict() | {"scale_attn_by_inverse_layer_idx": True})
    reason = neuron_view_support(dataclasses.replace(loaded, model=SimpleNamespace(config=config)))
    assert reason and "scales its attention" in reason


@pytest.fixture(scope="module")
def payload_model(tiny_folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """A tiny BERT whose vocabulary holds each payload as one token, so bertviz's JSON carries it verbatim."""
    folder = tmp_path_factory.mktemp("payload")
    tokenizer = AutoTokenizer.from_pretrained(tiny_folders["bert"])
    tokenizer.add_tokens(list(PAYLOADS))
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=SIZES["hidden"],
        num_hidden_layers=SIZES["layers"],
        num_attention_heads=SIZES["heads"],
        intermediate_size=SIZES["intermediate"],
        max_position_embeddings=SIZES["positions"],
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    loaded = load_model(str(folder), device="cpu")
    return loaded, build_neuron_model(loaded)


@pytest.mark.parametrize("text_b", [None, "she sat on the bank"])
def test_html_payloads_are_escaped(payload_model, text_b: str | None) -> None:
    loaded, neuron_model = payload_model
    text = f"hello {PAYLOADS[0]} world {PAYLOADS[1]}"
    assert set(PAYLOADS) <= set(loaded.tokenizer.tokenize(text))
    html = neuron_view_html(loaded, neuron_model, text, text_b).html
    # Every closing tag closes one of the script tags (jQuery's source mentions "<script" mid-line, never as a tag).
    opening_tags = re.findall(r"(?m)^<script[^>]*>$", html)
    assert html.count("</script>") == len(opening_tags) == offline_scripts().count("</script>") + 2
    assert all(payload not in html for payload in PAYLOADS)
    assert set(PAYLOADS) <= set(_params(html)["attention"]["all"]["left_text"])


def test_html_is_offline(models) -> None:
    loaded, neuron_model = models["gpt2"]
    html = neuron_view_html(loaded, neuron_model, SENTENCE, layer=1, head=3).html
    assert CDN_REQUIRE_TAG not in html and offline_scripts() in html
    params = _params(html)
    assert (params["layer"], params["head"], params["bidirectional"]) == (1, 3, False)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("bert", {"text": "   "}, "empty"),
        ("gpt2", {"text": SENTENCE, "text_b": "a second text"}, "one text only"),
        ("bert", {"text": SENTENCE, "layer": 2}, "layer must be in"),
        ("bert", {"text": SENTENCE, "head": -1}, "layer must be in"),
        ("bert", {"text": SENTENCE, "max_tokens": 0}, "max_tokens"),
        ("bert", {"text": SENTENCE, "max_tokens": 1000}, "max_tokens"),
    ],
)
def test_bad_arguments_raise(models, name: str, kwargs: dict, message: str) -> None:
    loaded, neuron_model = models[name]
    with pytest.raises(ValueError, match=message):
        neuron_view_html(loaded, neuron_model, **kwargs)


@pytest.mark.integration
def test_embedded_model_neuron_view(minilm: LoadedModel) -> None:
    view = neuron_view_html(minilm, build_neuron_model(minilm), "The bank raised its interest rates.", layer=5, head=11)
    assert offline_scripts() in view.html and CDN_REQUIRE_TAG not in view.html
    tokens = _params(view.html)["attention"]["all"]["left_text"]
    assert tokens == ["[CLS]", "the", "bank", "raised", "its", "interest", "rates", ".", "[SEP]"]
    assert (view.tokens_shown, view.tokens_total) == (7, 7)
