"""Transformer factors: FISTA codes, dictionary learning on planted data, quality, saving, bad input."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso

from xray.factors.corpus import factor_summaries, find_top_contexts, sense_factors
from xray.factors.dictionary import SHIPPED_DICTIONARY, TopContexts, band, dictionary_path, load_dictionary
from xray.factors.learning import IMPORTANCE_ROWS, TOP_N, evaluate, factor_importance, learn_dictionary, sample_weights
from xray.factors.solver import LEARNING, FactorSettings, learn_atoms, sparse_codes, sparse_coding
from xray.techniques.factors import sentence_factors


def planted(atoms: int = 24, width: int = 16, rows: int = 3_000, active: int = 2, seed: int = 0):
    """Unit vectors that are non-negative mixes of ``active`` of ``atoms`` planted unit atoms: (rows, width)."""
    rng = np.random.default_rng(seed)
    dictionary = rng.normal(size=(atoms, width))
    dictionary /= np.linalg.norm(dictionary, axis=1, keepdims=True)
    codes = np.zeros((rows, atoms))
    for row in range(rows):
        codes[row, rng.choice(atoms, active, replace=False)] = rng.uniform(0.5, 1.5, active)
    data = codes @ dictionary
    return (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32), dictionary.astype(np.float32)


def objective(dictionary: np.ndarray, inputs: np.ndarray, codes: np.ndarray, sparsity: float) -> float:
    return float(0.5 * ((inputs - codes @ dictionary) ** 2).sum() + sparsity * np.abs(codes).sum())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # the reference runs to a tight tol
def test_fista_codes_are_non_negative_and_as_good_as_a_positive_lasso():
    data, dictionary = planted(rows=20)
    codes = sparse_codes(torch.from_numpy(dictionary), torch.from_numpy(data), 0.05).numpy()
    lasso = Lasso(alpha=0.05 / dictionary.shape[1], positive=True, fit_intercept=False, max_iter=50_000, tol=1e-8)
    reference = np.stack([lasso.fit(dictionary.T, row).coef_ for row in data])

    assert (codes >= 0).all()
    assert objective(dictionary, data, codes, 0.05) <= objective(dictionary, data, reference, 0.05) * 1.01


def numpy_fista(dictionary: np.ndarray, row: np.ndarray, sparsity: float, tolerance: float, max_steps: int):
    """Non-negative FISTA on one row, written out in float64: step 1/L with L the largest eigenvalue of ΦΦᵀ,
    stopping once one step changes the objective ½‖x − cΦ‖² + λ‖c‖₁ by at most ``tolerance`` of it."""
    bound = np.linalg.eigvalsh(dictionary @ dictionary.T).max()
    codes = point = np.zeros(len(dictionary))
    momentum, value, steps = 1.0, 0.5 * row @ row, 0
    while steps < max_steps:
        steps += 1
        updated = np.maximum(0.0, point - ((point @ dictionary - row) @ dictionary.T + sparsity) / bound)
        new_value = 0.5 * np.sum((row - updated @ dictionary) ** 2) + sparsity * updated.sum()
        next_momentum = (1 + np.sqrt(1 + 4 * momentum**2)) / 2
        point = updated + (momentum - 1) / next_momentum * (updated - codes)
        codes, momentum = updated, next_momentum
        if abs(value - new_value) <= tolerance * value:
            break
        value = new_value
    return codes, steps


def test_fista_steps_at_one_over_l_and_stops_each_row_when_its_objective_settles():
    data, dictionary = planted(rows=12)
    inputs, atoms = data.astype(np.float64), dictionary.astype(np.float64)
    coded = sparse_coding(torch.from_numpy(atoms), torch.from_numpy(inputs), 0.05, tolerance=1e-6, max_steps=500)
    expected = [numpy_fista(atoms, row, 0.05, 1e-6, 500) for row in inputs]

    assert coded.steps.tolist() == [steps for _, steps in expected]
    assert min(coded.steps.tolist()) > 1 and max(coded.steps.tolist()) < 500  # stopped on the tolerance
    np.testing.assert_allclose(coded.codes.numpy(), np.stack([codes for codes, _ in expected]), atol=1e-9)
    # A row's codes are its own: coded alone, it takes the same steps to the same codes.
    alone = sparse_coding(torch.from_numpy(atoms), torch.from_numpy(inputs[3:4]), 0.05, tolerance=1e-6)
    assert alone.steps.tolist() == [expected[3][1]]
    np.testing.assert_allclose(alone.codes.numpy()[0], expected[3][0], atol=1e-9)


def test_the_default_tolerance_comes_close_to_the_reference_500_steps():
    data, dictionary = planted(rows=40, atoms=48, active=6)
    coded = sparse_coding(torch.from_numpy(dictionary), torch.from_numpy(data), 0.05)
    reference = [numpy_fista(dictionary.astype(np.float64), row, 0.05, 0.0, 500)[0] for row in data.astype(float)]
    reference_objective = objective(dictionary, data, np.stack(reference), 0.05)

    assert coded.steps.max() < 500
    assert objective(dictionary, data, coded.codes.numpy(), 0.05) <= reference_objective * (1 + 1e-5)
    assert coded.objective.numpy().sum() == pytest.approx(objective(dictionary, data, coded.codes.numpy(), 0.05))


def test_importance_is_the_mean_of_the_top_500_codes_over_10000_rows_per_level(monkeypatch):
    import xray.factors.learning as factors

    data, _ = planted(rows=12_500, atoms=8, active=2)
    noise = np.abs(np.random.default_rng(2).normal(size=data.shape)).astype(np.float32)
    seen = []

    def spy(atoms, levels, sparsity, top_n=TOP_N):
        seen.append([np.asarray(level).copy() for level in levels])
        return factor_importance(atoms, levels, sparsity, top_n)

    monkeypatch.setattr(factors, "factor_importance", spy)
    settings = FactorSettings(factors=8, sparsity=0.05, epochs=1, batch_size=256)
    learned = learn_dictionary([data, noise], None, settings, model="tiny", revision="r", samples=2_000)

    assert IMPORTANCE_ROWS >= 10_000 and [len(level) for level in seen[0]] == [10_000, 10_000]
    assert len(np.unique(seen[0][0], axis=0)) == 10_000  # distinct rows, not 2,000 held-out ones reused
    for level, rows in enumerate(seen[0]):  # the importance, recomputed with numpy from the codes
        codes = sparse_coding(
            torch.from_numpy(learned.atoms), torch.nn.functional.normalize(torch.from_numpy(rows)), 0.05
        )
        expected = np.sort(codes.codes.numpy(), axis=0)[-500:].mean(axis=0)
        np.testing.assert_allclose(learned.importance[level], expected, rtol=1e-4, atol=1e-6)


def test_learning_recovers_planted_atoms():
    data, truth = planted()
    atoms = learn_atoms(data, FactorSettings(factors=24, sparsity=0.02, epochs=8, batch_size=256))
    best = np.abs(truth @ atoms.T).max(axis=1)  # each planted atom's closest learned atom (cosine)

    np.testing.assert_allclose(np.linalg.norm(atoms, axis=1), 1.0, atol=1e-5)
    assert np.median(best) > 0.95 and (best > 0.8).mean() > 0.8, np.round(best, 2)


def test_quality_and_importance_are_measured_per_level():
    data, _ = planted()
    atoms = learn_atoms(data, FactorSettings(factors=24, sparsity=0.02, epochs=4, batch_size=256))
    noise = np.random.default_rng(1).normal(size=data.shape).astype(np.float32)
    quality, importance = evaluate(atoms, [data[:500], noise[:500]], 0.02)

    assert quality.relative_error[0] < 0.3 < quality.relative_error[1]  # planted data is explained, noise is not
    assert importance.shape == (2, 24) and (importance >= 0).all()
    assert 0 < quality.nonzeros < 24 and 0.0 <= quality.dead_share < 1.0


def test_frequent_pieces_are_down_weighted():
    weights = sample_weights(np.array(["the", "the", "the", "the", "bank"]))

    assert weights.sum() == pytest.approx(1.0)
    assert weights[4] == pytest.approx(2 * weights[0])  # 1/sqrt(1) against 1/sqrt(4)


def test_a_dictionary_round_trips_and_refuses_another_width(tmp_path):
    data, _ = planted()
    settings = FactorSettings(factors=24, sparsity=0.02, epochs=2, batch_size=256)
    learned = learn_dictionary([data, data[::-1]], None, settings, model="tiny", revision="r1", samples=2_000)
    learned.save(tmp_path / "factors.npz")
    again = load_dictionary(tmp_path / "factors.npz")

    assert again.model == "tiny" and again.settings == settings and again.quality == learned.quality
    np.testing.assert_allclose(again.atoms, learned.atoms, atol=2e-3)  # stored as float16
    assert again.codes(data[:3]).shape == (3, 24)
    with pytest.raises(ValueError, match="width 16"):
        again.codes(np.ones((2, 32), dtype=np.float32))
    (tmp_path / "other.npz").write_bytes(b"not a dictionary")
    with pytest.raises(ValueError, match="not a factor dictionary"):
        load_dictionary(tmp_path / "other.npz")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"factors": 1}, "at least 2 factors"),
        ({"sparsity": 0.0}, "must be positive"),
        ({"epochs": 0}, "at least 1"),
    ],
)
def test_settings_are_checked(settings, message):
    with pytest.raises(ValueError, match=message):
        FactorSettings(**settings)


def test_bad_input_says_what_to_do():
    data, _ = planted(rows=50)
    with pytest.raises(ValueError, match="fewer than the 100 factors"):
        learn_atoms(data, FactorSettings(factors=100, epochs=1))
    broken = data.copy()
    broken[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        learn_atoms(broken, FactorSettings(factors=8, epochs=1))
    with pytest.raises(ValueError, match="every code is zero"):
        learn_dictionary(
            [data], None, FactorSettings(factors=8, sparsity=50.0, epochs=1), model="m", revision="r", samples=50
        )


class Interrupted(Exception):
    pass


def test_an_interrupted_fit_resumes_after_its_last_epoch_to_the_same_atoms(tmp_path):
    data, _ = planted()
    settings = FactorSettings(factors=24, sparsity=0.02, epochs=3, batch_size=500)
    batches = len(range(0, len(data), settings.batch_size))
    calls = []

    def stop_in_the_second_epoch(done: int, total: int, stage: str) -> None:
        calls.append(done)
        if done == batches + 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        learn_atoms(data, settings, checkpoint_folder=tmp_path, progress=stop_in_the_second_epoch)
    resumed = []
    atoms = learn_atoms(
        data, settings, checkpoint_folder=tmp_path, progress=lambda done, total, stage: resumed.append(done)
    )

    assert resumed[0] == batches + 1 and len(resumed) == 2 * batches  # the first epoch was not run again
    np.testing.assert_allclose(atoms, learn_atoms(data, settings), atol=1e-5)
    assert not list(tmp_path.glob("*.pt"))  # the checkpoint is removed once done


def test_the_command_line_learns_a_dictionary_for_a_model(tiny_folders, tmp_path, capsys):
    from tests.test_store import tiny_corpus
    from xray.__main__ import main

    tiny_corpus().save(tmp_path / "corpus.parquet")
    out = tmp_path / "factors.npz"
    arguments = ["factors", "--model", str(tiny_folders["bert"]), "--table", str(tmp_path / "corpus.parquet")]
    arguments += ["--cache-dir", str(tmp_path / "cache"), "--factors", "8", "--sparsity", "0.05"]
    arguments += ["--samples", "200", "--out", str(out)]

    assert main(arguments) == 0
    learned = load_dictionary(out)
    assert learned.factors == 8 and learned.hidden_size == 32 and learned.importance.shape == (3, 8)
    assert learned.model == str(tiny_folders["bert"]) and "8 factors" in capsys.readouterr().out
    assert main([*arguments[:-2], "--factors", "1000", "--out", str(out)]) == 1  # more factors than samples


def test_bands_split_the_levels_in_thirds():
    assert [band(level, 7) for level in range(7)] == ["low", "low", "low", "mid", "mid", "high", "high"]
    assert band(0, 1) == "low"


def test_a_sentence_is_coded_at_every_level_and_explained_per_token(tmp_path):
    data, _ = planted()
    settings = FactorSettings(factors=24, sparsity=0.02, epochs=2, batch_size=256)
    learned = learn_dictionary([data, data], None, settings, model="tiny", revision="r", samples=2_000)
    states = np.stack([data[:5], data[5:10]])  # (levels, tokens, hidden)
    sentence = sentence_factors(learned, ["a", "b", "c", "d", "e"], states)

    assert sentence.codes.shape == (2, 5, 24) and (sentence.codes >= 0).all()
    strongest = sentence.strongest(1, 3)
    assert sentence.codes[1][:, strongest[0]].max() == sentence.codes[1].max()
    per_token = sentence.token_factors(2, 2)
    assert set(per_token["level"]) <= {0, 1} and (per_token["code"] > 0).all()
    assert len(sentence.table()) == int((sentence.codes > 0).sum()) and '"codes"' in sentence.to_json()
    table = learned.table()
    assert sorted(table["factor"]) == list(range(24)) and set(table["band"]) <= {"low", "mid", "high"}
    with pytest.raises(ValueError, match="2 levels"):
        sentence_factors(learned, ["a"], np.stack([data[:1]] * 3))
    with pytest.raises(ValueError, match="Factor 24 does not exist"):
        learned.check_factor(24)


def test_the_embedded_model_reads_the_shipped_dictionary_and_others_the_cache(tmp_path):
    from xray.models.loading import EMBEDDED_MODEL

    assert dictionary_path(EMBEDDED_MODEL, tmp_path) == SHIPPED_DICTIONARY
    assert dictionary_path("org/some-model", tmp_path) == tmp_path / "factors" / "org-some-model.npz"


def test_top_contexts_are_the_strongest_sampled_pieces_and_survive_saving(tiny, tmp_path):
    from tests.test_store import SETTINGS, tiny_corpus
    from tests.test_store import TEXTS as TINY_TEXTS
    from xray.store.builder import build_store

    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    rows = np.arange(store.manifest.pieces)
    levels = [np.asarray(store.vectors(level), dtype=np.float32) for level in range(store.levels)]
    settings = FactorSettings(factors=8, sparsity=0.05, epochs=2, batch_size=16)
    learned = learn_dictionary(levels, None, settings, model="tiny", revision="r", samples=150)
    contexts = find_top_contexts(learned.atoms, store, settings.sparsity, pieces=len(rows), top=3)

    assert contexts.rows.shape == contexts.codes.shape == (store.levels, 8, 3)
    assert (np.diff(contexts.codes, axis=2) <= 1e-6).all()  # strongest first
    level, factor = 1, int(contexts.codes[1, :, 0].argmax())
    direct = learned.codes(levels[level][contexts.rows[level, factor, :1]])[0, factor]
    assert direct == pytest.approx(contexts.codes[level, factor, 0], rel=1e-3)
    dataclasses.replace(learned, contexts=contexts).save(tmp_path / "with_contexts.npz")
    again = load_dictionary(tmp_path / "with_contexts.npz")
    np.testing.assert_array_equal(again.contexts.rows, contexts.rows)
    assert again.contexts.store == store.folder.name and again.contexts.corpus == "tiny"
    assert again.contexts.layout == store.layout
    summaries = factor_summaries(again, store)
    vocabulary = {word for text in TINY_TEXTS for word in re.findall(r"\w+|[^\w\s]", text)}
    assert len(summaries) == 8 and all(set(line.split(", ")) <= vocabulary for line in summaries if line)
    assert factor_summaries(learned, store) == [""] * 8  # no contexts, no summary


def test_a_factors_used_contexts_leave_out_the_pieces_that_do_not_use_it():
    contexts = TopContexts(
        rows=np.array([[[7, 3, 5]]]), codes=np.array([[[0.9, 0.2, 0.0]]]), store="s", corpus="c", layout="l"
    )
    rows, codes = contexts.used(0, 0)
    np.testing.assert_array_equal(rows, [7, 3])
    np.testing.assert_array_equal(codes, [0.9, 0.2])


def test_sense_factors_rank_factors_by_how_well_they_split_a_words_senses(tiny, tmp_path):
    import pandas as pd

    from tests.test_store import SETTINGS, tiny_corpus
    from xray.corpora.corpus import Corpus
    from xray.store.builder import build_store

    texts = ["she sat on the river bank", "the bank sent her a loan", "the river bank was wet", "a bank loan"]
    table = pd.DataFrame(
        {
            "text": texts,
            "word": "bank",
            "sense_label": ["bank (river)", "bank (money)", "bank (river)", "bank (money)"],
            "start": [text.index("bank") for text in texts],
        }
    )
    store = build_store(tiny["bert"], Corpus("senses", table, "sense_label"), tmp_path, SETTINGS, tags=False)
    levels = [np.asarray(store.vectors(level), dtype=np.float32) for level in range(store.levels)]
    learned = learn_dictionary(
        levels,
        None,
        FactorSettings(factors=6, sparsity=0.05, epochs=2, batch_size=8),
        model="tiny",
        revision="r",
        samples=60,
    )
    senses = sense_factors(learned, store, "bank", top=2)

    assert senses.shape[0] == store.levels * 2 and set(senses["level"]) == set(range(store.levels))
    assert {"mean bank (money)", "mean bank (river)"} <= set(senses.columns) and (senses["separation"] >= 0).all()
    with pytest.raises(ValueError, match="not a word of the word-sense set"):
        sense_factors(learned, store, "river")
    plain = build_store(tiny["bert"], tiny_corpus(), tmp_path / "plain", SETTINGS, tags=False)
    with pytest.raises(ValueError, match="no word-sense sentences"):
        sense_factors(learned, plain, "bank")


def test_a_fit_run_as_a_job_reports_progress_and_cancel_leaves_a_checkpoint_to_resume(tiny_folders, tmp_path):
    import time

    from components.jobs import cancel_job, finished_job, job_running, start_job
    from tests.test_store import tiny_corpus
    from xray.cache import read_status

    tiny_corpus().save(tmp_path / "corpus.parquet")
    status, log, out = tmp_path / "status.json", tmp_path / "fit.log", tmp_path / "factors.npz"
    arguments = ["factors", "--model", str(tiny_folders["bert"]), "--table", str(tmp_path / "corpus.parquet")]
    arguments += ["--cache-dir", str(tmp_path / "cache"), "--factors", "8", "--sparsity", "0.05", "--epochs", "400"]
    arguments += ["--samples", "4000", "--out", str(out), "--status", str(status)]
    start_job("fit", arguments, log)
    deadline = time.monotonic() + 120
    while job_running("fit") and time.monotonic() < deadline:
        seen = read_status(status)
        if seen is not None and seen.stage == LEARNING and seen.done > 2 * seen.total / 400:
            break  # past the second epoch's checkpoint
        time.sleep(0.1)
    cancel_job("fit")

    code, message = finished_job("fit", log)
    assert code == 130 and "resume" in message and not out.exists()
    assert list((tmp_path / "cache" / "factors").glob(".factors.checkpoint/*.pt"))
    assert finished_job("fit", log) is None  # forgotten once reported
