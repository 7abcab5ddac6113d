from __future__ import annotations

import numpy as np
import pytest

from xray.attention import compute_attention
from xray.attention_stats import STATISTICS, attention_rollout, head_statistics

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
