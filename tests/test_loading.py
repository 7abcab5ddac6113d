from __future__ import annotations

import pytest

from xray.models.families import FAMILIES, family_facts
from xray.models.loading import (
    EMBEDDED_MODEL,
    MAX_PARAMETERS_ENV,
    ModelLoadError,
    ModelTooLargeError,
    load_model,
    max_parameters_from_env,
)

EXPECTED_KIND = {
    "bert": "encoder",
    "roberta": "encoder",
    "distilbert": "encoder",
    "gpt2": "decoder",
    "t5": "encoder-decoder",
    "bart": "encoder-decoder",
}


@pytest.mark.parametrize("family", list(EXPECTED_KIND))
def test_tiny_models_load_in_eval_mode_with_eager_attention(tiny, family):
    loaded = tiny[family]
    assert loaded.family == EXPECTED_KIND[family]
    assert loaded.facts.known
    assert not loaded.model.training
    assert loaded.model.config._attn_implementation == "eager"
    assert not any(parameter.requires_grad for parameter in loaded.model.parameters())
    assert (loaded.num_layers, loaded.num_heads) == (2, 4)
    assert loaded.parameters == sum(parameter.numel() for parameter in loaded.model.parameters())


def test_task_heads_follow_the_saved_architecture(tiny):
    assert tiny["bert"].task_head == "none"
    assert tiny["gpt2"].task_head == "causal-lm"
    assert tiny["t5"].task_head == "seq2seq-lm"
    assert not tiny["bert"].has_mlm_head and not tiny["bert"].has_classification_head


def test_model_over_the_budget_is_refused_before_loading_weights(tiny_folders):
    with pytest.raises(ModelTooLargeError, match=MAX_PARAMETERS_ENV):
        load_model(str(tiny_folders["bert"]), max_parameters=1000)


def test_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(MAX_PARAMETERS_ENV, "2e9")
    assert max_parameters_from_env() == 2_000_000_000
    monkeypatch.setenv(MAX_PARAMETERS_ENV, "lots")
    with pytest.raises(ValueError, match="must be a number"):
        max_parameters_from_env()


def test_unknown_model_id_names_the_embedded_default():
    with pytest.raises(ModelLoadError, match="embedded default") as error:
        load_model("no-such-org/no-such-model-xray")
    assert EMBEDDED_MODEL in str(error.value)


def test_empty_model_name_is_refused():
    with pytest.raises(ModelLoadError, match="No model given"):
        load_model("  ")


def test_unknown_model_type_is_inferred_from_the_config_and_flagged():
    facts = family_facts("brand-new", is_encoder_decoder=False, architectures=["BrandNewForCausalLM"])
    assert facts.kind == "decoder" and not facts.known
    assert family_facts("other", is_encoder_decoder=True, architectures=[]).kind == "encoder-decoder"
    assert family_facts("bert", is_encoder_decoder=False, architectures=[]) is FAMILIES["bert"]


@pytest.mark.integration
def test_embedded_minilm_loads_offline(minilm):
    assert minilm.model_type == "bert"
    assert (minilm.num_layers, minilm.num_heads, minilm.hidden_size) == (6, 12, 384)
    assert minilm.max_length == 512
    assert not minilm.has_mlm_head


def test_random_weights_are_the_architecture_seeded_and_named_apart(tiny_folders):
    import torch

    from xray.models.loading import random_weights_name

    folder = str(tiny_folders["bert"])
    first, again = load_model(random_weights_name(folder, 1)), load_model(random_weights_name(folder, 1))
    other, trained = load_model(random_weights_name(folder, 2)), load_model(folder)
    weights = [dict(loaded.model.named_parameters()) for loaded in (first, again, other)]
    name = next(name for name in weights[0] if name.endswith("query.weight"))
    assert torch.equal(weights[0][name], weights[1][name]) and not torch.equal(weights[0][name], weights[2][name])
    assert first.name == f"random weights (seed 1) of {folder}" and first.name != trained.name
    assert first.num_layers == trained.num_layers and first.tokenizer.vocab == trained.tokenizer.vocab
    assert not first.model.training and first.model.config._attn_implementation == "eager"
    state = torch.random.get_rng_state()
    load_model(random_weights_name(folder, 3))
    assert torch.equal(state, torch.random.get_rng_state())  # the caller's random state is left alone
    with pytest.raises(ValueError, match="0 or more"):
        random_weights_name(folder, -1)
