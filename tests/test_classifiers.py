from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.doubles import PlantedWordClassifier, random_head
from tests.tiny_models import tiny_bert_classifier
from xray.__main__ import main as cli
from xray.corpora.bbc_news import LabelledTexts, load_bbc_news
from xray.models.batching import InferenceSettings, run_batched
from xray.models.classifiers import (
    TOPIC_EXAMPLE,
    ClassifierSpec,
    EmbeddingHeadClassifier,
    LinearHead,
    Prediction,
    SequenceClassifier,
    ZeroShotClassifier,
    build_classifier,
    parse_class_descriptions,
    predict,
    sentence_embeddings,
    topic_classifier,
)
from xray.models.loading import EMBEDDED_MODEL, load_model
from xray.models.train_head import held_out_accuracy, split_indices

TEXTS = ["the animal was tired", "she sat on the bank", "the animal was tired", "a big trophy", "keys"]


def _random_head(hidden: int, classes: int = 3) -> LinearHead:
    generator = np.random.default_rng(0)
    return LinearHead(
        weights=generator.normal(size=(classes, hidden)).astype(np.float32),
        bias=generator.normal(size=classes).astype(np.float32),
        class_names=tuple(f"class {index}" for index in range(classes)),
        max_tokens=32,
    )


@pytest.fixture(scope="module")
def bert_classifier(tiny):
    return EmbeddingHeadClassifier("tiny", tiny["bert"], _random_head(32))


def test_batched_probabilities_equal_one_text_at_a_time(bert_classifier):
    together = bert_classifier.predict_proba(TEXTS)
    alone = np.concatenate([bert_classifier.predict_proba([text]) for text in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    np.testing.assert_allclose(together.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(together[0], together[2])


def test_embeddings_match_a_plain_mean_pool(tiny):
    loaded = tiny["bert"]
    encoding = loaded.tokenizer(["she sat on the bank"], return_tensors="pt")
    with torch.inference_mode():
        hidden = loaded.model(**encoding).last_hidden_state[0]
    expected = torch.nn.functional.normalize(hidden.mean(0), dim=0).numpy()
    np.testing.assert_allclose(sentence_embeddings(loaded, ["she sat on the bank"])[0], expected, atol=1e-6)


def test_duplicates_run_once_and_progress_counts_distinct_texts(tiny):
    calls, reports = [], []

    def forward(batch):
        calls.append(batch["input_ids"].shape[0])
        return batch["attention_mask"].sum(dim=1, keepdim=True).float()

    lengths = run_batched(tiny["bert"], TEXTS, forward, InferenceSettings(batch_size=2), lambda *r: reports.append(r))
    assert sum(calls) == 4 and max(calls) == 2
    assert reports[-1] == (4, 4)
    assert lengths[:, 0].tolist() == [6.0, 7.0, 6.0, 5.0, 3.0]


def test_run_batched_rejects_bad_input(tiny):
    with pytest.raises(ValueError, match="No texts"):
        run_batched(tiny["bert"], [], lambda batch: batch["input_ids"])
    with pytest.raises(ValueError, match="not one string"):
        run_batched(tiny["bert"], "a text", lambda batch: batch["input_ids"])
    with pytest.raises(ValueError, match="batch_size"):
        InferenceSettings(batch_size=0)


def test_bf16_autocast_stays_close_to_float32(tiny):
    head = _random_head(32)
    exact = EmbeddingHeadClassifier("fp32", tiny["bert"], head).predict_proba(TEXTS)
    fast = EmbeddingHeadClassifier("bf16", tiny["bert"], head, InferenceSettings(bf16=True)).predict_proba(TEXTS)
    assert np.abs(exact - fast).max() < 0.05


def test_head_round_trips_through_a_file_and_checks_shapes(tmp_path, tiny):
    head = _random_head(32)
    head.save(tmp_path / "head.npz")
    loaded = LinearHead.load(tmp_path / "head.npz")
    np.testing.assert_array_equal(loaded.weights, head.weights)
    assert loaded.class_names == head.class_names and loaded.max_tokens == 32
    with pytest.raises(ValueError, match="biases and class names"):
        LinearHead(np.zeros((2, 4)), np.zeros(3), ("a", "b"), 8)
    with pytest.raises(ValueError, match="trained on another encoder"):
        EmbeddingHeadClassifier("wrong width", tiny["bert"], _random_head(16))


@pytest.mark.parametrize(
    ("raw", "message"),
    [("", "at least two"), ("sport", "at least two"), ("sport\n\n", "at least two"), ("sport\nart\nsport", "repeated")],
)
def test_class_descriptions_need_two_distinct_classes(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_class_descriptions(raw)
    assert parse_class_descriptions(" sport \n\n art ") == ("sport", "art")


def test_zero_shot_gives_a_distribution_over_the_descriptions(tiny):
    classifier = ZeroShotClassifier("zero-shot", tiny["bert"], ("animal", "bank"))
    probabilities = classifier.predict_proba(TEXTS)
    assert probabilities.shape == (5, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="encoder"):
        ZeroShotClassifier("zero-shot", tiny["gpt2"], ("a", "b"))


def test_sequence_classifier_uses_the_models_own_head(tmp_path, tiny):
    loaded = load_model(str(tiny_bert_classifier(tmp_path / "classifier")))
    classifier = SequenceClassifier("tiny classifier", loaded)
    assert classifier.class_names == ("negative", "positive")
    encoding = loaded.tokenizer(["the animal was tired"], return_tensors="pt")
    with torch.inference_mode():
        expected = torch.softmax(loaded.model(**encoding).logits, dim=-1).numpy()
    np.testing.assert_allclose(classifier.predict_proba(["the animal was tired"]), expected, atol=1e-6)


def test_a_model_without_a_classification_head_is_refused_clearly(tiny):
    with pytest.raises(ValueError, match="no sequence-classification head"):
        SequenceClassifier("gpt2", tiny["gpt2"])


def test_a_spec_builds_the_classifier_it_names(tmp_path, tiny):
    bert = tiny["bert"]
    spec = ClassifierSpec.choose("zero-shot", bert.name, "animal\nbank", bf16=True)
    assert spec == ClassifierSpec("zero-shot", bert.name, ("animal", "bank"), True) and hash(spec)
    zero_shot = build_classifier(spec, bert)
    assert isinstance(zero_shot, ZeroShotClassifier) and zero_shot.class_names == ("animal", "bank")
    assert zero_shot.settings.bf16 and "weak baseline" in zero_shot.description and zero_shot.example is None
    loaded = load_model(str(tiny_bert_classifier(tmp_path / "classifier")))
    own = build_classifier(ClassifierSpec.choose("model", loaded.name), loaded)
    assert isinstance(own, SequenceClassifier) and "negative, positive" in own.description
    assert ClassifierSpec.choose("topic", bert.name).model_name == EMBEDDED_MODEL


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("sentiment", "m"), "Unknown classifier kind"),
        (("topic", "bert-base-uncased"), "trained on"),
        (("zero-shot", "m", ("only one",)), "at least two"),
    ],
)
def test_a_bad_spec_is_refused_clearly(arguments, message):
    with pytest.raises(ValueError, match=message):
        ClassifierSpec(*arguments)


def test_a_spec_runs_only_on_its_own_model(tiny):
    with pytest.raises(ValueError, match="runs on"):
        build_classifier(ClassifierSpec("model", "another model"), tiny["bert"])


def test_a_prediction_says_when_the_text_is_far_from_every_class(tiny):
    sure = predict(PlantedWordClassifier(tiny["bert"]), "the animal")
    assert sure.top_index == 0 and not sure.unsure and sure.summary() == "animal (90%)"
    unsure = Prediction("text", ("a", "b", "c"), np.array([0.45, 0.35, 0.2]))
    assert unsure.unsure and unsure.top_probability == pytest.approx(0.45)


def test_split_is_stratified_and_reproducible():
    labels = [0] * 50 + [1] * 50
    train, test = split_indices(labels, seed=0)
    _, again_test = split_indices(labels, seed=0)
    assert len(test) == 20 and sorted([*train, *test]) == list(range(100))
    np.testing.assert_array_equal(test, again_test)
    assert sum(labels[index] for index in test) == 10
    with pytest.raises(ValueError, match="test_fraction"):
        split_indices(labels, seed=0, test_fraction=1.0)


def test_train_head_command_writes_a_usable_head(tmp_path, tiny_folders, capsys, monkeypatch):
    full = load_bbc_news(200, distinct=True)
    keep = [index for index, label in enumerate(full.labels) if full.labels[:index].count(label) < 12]
    few = LabelledTexts(
        [full.texts[index] for index in keep], [full.labels[index] for index in keep], full.class_names, []
    )
    monkeypatch.setattr("xray.models.train_head.load_bbc_news", lambda max_chars, distinct: few)
    out = tmp_path / "head.npz"
    assert cli(["train-head", "--model", str(tiny_folders["bert"]), "--out", str(out)]) == 0
    head = LinearHead.load(out)
    assert head.class_names == ("business", "entertainment", "politics", "sports", "tech")
    assert head.weights.shape == (5, 32)
    assert (head.metadata["train_size"], head.metadata["test_size"]) == (48, 12)
    assert "held-out accuracy" in capsys.readouterr().out


@pytest.mark.integration
def test_shipped_topic_head_reaches_095_held_out_accuracy(minilm):
    classifier = topic_classifier(minilm)
    metadata = classifier.head.metadata
    data = load_bbc_news(metadata["max_chars"], distinct=True)
    accuracy = held_out_accuracy(classifier, data, metadata["seed"])
    assert accuracy >= 0.95
    assert accuracy == pytest.approx(metadata["held_out_accuracy"], abs=1 / metadata["test_size"])


@pytest.mark.integration
def test_the_topic_heads_example_is_in_its_domain_and_other_heads_have_none(minilm, tiny):
    classifier = topic_classifier(minilm)
    prediction = predict(classifier, classifier.example)
    assert classifier.example == TOPIC_EXAMPLE and not prediction.unsure
    assert classifier.class_names[prediction.top_index] == "sports"
    assert random_head(tiny["bert"]).example is None


def test_a_page_opens_on_the_models_own_head_else_the_topic_head(tiny, tmp_path):
    from xray.models.classifiers import default_kind

    assert not tiny["bert"].has_classification_head and default_kind(tiny["bert"]) == "topic"
    headed = load_model(str(tiny_bert_classifier(tmp_path / "classifier")))
    assert headed.has_classification_head and default_kind(headed) == "model"
