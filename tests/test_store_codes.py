"""The kept factor codes of a store (xray/factors/store_codes.py): equal to coding the store's rows on the spot,
kept level by level, read by the units pass and the factor dashboard, and written by the command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import torch

from xray.corpora.corpus import Corpus
from xray.factors.learning import learn_dictionary
from xray.factors.solver import FactorSettings, chunked_codes
from xray.factors.store_codes import (
    CODING,
    LevelCodes,
    build_level_codes,
    coded_levels,
    codes_folder,
    dictionary_digest,
    find_level_codes,
)
from xray.neurons.scoring import normalised, score
from xray.store.builder import build_store
from xray.techniques.neuron_explanations import BaselineExplainer, BaselineSimulator
from xray.units.compare import score_records
from xray.units.dashboard import factor_dashboard, scored_user_text
from xray.units.records import factor_records

WORDS = ("cat", "dog", "boat", "girl", "man", "bird", "horse", "child")
TEXTS = [
    f"the {word} sat by the {other} river bank" for word in WORDS for other in ("old", "wide", "green", "slow", "cold")
]


@pytest.fixture(scope="module")
def coded(tiny, tmp_path_factory):
    """The tiny BERT's store over a few texts and a small dictionary learned on it."""
    loaded = tiny["bert"]
    corpus = Corpus("few", pd.DataFrame({"text": TEXTS}))
    store = build_store(loaded, corpus, tmp_path_factory.mktemp("codes"), tags=False)
    levels = [np.asarray(store.vectors(level), dtype=np.float32) for level in range(store.levels)]
    settings = FactorSettings(6, 0.05, 1)
    dictionary = learn_dictionary(levels, None, settings, model=loaded.name, revision="t", samples=300)
    return store, dictionary


def test_kept_codes_equal_the_stores_rows_coded_on_the_spot(coded):
    store, dictionary = coded
    seen = []
    build_level_codes(store, dictionary, (1, 2), progress=lambda done, total, stage: seen.append((done, total, stage)))
    assert coded_levels(store, dictionary) == [1, 2] and find_level_codes(store, dictionary, 0) is None
    assert seen[-1] == (2 * store.manifest.pieces, 2 * store.manifest.pieces, CODING)
    atoms = torch.from_numpy(dictionary.atoms)
    for level in (1, 2):
        kept = find_level_codes(store, dictionary, level)
        expected = chunked_codes(atoms, store.vectors(level), dictionary.settings.sparsity).numpy()
        np.testing.assert_allclose(kept.columns(np.arange(dictionary.factors)), expected, rtol=1e-6, atol=1e-7)
        factor = int(np.argmax((expected > 0).sum(axis=0)))
        np.testing.assert_allclose(kept.active(factor), expected[expected[:, factor] > 0, factor], rtol=1e-6)
        np.testing.assert_allclose(kept.density(), (expected > 0).mean(axis=0))
        records = factor_records(store, kept, np.array([factor]))
        assert records.kind == "factor" and records.level == level
        np.testing.assert_allclose(records.activations[:, 0], expected[:, factor], rtol=1e-6, atol=1e-7)


def test_a_level_kept_is_not_coded_again_and_another_dictionary_gets_its_own_folder(coded, monkeypatch):
    store, dictionary = coded
    build_level_codes(store, dictionary, (0,))
    monkeypatch.setattr("xray.factors.store_codes.chunked_codes", lambda *args, **kwargs: pytest.fail("coded again"))
    build_level_codes(store, dictionary, (0,))
    other = type(dictionary)(**{**dictionary.__dict__, "atoms": dictionary.atoms[::-1].copy()})
    assert dictionary_digest(other) != dictionary_digest(dictionary)
    assert codes_folder(store, other) != codes_folder(store, dictionary) and coded_levels(store, other) == []


def test_bad_levels_and_factors_say_what_exists(coded):
    store, dictionary = coded
    with pytest.raises(ValueError, match="Level 99"):
        build_level_codes(store, dictionary, (99,))
    build_level_codes(store, dictionary, (0,))
    with pytest.raises(ValueError, match="factors 0 to 5"):
        find_level_codes(store, dictionary, 0).active(6)


def test_the_command_line_codes_the_levels_asked_for(tiny, tiny_folders, tmp_path, capsys, monkeypatch):
    from xray.__main__ import main

    Corpus("few", pd.DataFrame({"text": TEXTS})).save(tmp_path / "corpus.parquet")
    arguments = ["codes", "--model", str(tiny_folders["bert"]), "--table", str(tmp_path / "corpus.parquet")]
    arguments += ["--cache-dir", str(tmp_path), "--level", "1"]
    assert main(arguments) == 1 and "no factor dictionary" in capsys.readouterr().err
    noise = np.random.default_rng(0).standard_normal((300, tiny["bert"].hidden_size)).astype(np.float32)
    dictionary = learn_dictionary([noise], None, FactorSettings(6, 0.05, 1), model="tiny", revision="t", samples=300)
    monkeypatch.setattr("xray.__main__.find_dictionary", lambda model, root: dictionary)
    assert main(arguments) == 0
    assert "pieces coded at levels 1 in" in capsys.readouterr().out
    [folder] = [path for path in tmp_path.glob(f"*/factor_codes-{dictionary_digest(dictionary)}")]
    assert sorted(path.name for path in folder.iterdir()) == ["level_01.npz"]


def _most_active(codes) -> int:
    return int(np.argmax(codes.density()))


def test_a_factors_dashboard_scores_it_as_the_units_pass_does(coded):
    store, dictionary = coded
    build_level_codes(store, dictionary, (2,))
    codes = find_level_codes(store, dictionary, 2)
    factor = _most_active(codes)
    explainer, simulator = BaselineExplainer(), BaselineSimulator()
    dashboard = factor_dashboard(store, codes, factor, explainer, simulator)
    [expected] = score_records(factor_records(store, codes, np.array([factor])), explainer, simulator)
    assert dashboard.summary_row() == expected
    assert dashboard.density == pytest.approx(codes.density()[factor]) and dashboard.pieces == store.manifest.pieces
    histogram = dashboard.histogram(bins=7)
    assert len(histogram) == 7 and histogram["pieces"].sum() == len(dashboard.active) > 0
    assert histogram["end"].iloc[-1] == pytest.approx(dashboard.active.max(), rel=1e-4)
    assert f"Factor {factor} is active on" in dashboard.verdict() and "with the factor" in dashboard.verdict()
    exported = json.loads(dashboard.to_json())
    assert exported["factor"] == factor and exported["top_and_random"] == expected["top_and_random"]


def test_a_factor_active_nowhere_has_no_explanation_and_says_so(coded):
    store, dictionary = coded
    build_level_codes(store, dictionary, (2,))
    kept = find_level_codes(store, dictionary, 2)
    factor = _most_active(kept)
    matrix = kept.matrix.tolil()
    matrix[:, factor] = 0
    silent = LevelCodes(2, scipy.sparse.csc_array(matrix))
    silent.matrix.eliminate_zeros()
    dashboard = factor_dashboard(store, silent, factor, BaselineExplainer(), BaselineSimulator())
    assert dashboard.explanation is None and dashboard.summary_row() is None and dashboard.density == 0
    assert "active on none of the" in dashboard.verdict() and dashboard.histogram()["pieces"].sum() == 0


def test_a_text_of_the_users_is_coded_simulated_and_scored_against_the_factor(coded):
    store, dictionary = coded
    build_level_codes(store, dictionary, (2,))
    codes = find_level_codes(store, dictionary, 2)
    factor = _most_active(codes)
    simulator = BaselineSimulator()
    explanation = factor_dashboard(store, codes, factor, BaselineExplainer(), simulator).explanation
    tokens = store.tokens
    rows = np.flatnonzero(tokens["text_id"].to_numpy() == 0)
    text = str(store.texts["text"].iloc[0])
    spans = [(int(tokens["start"].iloc[row]), int(tokens["end"].iloc[row])) for row in rows]
    values = codes.columns(np.array([factor]))[rows, 0]
    tested = scored_user_text(explanation, simulator, text, spans, values)
    assert tested.record.tokens == [text[start:end] for start, end in spans]
    np.testing.assert_array_equal(tested.record.normalised, normalised(values, explanation.max_activation))
    np.testing.assert_allclose(tested.simulated, simulator.simulate(explanation.explanation, tested.record.tokens))
    assert tested.score == score([values], [tested.simulated], explanation.max_activation)
    assert tested.verdict().startswith(f"Largest code here {values.max():.3f}")
    with pytest.raises(ValueError, match="One code per piece"):
        scored_user_text(explanation, simulator, text, spans, values[:-1])
