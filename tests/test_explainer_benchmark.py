"""The explainers over many texts: ferret's faithfulness per text, the run's summaries, resuming, saving."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.doubles import PlantedWordClassifier, SmoothPlantedClassifier
from xray.explainer_benchmark.faithfulness import perturbations
from xray.explainer_benchmark.run import CHUNK, ExplainedText, explain_texts
from xray.explainer_benchmark.summary import ExplainerBenchmark, bootstrap_interval, load_benchmark
from xray.techniques.compare import RANDOM
from xray.techniques.gradients import GRADIENT_X_INPUT, INTEGRATED_GRADIENTS
from xray.words import split_words

TEXTS = ["the animal was very tired", "the street was quiet", "the animal was tired", "it was tired"]
BUDGETS = {"max_evals": 60, "num_samples": 100, "steps": 16}


@pytest.fixture(scope="module")
def smooth_run(tiny):
    return explain_texts(
        SmoothPlantedClassifier(tiny["bert"]), TEXTS, ["animal", "other", "animal", "other"], **BUDGETS
    )


def test_each_text_is_scored_as_ferret_scores_its_methods(tiny, smooth_run):
    classifier = SmoothPlantedClassifier(tiny["bert"])
    first = smooth_run[0]
    assert first.class_name == "animal" and first.label == "animal"
    assert list(first.scores)[:4] == ["SHAP", "LIME", INTEGRATED_GRADIENTS, GRADIENT_X_INPUT]
    assert set(first.comprehensiveness) == {*first.scores, RANDOM}
    words = split_words(first.text)
    for method in ("SHAP", INTEGRATED_GRADIENTS):  # recomputed alone, the text by itself: the same AOPC
        made = perturbations(first.text, words, first.scores[method])
        probabilities = classifier.predict_proba([first.text, *made.texts])[:, first.class_index]
        expected = made.aopc(float(probabilities[0]), probabilities[1:])
        assert (first.comprehensiveness[method], first.sufficiency[method]) == pytest.approx(expected, abs=1e-6)
    animal_texts = [row for row in smooth_run if row.class_name == "animal"]
    assert len(animal_texts) == 2
    for row in animal_texts:  # removing the planted word drops the probability more than random removals
        assert row.comprehensiveness[INTEGRATED_GRADIENTS] > row.comprehensiveness[RANDOM]


def test_the_summaries_rank_methods_agree_and_find_the_relied_on_word(smooth_run):
    run = ExplainerBenchmark("smooth animal detector", "four texts", BUDGETS, smooth_run)
    table = run.faithfulness()
    assert table["method"].tolist() == [*run.methods, RANDOM]
    row = table.set_index("method").loc[INTEGRATED_GRADIENTS]
    assert row["comprehensiveness low"] <= row["comprehensiveness"] <= row["comprehensiveness high"]
    agreement = run.agreement()
    assert agreement.shape == (len(run.methods), len(run.methods))
    assert np.allclose(np.diag(agreement.to_numpy()), 1.0)
    disagreeing = run.disagreements("SHAP", "Rollout from [CLS]", count=2)
    assert len(disagreeing) <= 2 and disagreeing["spearman"].is_monotonic_increasing
    relied = run.relied_on(INTEGRATED_GRADIENTS, top=1, min_count=2)
    top = relied.set_index("class").loc["animal"]
    assert top["word"] == "animal" and top["count"] == 2 and top["mean score"] > 0
    assert "animal" in top["example"]
    with pytest.raises(ValueError, match="No method 'occlusion'"):
        run.relied_on("occlusion")


def test_a_run_saved_and_loaded_is_the_same(smooth_run, tmp_path):
    run = ExplainerBenchmark("smooth animal detector", "four texts", BUDGETS, smooth_run)
    path = tmp_path / "run.json"
    run.save(path)
    again = load_benchmark(path)
    assert again.settings == BUDGETS and again.methods == run.methods
    assert again.faithfulness().equals(run.faithfulness())
    assert np.array_equal(again.rows[2].scores["SHAP"], run.rows[2].scores["SHAP"])


def test_an_interrupted_run_resumes_from_what_it_kept(tiny):
    classifier = PlantedWordClassifier(tiny["bert"], class_names=("other", "animal"), planted_class=1, absent=0.1)
    texts = TEXTS * 3  # more than one chunk
    kept: list[ExplainedText] = []
    reported: list[tuple[int, int]] = []
    full = explain_texts(
        classifier, texts, on_chunk=kept.extend, progress=lambda d, t: reported.append((d, t)), **BUDGETS
    )
    assert len(kept) == len(texts) and reported[-1] == (len(texts), len(texts))
    resumed = explain_texts(classifier, texts, done=kept[:CHUNK], **BUDGETS)
    assert [row.to_dict() for row in resumed] == [row.to_dict() for row in full]
    # this double has no differentiable path: the gradient methods are left out, and each text says so
    assert INTEGRATED_GRADIENTS not in full[0].scores and any("differentiable" in n for n in full[0].notices)
    with pytest.raises(ValueError, match="not the one done before"):
        explain_texts(classifier, texts[::-1], done=kept[:1], **BUDGETS)
    with pytest.raises(ValueError, match="2 labels for 12 texts"):
        explain_texts(classifier, texts, ["a", "b"], **BUDGETS)


def test_bootstrap_interval_brackets_the_mean():
    values = np.arange(10.0)
    low, high = bootstrap_interval(values)
    assert low < values.mean() < high and bootstrap_interval(np.ones(3)) == (1.0, 1.0)
    with pytest.raises(ValueError, match="at least one value"):
        bootstrap_interval(np.array([]))


def test_the_command_line_runs_resumes_and_saves_by_its_inputs(tiny_folders, tmp_path, capsys):
    from xray.__main__ import main
    from xray.corpora.corpus import Corpus
    from xray.explainer_benchmark.saved import BenchmarkSettings, benchmark_path, chosen_texts
    from xray.models.classifiers import ClassifierSpec

    frame = pd.DataFrame({"text": [*TEXTS, "the animal left"], "label": ["a", "b", "a", "b", "a"]})
    frame["in_training"] = [False, False, True, False, False]
    corpus = Corpus("five texts", frame, label_column="label")
    table = tmp_path / "five.parquet"
    corpus.save(table)
    settings = BenchmarkSettings(texts=3, max_evals=60, num_samples=100, steps=8)
    texts, labels = chosen_texts(corpus, settings)
    assert texts == [TEXTS[0], TEXTS[1], TEXTS[3]] and labels == ["a", "b", "b"]  # the training text left out
    model = str(tiny_folders["bert"])
    spec = ClassifierSpec.choose("zero-shot", model, "an animal\na street")
    path = benchmark_path(tmp_path, spec, corpus, settings)
    partial = path.with_name(f".{path.stem}.partial.jsonl")
    arguments = ["explain-corpus", "--table", str(table), "--classifier", "zero-shot", "--model", model]
    arguments += ["--descriptions", "an animal", "a street", "--texts", "3", "--max-evals", "60"]
    arguments += ["--lime-samples", "100", "--steps", "8", "--cache-dir", str(tmp_path)]
    assert main(arguments) == 0 and path.is_file() and not partial.exists()
    first = load_benchmark(path)
    assert [row.text for row in first.rows] == texts and first.settings["texts"] == 3
    assert "comprehensiveness" in capsys.readouterr().out
    # an interrupted run: its first text kept (and a line cut short), the rest computed again on resuming
    path.unlink()
    partial.write_text(json.dumps(first.rows[0].to_dict()) + '\n{"text": "cut', encoding="utf-8")
    assert main([*arguments, "--coalesce"]) == 0  # the rest explained at once, their calls merged
    # equal up to float rounding: the resumed chunk's classifier call pads its batches otherwise
    pd.testing.assert_frame_equal(load_benchmark(path).table(), first.table(), check_exact=False, atol=1e-5)
    assert main([*arguments[:-1], str(tmp_path / "elsewhere"), "--texts", "0"]) == 1  # bad input: a message
    assert "at least one text" in capsys.readouterr().err


def _row(comprehensiveness: dict[str, float], sufficiency: dict[str, float]) -> ExplainedText:
    words = ["a", "b"]
    scores = {method: np.array([1.0, 0.0]) for method in comprehensiveness if method != RANDOM}
    return ExplainedText("a b", None, 0, "x", 0.9, words, scores, comprehensiveness, sufficiency)


def test_the_verdict_names_the_faithful_method_the_ties_and_those_below_random():
    rows = [  # "sharp" is far ahead, "close" within its interval, "flat" below the random order
        _row(
            {"sharp": 0.9 + d, "close": 0.85 + d, "flat": 0.1, RANDOM: 0.3},
            {"sharp": 0.1, "close": 0.0, "flat": 0.6, RANDOM: 0.3},
        )
        for d in (-0.05, 0.0, 0.05)
    ]
    verdict = ExplainerBenchmark("planted", "three texts", {}, rows).verdict()
    assert verdict.startswith("Over 3 texts, *sharp* is the most comprehensive (0.90, 95% interval 0.85 to 0.95)")
    assert "*close* cannot be told apart from it here" in verdict
    assert "No better than the random order (0.30): *flat*." in verdict
    assert "*close* keeps the prediction best (sufficiency 0.00; the random order's 0.30)" in verdict
    apart = [_row({"sharp": 0.9, "flat": 0.5, RANDOM: 0.3}, {"sharp": 0.1, "flat": 0.2, RANDOM: 0.3})] * 3
    assert (
        "clear of every other method. Every method beats the random order"
        in ExplainerBenchmark("planted", "three texts", {}, apart).verdict()
    )


def test_the_interval_chart_draws_each_method_and_the_random_line(smooth_run):
    from xray.rendering.charts import interval_dots

    frame = ExplainerBenchmark("smooth animal detector", "four texts", BUDGETS, smooth_run).faithfulness()
    chart = interval_dots(frame, "sufficiency", "Keep only the top words", RANDOM).to_dict()
    bars, dots, line = chart["layer"]
    assert bars["mark"]["type"] == "rule" and bars["encoding"]["x2"]["field"] == "high"
    assert line["mark"]["strokeDash"] == [4, 4]
    assert [row["method"] for row in chart["datasets"][line["data"]["name"]]] == [RANDOM]
    shared = chart["datasets"][dots.get("data", chart.get("data", {})).get("name")]
    assert [row["method"] for row in shared] == frame["method"].tolist()
    with pytest.raises(ValueError, match="No row for the baseline 'none'"):
        interval_dots(frame, "sufficiency", "t", "none")
    with pytest.raises(ValueError, match="lacks the columns"):
        interval_dots(frame.drop(columns="sufficiency low"), "sufficiency", "t", RANDOM)
