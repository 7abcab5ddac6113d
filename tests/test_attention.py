from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from xray.attention import NoAttentionError, compute_attention
from xray.loading import load_model

SENTENCE = "The animal didn't cross the street because it was too tired."


@pytest.mark.parametrize("family", ["bert", "roberta", "distilbert", "gpt2", "t5", "bart"])
def test_every_attention_row_sums_to_one(tiny, family):
    result = compute_attention(tiny[family], SENTENCE)
    for block in result.blocks.values():
        layers, heads, queries, keys = block.attentions.shape
        assert (layers, heads) == (2, 4)
        assert (queries, keys) == (len(block.query_tokens), len(block.key_tokens))
        np.testing.assert_allclose(block.attentions.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("family", ["gpt2", "t5"])
def test_causal_attention_is_zero_above_the_diagonal(tiny, family):
    result = compute_attention(tiny[family], SENTENCE)
    causal = [block for block in result.blocks.values() if block.causal]
    assert causal, "a decoder stack must be marked causal"
    for block in causal:
        upper = np.triu(np.ones(block.attentions.shape[-2:], dtype=bool), k=1)
        assert np.all(block.attentions[..., upper] == 0)


def test_encoder_attention_is_not_causal(tiny):
    block = compute_attention(tiny["bert"], SENTENCE).main
    upper = np.triu(np.ones(block.attentions.shape[-2:], dtype=bool), k=1)
    assert not block.causal and block.attentions[..., upper].sum() > 0


def test_hidden_states_match_a_plain_forward_pass(tiny):
    loaded = tiny["bert"]
    result = compute_attention(loaded, SENTENCE)
    ids = loaded.tokenizer(SENTENCE, return_tensors="pt")
    with torch.inference_mode():
        expected = loaded.model(**ids).last_hidden_state[0].numpy()
    assert result.hidden_states.shape == (3, len(result.tokens), 32)
    np.testing.assert_allclose(result.hidden_states[-1], expected, atol=1e-5)


def test_sentence_pair_marks_where_the_second_sentence_starts(tiny):
    result = compute_attention(tiny["bert"], "the animal was tired", "it sat on the bank")
    assert result.tokens[result.sentence_b_start - 1] == "[SEP]"
    assert result.tokens[result.sentence_b_start] == "it"
    assert compute_attention(tiny["bert"], "the animal was tired").sentence_b_start is None


def test_encoder_decoder_gives_encoder_decoder_and_cross_attention(tiny):
    result = compute_attention(tiny["t5"], "the animal was tired", "she sat on the bank")
    assert list(result.blocks) == ["encoder", "decoder", "cross"]
    cross = result.blocks["cross"]
    assert cross.attentions.shape[-2:] == (len(result.blocks["decoder"].query_tokens), len(result.tokens))
    assert cross.key_tokens == result.tokens
    assert result.blocks["decoder"].query_tokens[0] == tiny["t5"].tokenizer.convert_ids_to_tokens(0)


def test_special_tokens_are_marked_but_unknown_ones_are_not(tiny):
    result = compute_attention(tiny["bert"], "the animal 😀")
    marked = [token for token, special in zip(result.tokens, result.main.key_special_mask, strict=True) if special]
    assert marked == ["[CLS]", "[SEP]"]
    assert "[UNK]" in result.tokens
    assert any("unknown to this tokenizer" in notice for notice in result.notices)


def test_long_input_is_truncated_to_the_model_maximum_and_says_so(tiny):
    loaded = tiny["bert"]
    result = compute_attention(loaded, " ".join(["animal"] * 200))
    assert len(result.tokens) == loaded.max_length == 64
    assert result.truncated and result.token_count == 202
    assert any("reads at most 64" in notice for notice in result.notices)


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_refused(tiny, text):
    with pytest.raises(ValueError, match="empty"):
        compute_attention(tiny["bert"], text)


@pytest.mark.parametrize(
    "text",
    ["東京は大きい都市です", "الحيوان لم يعبر الشارع", "the animal 🐶🐱 was tired", "the\x00 animal\x07 was\x1b tired"],
)
def test_unusual_scripts_and_control_characters_still_give_attention(tiny, text):
    for family in ("bert", "gpt2"):
        result = compute_attention(tiny[family], text)
        np.testing.assert_allclose(result.main.attentions.sum(-1), 1.0, atol=1e-5)


def test_model_loaded_without_eager_attention_gives_a_clear_error(tiny_folders):
    loaded = load_model(str(tiny_folders["bert"]))
    sdpa = type(loaded.model).from_pretrained(str(tiny_folders["bert"]), attn_implementation="sdpa").eval()
    with pytest.raises(NoAttentionError, match="no attention weights"):
        compute_attention(replace(loaded, model=sdpa), SENTENCE)


@pytest.mark.integration
def test_minilm_attention_on_a_real_sentence(minilm):
    result = compute_attention(minilm, SENTENCE)
    assert result.tokens[0] == "[CLS]" and result.tokens[-1] == "[SEP]"
    assert result.main.attentions.shape == (6, 12, len(result.tokens), len(result.tokens))
    np.testing.assert_allclose(result.main.attentions.sum(-1), 1.0, atol=1e-5)
    assert not result.notices
