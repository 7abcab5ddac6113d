"""Embedding search and token predictions: unit tests on tiny models, the word-sense separation on MiniLM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xray.store.search as search_module
from tests.test_store import SETTINGS, tiny_corpus
from tests.tiny_models import tiny_bert_mlm
from xray.corpora.word_senses import load_word_senses, senses_of
from xray.models.loading import load_model
from xray.models.token_predictions import predict_token, prediction_support
from xray.store.builder import build_store
from xray.store.format import StoreSettings
from xray.store.rows import describe_rows
from xray.store.search import build_index
from xray.techniques.attention import compute_attention
from xray.techniques.embedding_search import (
    NeighbourSearch,
    purity_by_level,
    search_neighbours,
    stored_states,
    word_occurrences,
)


@pytest.fixture
def tiny_store(tiny, tmp_path):
    return build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)


def test_the_query_itself_is_left_out_when_asked(tiny_store):
    index = build_index(tiny_store, 2)
    states = stored_states(tiny_store, 5)

    with_itself = search_neighbours(tiny_store, index, "x", states, k=4)
    without = search_neighbours(tiny_store, index, "x", states, k=4, exclude_row=5)

    assert with_itself.neighbours["row"].iloc[0] == 5 and with_itself.neighbours["cosine"].iloc[0] == pytest.approx(1)
    assert 5 not in without.neighbours["row"].tolist() and len(without.neighbours) == 4
    assert without.neighbours["rank"].tolist() == [1, 2, 3, 4]
    assert without.neighbours["cosine"].is_monotonic_decreasing


def test_purity_shares_are_the_labels_of_the_exact_top_k(tiny_store):
    states = stored_states(tiny_store, 0)
    purity = purity_by_level(tiny_store, states, k=6)

    assert sorted(purity["level"].unique()) == list(range(tiny_store.levels))
    assert purity.groupby("level")["share"].sum().round(6).eq(1.0).all()  # every text has a label
    assert set(purity["label"]) <= set(tiny_store.texts["label"])
    with pytest.raises(ValueError, match="levels"):
        purity_by_level(tiny_store, states[:2], k=6)


def test_an_exact_search_reads_each_level_once_and_its_purity_is_the_same(tiny_store, monkeypatch):
    index = build_index(tiny_store, 2)
    states = stored_states(tiny_store, 5)
    scanned = []
    scan = search_module.exact_top_k_many
    monkeypatch.setattr(
        search_module, "exact_top_k_many", lambda vectors, *rest: scanned.append(vectors) or scan(vectors, *rest)
    )

    result = search_neighbours(tiny_store, index, "x", states, k=4, exclude_row=5)

    assert len(scanned) == tiny_store.levels  # the searched level is not read a second time for the purity chart
    pd.testing.assert_frame_equal(result.purity, purity_by_level(tiny_store, states, 4, exclude_row=5))


def test_summaries_count_the_neighbours(tiny_store):
    result = search_neighbours(tiny_store, build_index(tiny_store, 1), "bank", stored_states(tiny_store, 3), k=7)

    assert result.summary("label")["count"].sum() == 7
    assert result.leading_label() == result.summary("label")["value"].iloc[0]
    assert result.best_level(result.leading_label()) in range(tiny_store.levels)
    assert result.leading_labels(1)[0] in result.verdict(1)
    assert '"neighbours"' in result.to_json() and len(result.table()) == 7
    with pytest.raises(ValueError, match="Unknown summary"):
        result.summary("lemma")


def _searched(
    level: int, shares: dict[str, list[float]], k: int = 20, nearest: tuple[str, ...] = ()
) -> NeighbourSearch:
    """A search at ``level`` whose purity table is ``shares``: label -> its share at levels 0, 1, ...; ``nearest``:
    the labels of the first neighbours, nearest first."""
    purity = pd.DataFrame(
        [
            (at, f"level {at}", label, share)
            for label, row in shares.items()
            for at, share in enumerate(row)
            if share > 0
        ],
        columns=["level", "level_name", "label", "share"],
    )
    neighbours = pd.DataFrame({"rank": range(1, len(nearest) + 1), "label": list(nearest)})
    return NeighbourSearch("bank", level, k, neighbours, purity, "exact", 1.0, "Exact search with numpy.")


# Eight labels; the chart draws the six with the largest peak (ties by name), so "g" and "h" are never drawn.
MANY = {
    "a": [0.1, 0.1, 0.5],
    "b": [0.1, 0.2, 0.4],
    "c": [0.3, 0.1, 0.1],
    "d": [0.2, 0.2, 0.2],
    "e": [0.15, 0.15, 0.15],
    "f": [0.15, 0.05, 0.05],
    "g": [0.0, 0.14, 0.0],
    "h": [0.0, 0.14, 0.0],
}


def test_leading_labels_are_the_largest_peaks_ties_by_name():
    result = _searched(1, MANY)
    assert result.leading_labels(6) == ["a", "b", "c", "d", "e", "f"]
    assert result.leading_labels(2) == ["a", "b"] and result.leading_labels(100)[-2:] == ["g", "h"]
    with pytest.raises(ValueError, match="at least 1"):
        result.leading_labels(0)


def test_the_verdict_names_only_a_label_the_chart_draws():
    # At level 1, g holds most of the top k (30%) and is drawn among six labels, but not among two.
    result = _searched(1, MANY | {"g": [0.0, 0.3, 0.0]})
    drawn = result.leading_labels(6)
    assert "g" in drawn and "h" not in drawn
    assert result.verdict(6).startswith("'g' holds 30% of the top 20 at layer 0")
    narrow = result.leading_labels(2)
    assert narrow == ["a", "b"] and result.verdict(2).startswith("'b' holds 20% of the top 20 at layer 0")
    assert not any(f"'{label}'" in result.verdict(2) for label in set(MANY) - set(narrow))


@pytest.mark.parametrize(
    ("level", "shares", "expected"),
    [
        # Flat: the peak is at the embeddings (earliest on ties), said once, never "peaks at embeddings ... against".
        (
            1,
            [0.65, 0.65, 0.65],
            "'x' holds 65% of the top 20 at layer 0; its share is strongest already at the embeddings (65%).",
        ),
        (
            2,
            [0.65, 0.3, 0.2],
            "'x' holds 20% of the top 20 at layer 1; its share is strongest already at the embeddings (65%).",
        ),
        (0, [0.65, 0.3, 0.2], "'x' holds 65% of the top 20 at embeddings, already its largest share at any level."),
        (2, [0.2, 0.5, 0.8], "'x' holds 80% of the top 20 at layer 1, its peak, against 20% at the embeddings."),
        (
            1,
            [0.2, 0.5, 0.8],
            "'x' holds 50% of the top 20 at layer 0; its share peaks at layer 1 (80%), against 20% at the embeddings.",
        ),
    ],
)
def test_the_verdict_never_contradicts_itself(level, shares, expected):
    verdict = _searched(level, {"x": shares}).verdict(6)
    assert verdict == expected
    assert not ("peaks at embeddings" in verdict and "at the embeddings" in verdict)


def test_a_tie_goes_to_the_label_of_the_nearest_neighbour():
    shares = {"bank (money)": [0.5, 0.5], "bank (river)": [0.5, 0.5]}
    assert _searched(1, shares, nearest=("bank (river)", "bank (money)")).verdict(6).startswith("'bank (river)'")
    assert _searched(1, shares, nearest=("bank (money)",)).verdict(6).startswith("'bank (money)'")
    assert _searched(1, shares).verdict(6).startswith("'bank (money)'")  # no neighbours: the chart's order


def test_a_corpus_without_labels_gets_no_purity_verdict():
    assert "no labels" in _searched(1, {}).verdict(6)


def test_a_typed_word_finds_its_occurrences(tiny_store):
    found = word_occurrences(tiny_store, "Bank")

    assert len(found) == 2 and set(found["word"]) == {"bank"}
    for text, start, end in found[["text", "start", "end"]].itertuples(index=False):
        assert text[start:end] == "bank"
    assert word_occurrences(tiny_store, "zebra").empty
    with pytest.raises(ValueError, match="one word"):
        word_occurrences(tiny_store, "two words")


def test_rows_are_described_with_their_text_and_label(tiny_store):
    first_of_text_0 = int(tiny_store.texts.loc[0, "first_row"])
    described = describe_rows(tiny_store, np.array([first_of_text_0]))

    assert described.loc[0, "text"] == tiny_corpus().texts[0] and described.loc[0, "label"] == "river"
    with pytest.raises(ValueError, match="not in the store"):
        stored_states(tiny_store, tiny_store.manifest.pieces)


def test_masked_predictions_come_from_a_masked_lm_head(tmp_path):
    loaded = load_model(str(tiny_bert_mlm(tmp_path / "mlm")))
    predictions = predict_token(loaded, "she sat on the bank", 5, k=5)

    assert prediction_support(loaded) is None
    assert predictions.kind == "masked" and predictions.token == "bank"
    probabilities = predictions.candidates["probability"].to_numpy()
    assert len(probabilities) == 5 and (np.diff(probabilities) <= 0).all() and probabilities.sum() <= 1.0 + 1e-6
    tokens = predictions.candidates["token"].tolist()
    assert predictions.rank_of_original == (tokens.index("bank") + 1 if "bank" in tokens else None)
    everything = predict_token(loaded, "she sat on the bank", 5, k=len(loaded.tokenizer))
    assert everything.candidates["token"].iloc[everything.rank_of_original - 1] == "bank"
    with pytest.raises(ValueError, match="out of range"):
        predict_token(loaded, "she sat", 9)


def test_causal_models_predict_the_next_token_and_others_say_why_not(tiny):
    assert predict_token(tiny["gpt2"], "the bank", 0, k=3).kind == "next"
    reason = prediction_support(tiny["bert"])
    assert reason is not None and "bert-base-uncased" in reason
    with pytest.raises(ValueError, match="no language-model head"):
        predict_token(tiny["bert"], "the bank", 1)


def target_rows(store) -> pd.DataFrame:
    """The stored row of each word-sense sentence's target word (its first piece)."""
    pieces = store.tokens.reset_index(names="row")
    texts = store.texts.reset_index(names="text_id")[["text_id", "word", "sense_label", "start"]]
    return texts.merge(pieces[["row", "text_id", "start"]], on=["text_id", "start"])


@pytest.mark.integration
def test_senses_separate_better_at_the_best_layer_than_at_the_embeddings(minilm, tmp_path):
    store = build_store(minilm, load_word_senses(), tmp_path, StoreSettings(bf16=False), tags=False)
    targets = target_rows(store)
    assert len(targets) == len(store.texts)  # every target word starts a stored piece
    gains = {}
    for word in ("bank", "bat", "spring", "pitch", "ring", "seal"):
        rows = targets[targets["word"] == word]
        shares = np.zeros(store.levels)
        for row, sense in rows[["row", "sense_label"]].itertuples(index=False):
            purity = purity_by_level(store, stored_states(store, row), k=10, exclude_row=row)
            own = purity[purity["label"] == sense].set_index("level")["share"]
            shares += own.reindex(range(store.levels), fill_value=0.0).to_numpy() / len(rows)
        gains[word] = shares.max() - shares[0]
    assert sum(gain > 0.1 for gain in gains.values()) >= 5, gains


@pytest.mark.integration
def test_the_river_bank_finds_river_banks(minilm, tmp_path):
    corpus = load_word_senses()
    store = build_store(minilm, corpus, tmp_path, StoreSettings(bf16=False), tags=False)
    attention = compute_attention(minilm, "We sat on the bank of the river")
    position = attention.tokens.index("bank")
    purity = purity_by_level(store, attention.hidden_states[:, position], k=10)
    river = purity[purity["label"] == "bank (river)"].set_index("level")["share"]
    money = purity[purity["label"] == "bank (money)"].set_index("level")["share"]

    assert senses_of(corpus, "bank") == ["bank (money)", "bank (river)"]
    best = int(river.idxmax())
    assert best > 0 and river[best] > river.get(0, 0.0) and river[best] > money.get(best, 0.0)
