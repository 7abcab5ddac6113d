"""Attention: weights and hidden states per family, summary statistics, rollout and their exports."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from xray.models.loading import load_model
from xray.techniques.attention import (
    STATISTICS,
    NoAttentionError,
    attention_rollout,
    compute_attention,
    head_statistics,
    rollout,
)

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


def test_results_export_as_table_json_and_npz(tiny):
    result = compute_attention(tiny["bert"], "the animal was tired", "she sat")
    payload = json.loads(result.to_json())
    assert payload["model"] == tiny["bert"].name and payload["tokens"] == result.tokens
    np.testing.assert_allclose(payload["blocks"]["self"]["attentions"], result.main.attentions, atol=1e-5)
    arrays = np.load(io.BytesIO(result.to_npz()))
    np.testing.assert_array_equal(arrays["self_attentions"], result.main.attentions)
    assert arrays["tokens"].tolist() == result.tokens
    table = result.table()
    assert (
        table["token"].tolist() == result.tokens and table["special"].tolist() == result.main.key_special_mask.tolist()
    )
    assert table["sentence"].tolist().index("B") == result.sentence_b_start
    t5 = compute_attention(tiny["t5"], "the animal", "she sat")
    assert set(np.load(io.BytesIO(t5.to_npz())).files) >= {"encoder_attentions", "cross_attentions"}


@pytest.mark.parametrize(("family", "position"), [("bert", 0), ("gpt2", -1), ("t5", 0)])
def test_the_summary_token_is_first_for_encoders_and_last_for_decoders(tiny, family, position):
    result = compute_attention(tiny[family], "the animal was tired")
    assert result.summary_position == range(len(result.tokens))[position]
    summary = rollout(result)
    assert summary.source == result.summary_position
    np.testing.assert_allclose(summary.from_source(1), summary.shares[1, result.summary_position])


# One layer, one head, three tokens; token 0 and 2 are special.
TOY = np.array([[[[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]]])
TOY_SPECIAL = np.array([True, False, True])


def test_statistics_match_a_hand_computation():
    stats = head_statistics(TOY, TOY_SPECIAL)
    row_entropies = [1.0, -(0.2 * np.log2(0.2) + 0.3 * np.log2(0.3) + 0.5 * np.log2(0.5)), 0.0]
    assert stats.entropy[0, 0] == pytest.approx(np.mean(row_entropies))
    assert stats.to_first[0, 0] == pytest.approx((0.5 + 0.2 + 1.0) / 3)
    assert stats.to_special[0, 0] == pytest.approx((0.5 + 0.7 + 1.0) / 3)
    assert stats.to_self[0, 0] == pytest.approx((0.5 + 0.3 + 0.0) / 3)
    assert stats.to_previous[0, 0] == pytest.approx((0.2 + 0.0) / 2)
    assert stats.to_next[0, 0] == pytest.approx((0.5 + 0.5) / 2)
    assert set(STATISTICS) == {name for name in stats.__dataclass_fields__}


def test_one_token_input_has_no_neighbours():
    stats = head_statistics(np.ones((2, 3, 1, 1)), np.array([False]))
    assert np.isnan(stats.to_previous).all() and np.isnan(stats.to_next).all()
    assert stats.to_self.shape == (2, 3)


def test_statistics_reject_bad_shapes_and_names():
    with pytest.raises(ValueError, match="self-attention"):
        head_statistics(np.ones((1, 1, 2, 3)), np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="special_mask"):
        head_statistics(TOY, np.zeros(4, dtype=bool))
    with pytest.raises(ValueError, match="Unknown statistic"):
        head_statistics(TOY, TOY_SPECIAL).get("bogus")


def test_rollout_of_one_layer_is_the_residual_mixed_attention():
    rollout = attention_rollout(TOY)
    np.testing.assert_allclose(rollout[0], 0.5 * np.eye(3) + 0.5 * TOY[0, 0])


def test_rollout_rows_sum_to_one_and_stay_causal_for_decoders(tiny):
    for family in ("bert", "gpt2"):
        block = compute_attention(tiny[family], "the animal was too tired to cross the street").main
        rollout = attention_rollout(block.attentions)
        assert rollout.shape == (2, *block.attentions.shape[-2:])
        np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=1e-6)
        if block.causal:
            assert np.allclose(np.triu(rollout, k=1), 0)


def test_rollout_multiplies_layers_bottom_up():
    rng = np.random.default_rng(0)
    attentions = rng.random((2, 2, 4, 4))
    attentions /= attentions.sum(-1, keepdims=True)
    mixed = [0.5 * np.eye(4) + 0.5 * layer.mean(0) for layer in attentions]
    np.testing.assert_allclose(attention_rollout(attentions)[1], mixed[1] @ mixed[0])


def test_rollout_rejects_a_bad_residual_weight():
    with pytest.raises(ValueError, match="residual_weight"):
        attention_rollout(TOY, residual_weight=1.5)


def test_statistics_table_has_one_row_per_head():
    stats = head_statistics(np.concatenate([TOY, TOY], axis=1), TOY_SPECIAL)
    table = stats.table()
    assert list(table.columns) == ["layer", "head", *STATISTICS]
    assert table[["layer", "head"]].values.tolist() == [[0, 0], [0, 1]]
    assert table["to_first"].tolist() == pytest.approx([stats.to_first[0, 0]] * 2)


def test_rollout_and_statistics_export(tiny):
    result = compute_attention(tiny["bert"], "the animal was tired")
    summary = rollout(result)
    table = summary.table()
    assert len(table) == summary.shares.shape[0] * len(result.tokens)
    assert table.groupby("layer")["share"].sum().to_numpy() == pytest.approx(np.ones(summary.shares.shape[0]))
    assert np.array(json.loads(summary.to_json())["shares"]).shape == summary.shares.shape
    with pytest.raises(ValueError, match="layer must be in"):
        summary.from_source(summary.shares.shape[0])
    stats = head_statistics(result.main.attentions, result.main.key_special_mask)
    stored = json.loads(stats.to_json())
    assert set(stored) == set(STATISTICS)
    np.testing.assert_allclose(stored["entropy"]["values"], stats.entropy)
