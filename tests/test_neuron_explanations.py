"""Neuron explanations: MLP activations read by hooks, records over a corpus, the paper's normalisation and
score, the offline baseline, and a neuron explained end to end on a tiny model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from xray.models.mlp import captured_mlp, mlp_modules, mlp_width
from xray.neurons.baseline import NOTHING, explain_baseline, simulate_baseline
from xray.neurons.records import build_records, find_records, text_activations
from xray.neurons.scoring import normalised, score
from xray.techniques.neuron_explanations import (
    BaselineExplainer,
    BaselineSimulator,
    NeuronRecordSet,
    Record,
    explain_layer,
    explain_neuron,
    neuron_records,
)


def test_activations_are_normalised_to_integers_0_to_10_against_the_maximum():
    np.testing.assert_array_equal(normalised(np.array([-1.0, 0.0, 0.55, 0.999, 1.0, 2.0]), 1.0), [0, 0, 5, 9, 10, 10])
    np.testing.assert_array_equal(normalised(np.array([-0.3, -0.1]), 0.0), [0, 0])  # never active: no division


def test_the_score_correlates_the_simulation_with_the_raw_activations_and_names_both_variance_ratios():
    # Raw activations, negatives included: the reference correlates against these, not their 0-10 scale.
    true = [np.array([-0.4, 0.3, 1.0]), np.array([-0.1, 0.05, 0.5, 0.12])]
    simulated = [np.array([1.0, 2.0, 9.0]), np.array([0.0, 1.0, 4.0, 0.0])]
    raw, predicted = np.concatenate(true), np.concatenate(simulated)
    scaled = np.minimum(10, np.floor(10 * np.maximum(raw, 0) / 1.0))  # the 0-10 scale, written out

    result = score(true, simulated, 1.0)
    assert result.correlation == pytest.approx(np.corrcoef(raw, predicted)[0, 1])
    assert abs(result.correlation - np.corrcoef(scaled, predicted)[0, 1]) > 0.01  # the 0-10 scale scores otherwise
    assert result.explained_variance == pytest.approx(1 - np.var(scaled - predicted) / np.var(scaled))  # centred
    assert result.r_squared == pytest.approx(1 - np.mean((scaled - predicted) ** 2) / np.mean(scaled**2))  # uncentred
    assert result.explained_variance != pytest.approx(result.r_squared)
    assert "centred explained variance" in result.summary() and "uncentred r²" in result.summary()
    with pytest.raises(ValueError, match="one simulated activation per token"):
        score(true, [np.zeros(3), np.zeros(2)], 1.0)


def test_a_constant_side_leaves_the_score_undefined_not_zero():
    true = [np.array([0.0, 0.3, 1.0]), np.array([0.2, 0.0, 0.5, 0.1])]
    flat = score(true, [np.zeros(3), np.zeros(4)], 1.0)
    assert np.isnan(flat.correlation) and not flat.defined and flat.constant == "simulated"
    assert "undefined" in flat.summary()
    both = score([np.zeros(3)], [np.zeros(3)], 1.0)
    assert np.isnan(both.correlation) and both.constant == "true and simulated"
    assert np.isnan(both.explained_variance) and np.isnan(both.r_squared)
    # Raw values that all floor to 0 on the 0-10 scale still vary: the reference computes a real correlation.
    faint, simulated = np.array([-0.3, -0.1, 0.04, 0.09]), np.array([0.0, 1.0, 2.0, 4.0])
    assert not normalised(faint, 1.0).any()
    assert score([faint], [simulated], 1.0).correlation == pytest.approx(np.corrcoef(faint, simulated)[0, 1])


def test_undefined_scores_are_left_out_of_the_histogram_and_counted():
    import pandas as pd

    from xray.rendering.neuron_charts import left_out, score_histogram, score_text

    table = pd.DataFrame(
        {
            "layer": [3, 3, 3, 3, 2],
            "neuron": [0, 1, 2, 3, 0],
            "explainer": ["baseline"] * 5,
            "top_and_random": [0.5, np.nan, 0.25, np.nan, np.nan],
        }
    )
    assert left_out(table, 3) == 2 and left_out(table, 2) == 1 and left_out(table, 0) == 0
    chart = score_histogram(table, 3).to_dict()
    values = chart["datasets"][chart["data"]["name"]]
    assert sorted(row["top_and_random"] for row in values) == [0.25, 0.5]
    assert score_text(np.nan) == "undefined" and score_text(0.904) == "0.90"


def test_the_baseline_lists_the_driving_tokens_and_simulates_from_that_text_alone():
    explanation = explain_baseline(
        [["The", " bank", "said"], ["bank", "River", "banks"]], [np.array([0, 8, 0]), np.array([6, 3, 0])]
    )
    assert explanation == 'tokens like "bank" (7.0), "river" (3.0)'
    np.testing.assert_array_equal(simulate_baseline(explanation, [" Bank", "river", "said", "banks"]), [7, 3, 0, 0])
    assert explain_baseline([["a", "b"]], [np.array([0, 0])]) == NOTHING
    assert not simulate_baseline(NOTHING, ["a"]).any()


def test_the_hooks_read_the_mlp_activation_after_the_nonlinearity_and_are_removed(tiny):
    loaded = tiny["bert"]
    encoding = loaded.tokenizer(["the bank of the river"], return_tensors="pt")
    intermediate = loaded.model.encoder.layer[1].intermediate
    seen = []
    handle = intermediate.register_forward_hook(lambda _module, _inputs, output: seen.append(output))
    try:
        with torch.inference_mode(), captured_mlp(loaded, [1]) as captured:
            loaded.model(**encoding)
    finally:
        handle.remove()
    torch.testing.assert_close(captured[1], seen[0])
    assert mlp_width(loaded) == captured[1].shape[-1] and not mlp_modules(loaded)[1]._forward_pre_hooks
    with pytest.raises(ValueError, match="cannot be read here"):
        mlp_modules(dataclasses.replace(loaded, model_type="mamba"))
    with pytest.raises(ValueError, match="Layer 7 does not exist"), captured_mlp(loaded, [7]):
        pass


def test_the_hooks_ignore_other_sessions_passes_on_the_shared_model(tiny):
    import threading

    loaded = tiny["bert"]
    encoding = loaded.tokenizer(["the bank of the river"], return_tensors="pt")
    with torch.inference_mode(), captured_mlp(loaded, [0]) as captured:
        other = threading.Thread(target=lambda: loaded.model(**loaded.tokenizer(["a b"], return_tensors="pt")))
        other.start()
        other.join()
        assert not captured  # another thread's pass, while our hooks were on
        loaded.model(**encoding)
    assert captured[0].shape[1] == encoding["input_ids"].shape[1]


@pytest.mark.parametrize("family", ["gpt2", "t5", "bart", "distilbert"])
def test_every_family_in_the_table_gives_one_activation_per_token_and_neuron(tiny, family):
    loaded = tiny[family]
    computed = text_activations(loaded, ["the bank of the river", "hello"], 0)
    assert [len(tokens) for tokens in computed.tokens] == [len(values) for values in computed.activations]
    assert computed.activations[0].shape[1] == mlp_width(loaded) and "bank" in "".join(computed.tokens[0])


def test_records_keep_each_texts_largest_activation_and_are_found_again(tiny, tmp_path):
    from tests.test_store import TEXTS, tiny_corpus

    loaded = tiny["bert"]
    records = build_records(loaded, tiny_corpus(), tmp_path, batch_size=3)
    manifest = records.manifest
    assert (manifest.texts, manifest.layers, manifest.neurons) == (len(TEXTS), 2, mlp_width(loaded))
    computed = text_activations(loaded, TEXTS, 1)
    expected = np.stack([values.max(axis=0) for values in computed.activations])
    np.testing.assert_allclose(records.maxima(1), expected, rtol=2e-3, atol=2e-3)  # float16 on disk
    top = records.top_texts(1, 5, 3)
    assert list(top) == list(np.argsort(-expected[:, 5], kind="stable")[:3])
    assert find_records(loaded, tiny_corpus(), tmp_path).manifest == manifest
    assert not set(records.random_texts(3, 0, top)) & set(top)
    with pytest.raises(ValueError, match="Neuron 999 does not exist"):
        records.top_texts(1, 999, 3)


def test_a_neuron_is_explained_simulated_and_scored_on_top_and_random_records(tiny, tmp_path):
    import pandas as pd

    from tests.test_store import TEXTS
    from xray.corpora.corpus import Corpus

    loaded = tiny["bert"]
    corpus = Corpus("bigger", pd.DataFrame({"text": [f"{text} number {i}" for i in range(3) for text in TEXTS]}))
    records = build_records(loaded, corpus, tmp_path)
    neuron = int(np.asarray(records.maxima(1)).max(axis=0).argmax())

    record_set = neuron_records(loaded, records, 1, neuron)
    result = explain_neuron(record_set, BaselineExplainer(), BaselineSimulator())

    assert [len(record_set.of_kind(kind)) for kind in ("explanation", "top")] == [5, 5]
    assert record_set.max_activation == pytest.approx(max(r.activations.max() for r in record_set.records))
    assert max(int(r.normalised.max()) for r in record_set.records) == 10
    scored_tokens = sum(len(item.record.tokens) for item in result.scored[:10])
    assert result.top_and_random.tokens == scored_tokens and -1 <= result.top_and_random.correlation <= 1
    assert result.explanation.startswith("tokens like") and "A " in result.verdict()
    assert set(result.table()["kind"]) == {"top", "random"} and '"neuron": ' in result.to_json()
    layer = explain_layer(loaded, records, 1, BaselineExplainer(), BaselineSimulator(), neurons=[0, neuron])
    assert list(layer["neuron"]) == [0, neuron]
    assert layer.loc[1, "top_and_random"] == pytest.approx(result.top_and_random.correlation, abs=1e-4)


def _bigger_records(loaded, folder):
    import pandas as pd

    from tests.test_store import TEXTS
    from xray.corpora.corpus import Corpus

    corpus = Corpus("bigger", pd.DataFrame({"text": [f"{text} number {i}" for i in range(6) for text in TEXTS]}))
    return build_records(loaded, corpus, folder)


def test_records_are_split_as_the_reference_splits_them_and_drawn_per_neuron(tiny, tmp_path):
    loaded = tiny["bert"]
    records = _bigger_records(loaded, tmp_path)
    maxima = np.asarray(records.maxima(1), dtype=np.float32)
    layer, first, second = 1, int(maxima.max(axis=0).argmax()), 0
    sets = {neuron: neuron_records(loaded, records, layer, neuron) for neuron in (first, second)}

    for neuron, record_set in sets.items():
        ranked = np.argsort(-maxima[:, neuron], kind="stable")[:20]  # the top 20, most active first
        chosen = {kind: [record.text_id for record in record_set.of_kind(kind)] for kind in ("explanation", "top")}
        assert chosen["explanation"] == [int(ranked[i]) for i in (0, 4, 8, 12, 16)]  # the train split
        assert chosen["top"] == [int(ranked[i]) for i in (2, 6, 10, 14, 18)]  # the valid split
        others = np.setdiff1d(np.arange(records.manifest.texts), ranked)
        drawn = np.random.default_rng((0, layer, neuron)).choice(others, size=10, replace=False)
        assert [record.text_id for record in record_set.of_kind("random")] == [int(i) for i in drawn]
    random_ids = [{record.text_id for record in sets[neuron].of_kind("random")} for neuron in (first, second)]
    assert random_ids[0] != random_ids[1]  # each neuron draws its own


def test_a_whole_layer_gives_row_for_row_what_each_neuron_gives_alone_and_reports_progress(tiny, tmp_path):
    import pandas as pd

    loaded = tiny["bert"]
    records = _bigger_records(loaded, tmp_path)
    steps = []
    rows = explain_layer(
        loaded, records, 1, BaselineExplainer(), BaselineSimulator(), progress=lambda *step: steps.append(step)
    )
    alone = []
    for neuron in range(records.manifest.neurons):
        record_set = neuron_records(loaded, records, 1, neuron)
        assert not record_set.never_active  # GELU neurons of a random model: each fires somewhere
        alone.append(explain_neuron(record_set, BaselineExplainer(), BaselineSimulator()).summary_row())
    pd.testing.assert_frame_equal(rows, pd.DataFrame(alone), check_exact=True)

    done, totals = [step[0] for step in steps], {step[1] for step in steps}
    (total,) = totals
    assert done == sorted(set(done)) and done[-1] == total > records.manifest.neurons  # texts run, then neurons
    assert any(step <= total - records.manifest.neurons for step in done)  # it moves during the forward pass too


def test_text_activations_can_keep_other_neurons_of_each_text(tiny):
    loaded = tiny["bert"]
    texts = ["the bank of the river", "hello", "a loan from the bank"]
    every = text_activations(loaded, texts, 1)
    kept = [np.array([3]), np.array([0, 5, 9]), np.array([], dtype=np.int64)]
    some = text_activations(loaded, texts, 1, text_neurons=kept)
    for index, columns in enumerate(kept):
        np.testing.assert_array_equal(some.activations[index], every.activations[index][:, columns])
    assert some.tokens == every.tokens and some.spans == every.spans
    with pytest.raises(ValueError, match="not both"):
        text_activations(loaded, texts, 1, neurons=np.array([0]), text_neurons=kept)
    with pytest.raises(ValueError, match="one entry per text"):
        text_activations(loaded, texts, 1, text_neurons=kept[:2])


def test_the_layer_estimate_is_a_forward_pass_over_the_union_plus_a_cost_per_neuron(tiny, tmp_path):
    from xray.techniques.neuron_explanations import estimate_layer

    loaded = tiny["bert"]
    records = _bigger_records(loaded, tmp_path)
    estimate = estimate_layer(loaded, records, 1, BaselineExplainer(), BaselineSimulator(), timed_texts=20)
    assert estimate.neurons == records.manifest.neurons and estimate.timed_neurons == 6
    assert estimate.timed_texts == 20 < estimate.texts <= records.manifest.texts
    parts = estimate.choosing_s + estimate.forward_s + estimate.neurons * estimate.per_neuron_s
    assert estimate.seconds == pytest.approx(parts)
    assert f"over the {estimate.texts:,} texts" in estimate.summary() and "timed on 6" in estimate.summary()


def test_a_layer_reports_an_undefined_score_as_nan_and_the_table_scores_raw_activations(tiny, tmp_path):
    loaded = tiny["bert"]
    records = _bigger_records(loaded, tmp_path)
    neuron = int(np.asarray(records.maxima(1)).max(axis=0).argmax())
    result = explain_neuron(neuron_records(loaded, records, 1, neuron), BaselineExplainer(), BaselineSimulator())
    mixed = result.scored[:5] + [item for item in result.scored if item.record.kind == "random"][:5]
    raw = np.concatenate([item.record.activations for item in mixed])
    predicted = np.concatenate([item.simulated for item in mixed])
    assert result.top_and_random.correlation == pytest.approx(np.corrcoef(raw, predicted)[0, 1])

    class Silent:
        name = "silent"

        def simulate(self, explanation: str, tokens: list[str]) -> np.ndarray:
            return np.zeros(len(tokens))

    silent = explain_neuron(neuron_records(loaded, records, 1, neuron), BaselineExplainer(), Silent())
    assert np.isnan(silent.top_and_random.correlation) and silent.verdict().startswith("No score")
    rows = explain_layer(loaded, records, 1, BaselineExplainer(), Silent(), neurons=[neuron])
    assert np.isnan(rows.loc[0, "top_and_random"]) and np.isnan(rows.loc[0, "random_only"])
    assert {"explained_variance_centred", "r_squared_uncentred"} <= set(rows.columns)


def test_the_most_active_neurons_come_strongest_first():
    from xray.techniques.neuron_explanations import most_active_neurons

    table = most_active_neurons(np.array([0.1, 2.0, -1.0, 0.7]), 2)
    assert table["neuron"].tolist() == [1, 3] and table["activation"].tolist() == [2.0, 0.7]


def test_a_neuron_that_never_activates_says_so():
    silent = Record(0, "explanation", "a", ["a"], [(0, 1)], np.array([-0.2]), np.array([0]))
    with pytest.raises(ValueError, match="never activates"):
        explain_neuron(NeuronRecordSet(0, 3, 0.0, [silent]), BaselineExplainer(), BaselineSimulator())


def test_the_command_line_computes_records_and_scores_a_layer(tiny_folders, tmp_path, capsys):
    import pandas as pd

    from tests.test_store import TEXTS
    from xray.__main__ import main
    from xray.corpora.corpus import Corpus
    from xray.neurons.saved import saved_explanations

    Corpus("bigger", pd.DataFrame({"text": [f"{text} number {i}" for i in range(3) for text in TEXTS]})).save(
        tmp_path / "corpus.parquet"
    )
    arguments = ["neurons", "--model", str(tiny_folders["bert"]), "--table", str(tmp_path / "corpus.parquet")]
    arguments += ["--cache-dir", str(tmp_path / "cache")]

    assert main([*arguments, "--explain-layer", "1"]) == 0
    folder = next(path for path in (tmp_path / "cache" / "neurons").iterdir() if not path.name.startswith("."))
    saved = saved_explanations(folder)
    assert set(saved["layer"]) == {1} and len(saved) == 37 and "layer 1: baseline score" in capsys.readouterr().out
    assert main([*arguments, "--explain-layer", "9"]) == 1
    assert "Layer 9 does not exist" in capsys.readouterr().err


def test_two_builders_of_the_same_records_at_once_both_get_them(tiny, tmp_path):
    import threading

    from tests.test_store import tiny_corpus

    results, errors = [], []

    def build() -> None:
        try:
            results.append(build_records(tiny["bert"], tiny_corpus(), tmp_path))
        except Exception as error:  # the test reports any failure
            errors.append(error)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len({result.folder for result in results}) == 1
    assert not [path for path in (tmp_path / "neurons").iterdir() if path.name.endswith(".partial")]


@pytest.mark.integration
def test_the_few_shot_examples_are_minilms_own_neurons_on_word_senses(minilm):
    from xray.corpora.builtin import load_builtin
    from xray.neurons.few_shot import FEW_SHOT_EXAMPLES

    corpus = load_builtin("Word senses").texts
    for example in FEW_SHOT_EXAMPLES:
        texts = [text for text in corpus if any(all(token in text for token in record) for record in example.tokens)]
        computed = text_activations(minilm, texts, example.layer, neurons=np.array([example.neuron]))
        found = [computed.tokens.index(list(record)) for record in example.tokens]  # each record is a corpus text
        raw = [computed.activations[index][:, 0] for index in found]
        peak = max(float(values.max()) for values in raw)  # each example against its own records' largest
        for values, shown in zip(raw, example.activations, strict=True):
            expected = np.minimum(10, np.floor(10 * np.maximum(values, 0) / peak))
            assert np.abs(expected - np.array(shown)).max() <= 1  # float noise may move a floor by one


def test_an_interrupted_records_pass_resumes_and_ends_as_an_uninterrupted_one(tiny, tmp_path):
    import numpy as np

    from tests.test_store import tiny_corpus
    from xray.neurons.records import records_status

    loaded, corpus = tiny["bert"], tiny_corpus()
    whole = build_records(loaded, corpus, tmp_path / "whole", batch_size=2)
    seen = []

    def interrupt(done: int, total: int, stage: str = "") -> None:
        seen.append(done)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_records(loaded, corpus, tmp_path / "resumed", batch_size=2, progress=interrupt)
    assert records_status(loaded, corpus, tmp_path / "resumed") is None  # no builder holds the lock now
    seen.clear()
    resumed = build_records(
        loaded, corpus, tmp_path / "resumed", batch_size=2, progress=lambda done, total, stage="": seen.append(done)
    )
    assert seen[0] == 6  # the two batches written before the interrupt were kept, not read again
    for layer in range(whole.manifest.layers):
        assert np.array_equal(resumed.maxima(layer), whole.maxima(layer))
    assert not [path for path in (tmp_path / "resumed" / "neurons").iterdir() if path.name.endswith(".partial")]


def test_saving_the_same_explanation_again_leaves_the_table_as_it_is(tmp_path):
    from xray.neurons.saved import EXPLANATIONS, save_explanations, saved_explanations

    row = {"layer": 1, "neuron": 2, "explainer": "baseline", "simulator": "baseline", "explanation": "x"}
    save_explanations(tmp_path, [row])
    save_explanations(tmp_path, [row])
    assert len((tmp_path / EXPLANATIONS).read_text().splitlines()) == 1
    save_explanations(tmp_path, [row | {"explanation": "y"}])
    assert saved_explanations(tmp_path)["explanation"].tolist() == ["y"]
