"""Units scored like neurons (xray/units): factors and residual directions read from the activation store, their
records chosen, explained, simulated and scored by the neurons' code. On a tiny model, with a store whose vectors
are planted: noise everywhere, one dimension that fires on one word alone."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from xray.corpora.corpus import Corpus
from xray.neurons.records import build_records
from xray.store.builder import build_store
from xray.store.format import StoreSettings
from xray.techniques.neuron_explanations import BaselineExplainer, BaselineSimulator
from xray.translation import translated, use_language
from xray.units.compare import KIND_NAMES, UNIT_KINDS, UnitScores, sample_units, score_records, score_units
from xray.units.directions import basis_directions, pca_directions, random_directions
from xray.units.records import direction_records, text_maxima

PLANTED = "river"  # the word the planted dimension fires on
WORDS = ["the", "bank", "sent", "a", "letter", "boat", "on", "water", "money", "green", "house", "road", "town"]


def _corpus(count: int = 80) -> Corpus:
    generator = np.random.default_rng(0)
    texts = []
    for index in range(count):
        words = list(generator.choice(WORDS, 6))
        if index % 3 == 0:
            words.insert(int(generator.integers(0, 6)), PLANTED)
        texts.append(" ".join(words))
    return Corpus("planted", pd.DataFrame({"text": texts}))


@pytest.fixture(scope="module")
def planted(tiny, tmp_path_factory):
    """The tiny BERT's store over the corpus, its vectors at every level replaced by Gaussian noise, with
    dimension 0 at 3 on the planted word's pieces and 0 elsewhere."""
    store = build_store(tiny["bert"], _corpus(), tmp_path_factory.mktemp("units"), StoreSettings(), tags=False)
    texts = store.texts["text"].astype(str).to_numpy()
    tokens = store.tokens
    words = np.array([texts[t][s:e] for t, s, e in zip(tokens["text_id"], tokens["start"], tokens["end"], strict=True)])
    generator = np.random.default_rng(1)
    for level in range(store.levels):
        vectors = np.load(store.folder / f"level_{level:02d}.npy", mmap_mode="r+")
        vectors[:] = generator.standard_normal(vectors.shape).astype(np.float16)
        vectors[:, 0] = np.where(words == PLANTED, 3.0, 0.0).astype(np.float16)
        vectors.flush()
    return store


def test_a_planted_monosemantic_direction_scores_near_one_and_random_directions_near_zero(planted):
    explainer, simulator = BaselineExplainer(), BaselineSimulator()
    basis = direction_records(planted, basis_directions(planted.manifest.hidden_size, 2), np.array([0]))
    [row] = score_records(basis, explainer, simulator)
    assert row["kind"] == "basis" and row["unit"] == 0 and row["top_and_random"] > 0.95
    assert f'"{PLANTED}"' in row["explanation"]
    randoms = random_directions(planted.manifest.hidden_size, 2, 20, seed=0)
    rows = score_records(direction_records(planted, randoms, np.arange(20)), explainer, simulator)
    scores = np.array([row["top_and_random"] for row in rows], dtype=np.float64)
    assert abs(np.nanmedian(scores)) < 0.25 and np.nanmax(scores) < row["top_and_random"]


def test_text_maxima_are_each_texts_largest_stored_activation(planted):
    found = direction_records(planted, basis_directions(planted.manifest.hidden_size, 1), np.array([0, 3]))
    maxima = text_maxima(planted, found.activations)
    for text_id in (0, 1, 5):
        rows = np.flatnonzero(planted.tokens["text_id"].to_numpy() == text_id)
        assert np.allclose(maxima[:, text_id], found.activations[rows].max(axis=0))
    assert maxima[0, 0] == 3.0  # text 0 holds the planted word


def test_directions_have_unit_columns_and_pca_explains_the_planted_dimension(planted):
    hidden = planted.manifest.hidden_size
    for found in (basis_directions(hidden, 1), random_directions(hidden, 1, 7, seed=3), pca_directions(planted, 1)):
        assert np.allclose(np.linalg.norm(found.matrix, axis=0), 1.0, atol=1e-5)
    assert np.array_equal(random_directions(hidden, 1, 7, seed=3).matrix, random_directions(hidden, 1, 7, 3).matrix)
    # direction j is the same whatever the count, so a saved score keeps its direction
    assert np.array_equal(random_directions(hidden, 1, 3, 3).matrix, random_directions(hidden, 1, 7, 3).matrix[:, :3])
    with pytest.raises(ValueError, match="at least one"):
        random_directions(hidden, 1, 0)


def test_every_kind_is_scored_at_every_level_and_summarised(tiny, planted, tmp_path):
    from xray.factors.learning import learn_dictionary
    from xray.factors.solver import FactorSettings

    loaded = tiny["bert"]
    levels = [np.asarray(planted.vectors(level), dtype=np.float32) for level in range(planted.levels)]
    dictionary = learn_dictionary(levels, None, FactorSettings(8, 0.1, 1), model=loaded.name, revision="t", samples=500)
    records = build_records(loaded, _corpus(), tmp_path)
    scores = score_units(
        loaded,
        planted,
        BaselineExplainer(),
        BaselineSimulator(),
        units=3,
        neuron_records=records,
        dictionary=dictionary,
    )
    medians = scores.medians()
    expected = {(kind, level) for kind in UNIT_KINDS for level in range(planted.levels)} - {("neuron", 0)}
    assert set(zip(medians["kind"], medians["level"], strict=True)) == expected
    assert (medians["units"] == 3).all() and (medians["undefined"] <= 3).all()
    defined = medians.dropna(subset=["median"])
    assert ((defined["low"] <= defined["median"]) & (defined["median"] <= defined["high"])).all()
    assert scores.verdict().startswith("Median top-and-random score over every level: ")
    grid = scores.grid()
    assert (
        list(grid.index) == [KIND_NAMES[kind] for kind in UNIT_KINDS] and grid.loc["MLP neurons", "embeddings"] == "-"
    )
    assert list(grid.columns) == ["embeddings"] + [f"layer {layer}" for layer in range(planted.levels - 1)]
    assert re.fullmatch(r"-?\d\.\d\d \[-?\d\.\d\d, -?\d\.\d\d\]|undefined", grid.loc["residual basis", "layer 1"])
    assert isinstance(scores, UnitScores) and '"verdict"' in scores.to_json()
    use_language("tr")  # the grid is drawn in the run's language; the verdict is kept in English and drawn in it
    try:
        turkish = scores.grid()
        assert list(turkish.index)[:2] == ["MLP nöronları", "faktörler"] and turkish.columns[1] == "0. katman"
        assert re.fullmatch(
            r"-?\d,\d\d \[-?\d,\d\d; -?\d,\d\d\]|tanımsız", turkish.loc["artık akış tabanı", "1. katman"]
        )
        assert scores.verdict().startswith("Median top-and-random")
        assert translated(scores.verdict()).startswith("Bütün düzeyler üzerinden medyan en üst ve rastgele puanı: ")
    finally:
        use_language("en")
    with pytest.raises(ValueError, match="at least 30 texts"):
        small = build_store(loaded, _corpus(12), tmp_path / "small", StoreSettings(), tags=False)
        score_units(loaded, small, BaselineExplainer(), BaselineSimulator(), kinds=("basis",))
    with pytest.raises(ValueError, match="Unknown unit kinds"):
        score_units(loaded, planted, BaselineExplainer(), BaselineSimulator(), kinds=("sae",))
    with pytest.raises(ValueError, match="needs a factor dictionary"):
        score_units(loaded, planted, BaselineExplainer(), BaselineSimulator(), kinds=("factor",))


def test_unit_samples_are_seeded_per_kind_and_level():
    assert np.array_equal(sample_units(100, 5, 0, "basis", 2), sample_units(100, 5, 0, "basis", 2))
    assert not np.array_equal(sample_units(100, 5, 0, "basis", 2), sample_units(100, 5, 0, "basis", 3))
    assert len(sample_units(4, 10, 0, "pca", 1)) == 4


def test_the_command_line_scores_units_and_saves_the_table_the_page_reads(tiny_folders, tmp_path, capsys):
    from xray.__main__ import main
    from xray.neurons.saved import saved_unit_scores

    _corpus().save(tmp_path / "corpus.parquet")
    arguments = ["units", "--model", str(tiny_folders["bert"]), "--table", str(tmp_path / "corpus.parquet")]
    arguments += ["--cache-dir", str(tmp_path), "--kinds", "neuron", "basis", "random", "--units", "2"]
    assert main([*arguments, "--level", "1", "--level", "2"]) == 0
    printed = capsys.readouterr().out
    assert "Median top-and-random score over every level" in printed and "layer 1" in printed
    folder = next(path for path in tmp_path.iterdir() if path.is_dir() and (path / "unit_scores.jsonl").is_file())
    saved = saved_unit_scores(folder)
    assert len(saved) == 3 * 2 * 2 and set(saved["kind"]) == {"neuron", "basis", "random"}
    assert main([*arguments, "--level", "1", "--level", "2"]) == 0  # again: the same rows, not written twice
    assert len((folder / "unit_scores.jsonl").read_text().splitlines()) == 12
    assert main([*arguments, "--kinds", "factor"]) == 1 and "no factor dictionary" in capsys.readouterr().err


def test_the_endpoint_cost_counts_the_papers_calls_and_the_prompts_it_would_send(planted):
    from xray.neurons.endpoint import explanation_prompt
    from xray.units.cost import CHARACTERS_PER_TOKEN, endpoint_cost

    one, hundred = endpoint_cost(planted, 1), endpoint_cost(planted, 100)
    assert one.calls == 16 and hundred.calls == 1_600  # one explanation and 15 simulations a unit
    assert hundred.prompt_tokens == pytest.approx(100 * one.prompt_tokens, rel=0.01)
    few_shot = sum(len(message["content"]) for message in explanation_prompt([["a"]], [[1]]))
    assert one.prompt_tokens > few_shot // CHARACTERS_PER_TOKEN  # at least the few-shot prompt, once
    assert "1,600 calls" in hundred.summary()
    use_language("tr")
    try:
        assert "1.600 çağrı" in translated(hundred.summary())
    finally:
        use_language("en")
    with pytest.raises(ValueError, match="at least one unit"):
        endpoint_cost(planted, 0)
