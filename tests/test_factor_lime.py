"""LIME on a transformer factor: lime's surrogate recovers planted effects, the code explained is the piece's
code in the full context, the piece is found again in every perturbed context, and bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xray.factors.dictionary import FactorDictionary, FactorQuality
from xray.factors.solver import FactorSettings
from xray.techniques.factor_lime import explain_factor
from xray.techniques.lime_explain import fit_surrogate, perturbation_masks

TEXT = "The old bank by the river sent a letter, and the bank manager smiled."


def random_dictionary(hidden: int, levels: int, factors: int = 16, seed: int = 0) -> FactorDictionary:
    atoms = np.random.default_rng(seed).normal(size=(factors, hidden)).astype(np.float32)
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    quality = FactorQuality((0.5,) * levels, 3.0, 0.0)
    settings = FactorSettings(factors=factors, sparsity=0.02)
    return FactorDictionary(atoms, np.ones((levels, factors)), settings, quality, "tiny", "r", 0.0)


def piece_state(loaded, text: str, target: tuple[int, int], level: int) -> np.ndarray:
    encoding = loaded.tokenizer(text, return_offsets_mapping=True, return_tensors="pt")
    position = [tuple(span) for span in encoding.pop("offset_mapping")[0].tolist()].index(target)
    with torch.inference_mode():
        states = loaded.model(**encoding, output_hidden_states=True).hidden_states
    return states[level][0, position].numpy()


def test_the_surrogate_recovers_a_planted_linear_effect():
    kept = perturbation_masks(12, 2_000, seed=3)
    outputs = 0.2 + 0.5 * kept[:, 2] - 0.3 * kept[:, 7]

    surrogate = fit_surrogate(kept, outputs, num_features=4, seed=0)

    assert list(surrogate.features[:2]) == [2, 7]
    np.testing.assert_allclose(surrogate.weights[:2], [0.5, -0.3], atol=0.02)
    assert surrogate.score > 0.99 and surrogate.local_prediction == pytest.approx(0.4, abs=0.02)
    assert kept[0].all() and (kept[1:].sum(axis=1) < 12).all()  # the full input first, every other one loses a word


@pytest.mark.parametrize("family", ["bert", "gpt2"])
def test_the_explained_code_is_the_pieces_code_and_every_context_finds_the_piece(tiny, family):
    loaded = tiny[family]
    levels = loaded.model.config.num_hidden_layers + 1 if family == "bert" else loaded.model.config.n_layer + 1
    dictionary = random_dictionary(loaded.model.config.hidden_size, levels)
    encoding = loaded.tokenizer(TEXT, return_offsets_mapping=True)
    word_start = TEXT.index("manager")
    target = next(tuple(span) for span in encoding["offset_mapping"] if span[0] <= word_start < span[1])
    direct = dictionary.codes(piece_state(loaded, TEXT, target, 1)[None])[0]
    factor = int(direct.argmax())

    result = explain_factor(loaded, dictionary, TEXT, target, 1, factor, num_samples=300, num_features=5)

    assert result.code == pytest.approx(float(direct[factor]), rel=1e-3, abs=1e-5) and result.code > 0
    assert result.unmatched == 0 and 1 < result.distinct_texts <= 300
    assert result.target_word == (word_start, word_start + len("manager"))
    assert "manager" not in result.words and len(result.words) == 5
    assert [TEXT[start:end] for start, end, _ in result.spans][:3] == ["The", "old", "bank"]
    assert sum(weight is not None for _, _, weight in result.spans) == 5
    assert f"Factor {factor}'s code" in result.fit_summary() and '"unmatched": 0' in result.to_json()


def test_bad_input_is_refused_with_a_reason(tiny):
    loaded = tiny["bert"]
    dictionary = random_dictionary(loaded.model.config.hidden_size, loaded.model.config.num_hidden_layers + 1)
    start = TEXT.index("river")
    with pytest.raises(ValueError, match="Factor 16 does not exist"):
        explain_factor(loaded, dictionary, TEXT, (start, start + 5), 1, 16)
    with pytest.raises(ValueError, match="Level 9 does not exist"):
        explain_factor(loaded, dictionary, TEXT, (start, start + 5), 9, 0)
    with pytest.raises(ValueError, match="outside the context"):
        explain_factor(loaded, dictionary, TEXT, (start, 500), 1, 0)
    with pytest.raises(ValueError, match="No piece of"):
        explain_factor(loaded, dictionary, TEXT, (start, start + 2), 1, 0)
    with pytest.raises(ValueError, match="nothing for LIME to remove"):
        explain_factor(loaded, dictionary, "bank", (0, 4), 1, 0)
    with pytest.raises(ValueError, match="num_samples"):
        explain_factor(loaded, dictionary, TEXT, (start, start + 5), 1, 0, num_samples=5)
