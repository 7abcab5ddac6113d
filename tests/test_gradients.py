"""Gradient attributions (xray/techniques/gradients.py): equal to captum's plain recipe, complete, and a planted
word found; on tiny random models, then on the embedded classifier."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from captum.attr import LayerGradientXActivation, LayerIntegratedGradients

from tests.doubles import PlantedWordClassifier, SmoothPlantedClassifier, random_head
from tests.tiny_models import tiny_bert_classifier
from xray.models.classifiers import (
    SequenceClassifier,
    ZeroShotClassifier,
    mean_pooled,
    topic_classifier,
)
from xray.models.loading import load_model
from xray.techniques.gradients import (
    GRADIENT_NORM,
    GRADIENT_X_INPUT,
    INTEGRATED_GRADIENTS,
    encode,
    explain_gradients,
)

TEXT = "the animal was tired because it ran by the bank"


def _head_from_ids(classifier):
    """The random head's probabilities from token ids, written out as a captum user would."""
    encoder = classifier.loaded.model.base_model
    weights, bias = torch.from_numpy(classifier.head.weights), torch.from_numpy(classifier.head.bias)

    def forward(input_ids, attention_mask):
        hidden = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return torch.softmax(mean_pooled(hidden, attention_mask) @ weights.T + bias, dim=-1)

    return forward


def _plain_captum(classifier, text, index, steps):
    """The usual recipe: LayerIntegratedGradients and LayerGradientXActivation on the word-embedding layer."""
    encoded = encode(classifier, text)
    forward = _head_from_ids(classifier)
    layer = classifier.loaded.model.get_input_embeddings()
    with torch.enable_grad():
        integrated, delta = LayerIntegratedGradients(forward, layer).attribute(
            encoded.input_ids,
            baselines=encoded.baseline_ids,
            target=index,
            additional_forward_args=(encoded.attention_mask,),
            n_steps=steps,
            return_convergence_delta=True,
        )
        times_input = LayerGradientXActivation(forward, layer).attribute(
            encoded.input_ids, target=index, additional_forward_args=(encoded.attention_mask,)
        )
    return integrated.sum(-1)[0].detach().numpy(), times_input.sum(-1)[0].detach().numpy(), float(delta[0])


@pytest.mark.parametrize("steps, batch", [(20, None), (50, 7)])
def test_integrated_gradients_equal_the_plain_captum_recipe(tiny, steps, batch):
    classifier = random_head(tiny["bert"])
    ours = explain_gradients(classifier, TEXT, class_index=1, steps=steps, internal_batch_size=batch)
    integrated, times_input, delta = _plain_captum(classifier, TEXT, 1, steps)
    np.testing.assert_allclose(ours.values[INTEGRATED_GRADIENTS], integrated, atol=1e-5)
    np.testing.assert_allclose(ours.values[GRADIENT_X_INPUT], times_input, atol=1e-5)
    assert ours.delta == pytest.approx(delta, abs=1e-5) and ours.internal_batch_size == (batch or steps)


def test_the_baseline_keeps_special_tokens_and_masks_every_piece(tiny):
    classifier = random_head(tiny["bert"])
    encoded = encode(classifier, TEXT)
    tokenizer = classifier.loaded.tokenizer
    baseline = tokenizer.convert_ids_to_tokens(encoded.baseline_ids[0].tolist())
    assert baseline[0] == tokenizer.cls_token and baseline[-1] == tokenizer.sep_token
    assert set(baseline[1:-1]) == {tokenizer.mask_token}


def test_a_planted_word_gets_the_top_attribution(tiny):
    result = explain_gradients(SmoothPlantedClassifier(tiny["bert"]), TEXT)
    assert result.class_name == "animal"
    for method in (INTEGRATED_GRADIENTS, GRADIENT_X_INPUT):  # the norm is the same at every piece here
        assert result.top_word(method) == "animal", result.word_table()
    assert result.complete and "complete" in result.verdict()


def test_integrated_gradients_are_complete_and_say_so_when_not(tiny):
    result = explain_gradients(random_head(tiny["bert"], scale=20.0), TEXT, steps=50)
    total = result.values[INTEGRATED_GRADIENTS].sum()
    assert total == pytest.approx(result.probability - result.baseline_probability, abs=1e-3)
    assert result.complete
    short = dataclasses.replace(result, delta=0.05)
    assert not short.complete and "raise the steps" in short.verdict()
    assert abs(result.word_values[INTEGRATED_GRADIENTS].sum() - total) < 1e-9  # every piece lands on a word


@pytest.mark.parametrize("kind", ["head", "zero-shot", "sequence"])
def test_every_classifier_kinds_differentiable_path_gives_its_probabilities(tiny, tmp_path, kind):
    if kind == "head":
        classifier = random_head(tiny["bert"])
    elif kind == "zero-shot":
        classifier = ZeroShotClassifier("zero-shot", tiny["bert"], ("animal", "bank"))
    else:
        classifier = SequenceClassifier("tiny", load_model(str(tiny_bert_classifier(tmp_path / "classifier"))))
    encoded = encode(classifier, TEXT)
    with torch.no_grad():
        embedded = classifier.loaded.model.get_input_embeddings()(encoded.input_ids)
        probabilities = classifier.differentiable_proba(embedded, encoded.attention_mask).numpy()
    np.testing.assert_allclose(probabilities, classifier.predict_proba([TEXT]), atol=1e-5)


def test_a_classifier_without_a_differentiable_path_is_named(tiny):
    with pytest.raises(ValueError, match="no differentiable path"):
        explain_gradients(PlantedWordClassifier(tiny["bert"]), TEXT)


def test_bad_settings_are_refused(tiny):
    classifier = random_head(tiny["bert"])
    with pytest.raises(ValueError, match="steps"):
        explain_gradients(classifier, TEXT, steps=0)
    with pytest.raises(ValueError, match="class_index"):
        explain_gradients(classifier, TEXT, class_index=9)


def test_exports_carry_every_method(tiny):
    result = explain_gradients(random_head(tiny["bert"]), TEXT)
    assert list(result.table().columns[-3:]) == [INTEGRATED_GRADIENTS, GRADIENT_X_INPUT, GRADIENT_NORM]
    assert '"convergence_delta"' in result.to_json() and len(result.word_table()) == len(TEXT.split())


@pytest.mark.integration
def test_the_embedded_classifier_equals_the_recipe_and_is_complete(minilm):
    classifier = topic_classifier(minilm)
    text = "The referee sent off the captain and the crowd booed as the team lost the final."
    ours = explain_gradients(classifier, text, steps=50)
    integrated, _, _ = _plain_captum(classifier, text, ours.class_index, 50)
    np.testing.assert_allclose(ours.values[INTEGRATED_GRADIENTS], integrated, atol=1e-5)
    assert ours.class_name == "sports" and ours.complete
