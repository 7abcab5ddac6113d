"""Projections: PCA/UMAP placement, clusters, distinctive words and separation by level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.test_store import SETTINGS, TEXTS, tiny_corpus
from xray.corpora.corpus import Corpus
from xray.store import kept_arrays
from xray.store.builder import build_store
from xray.store.format import StoreSettings
from xray.techniques import projections
from xray.techniques.attention import compute_attention
from xray.techniques.projections import (
    build_projection,
    cluster,
    corpus_sources,
    distinctive_words,
    points_in_box,
    pooled_vector,
    project,
    sample_points,
    sample_rows,
    selected_box,
    separation_by_level,
    separation_sample,
    source_texts,
    stored_suggestion,
    suggest_clusters,
)


def blobs(per_blob: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated groups of 16-dimensional vectors: (points, group of each)."""
    rng = np.random.default_rng(seed)
    centres = np.eye(16)[:3] * 10
    groups = np.repeat(np.arange(3), per_blob)
    return centres[groups] + rng.normal(size=(len(groups), 16)), groups


def test_pca_keeps_the_most_variance_and_places_a_query_like_its_twin():
    points, _ = blobs()
    coordinates, query, explained = project(points, "PCA", 3, query=points[4])

    assert coordinates.shape == (len(points), 3) and len(explained) == 3
    assert explained[0] >= explained[1] >= explained[2] > 0
    np.testing.assert_allclose(query, coordinates[4], atol=1e-5)


def test_umap_places_every_point_and_the_query():
    points, groups = blobs()
    coordinates, query, explained = project(points, "UMAP", 2, query=points[0])

    assert coordinates.shape == (len(points), 2) and explained == () and query.shape == (2,)
    centres = np.stack([coordinates[groups == group].mean(axis=0) for group in range(3)])
    nearest = np.linalg.norm(centres - query, axis=1).argmin()
    assert nearest == groups[0]


def test_projection_input_is_checked():
    points, _ = blobs()
    with pytest.raises(ValueError, match="2 or 3 dimensions"):
        project(points, "PCA", 4)
    with pytest.raises(ValueError, match="more than 2 points"):
        project(points[:2], "PCA", 2)
    with pytest.raises(ValueError, match="Unknown method"):
        project(points, "t-SNE", 2)


def test_the_silhouette_suggests_the_planted_number_of_clusters():
    points, groups = blobs()
    suggestions = suggest_clusters(points, range(2, 7))
    clusters = cluster(points, 3)

    assert suggestions["k"].iloc[0] == 3
    assert pd.crosstab(clusters, groups).max(axis=1).sum() == len(points)  # each cluster is one group
    with pytest.raises(ValueError, match="between 2 and"):
        cluster(points, 1)


def test_distinctive_words_name_each_cluster():
    texts = ["river water fish", "river boat water", "money loan interest", "loan money bank"]
    summary = distinctive_words(texts, np.array([0, 0, 1, 1]), ["nature", "nature", "finance", "nature"], top_n=2)

    assert summary["words"].tolist() == ["river, water", "loan, money"]  # ties in alphabetical order
    assert summary["dominant_label"].iloc[0] == "nature" and summary["label_share"].tolist() == [1.0, 0.5]
    assert summary["size"].tolist() == [2, 2]


def test_sample_rows_are_distinct_and_sorted():
    rows = sample_rows(100, 10, seed=1)

    assert len(set(rows)) == 10 and (np.diff(rows) > 0).all()
    assert sample_rows(5, 10).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="at least 1"):
        sample_rows(5, 0)


def test_the_sidebar_text_is_pooled_as_the_store_pools_its_texts(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    for text_id, text in enumerate(TEXTS[:3]):
        attention = compute_attention(tiny["bert"], text)
        for level in (0, store.levels - 1):
            pooled = pooled_vector(attention.hidden_states, attention.main.key_special_mask, level)
            np.testing.assert_allclose(pooled, store.pooled(level)[text_id], rtol=2e-3, atol=2e-3)


def test_pooling_leaves_the_special_tokens_out_and_checks_its_input():
    states = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)  # (levels, tokens, hidden)
    special = np.array([True, False, False, True])
    states[:, special] = 1e6  # a special token that counted would move the mean far away

    np.testing.assert_array_equal(pooled_vector(states, special, 1), states[1, 1:3].mean(axis=0))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        pooled_vector(states, special[:3], 1)
    with pytest.raises(ValueError, match="from 0 to 1"):
        pooled_vector(states, special, 2)
    with pytest.raises(ValueError, match=r"\(levels, tokens, hidden\)"):
        pooled_vector(states[0], special, 0)
    with pytest.raises(ValueError, match="no piece but special tokens"):
        pooled_vector(states, np.ones(4, dtype=bool), 0)


def test_sources_are_offered_most_texts_first_and_pick_their_texts():
    texts = pd.DataFrame({"text": list("abcdef"), "source": ["news", "wiki", "wiki", "fiction", "wiki", "news"]})

    assert corpus_sources(texts) == ["wiki", "news", "fiction"]
    assert corpus_sources(texts.assign(source="news")) == [] and corpus_sources(texts[["text"]]) == []
    assert source_texts(texts, ["news", "fiction"]).tolist() == [0, 3, 5]
    assert source_texts(texts).tolist() == list(range(6))
    with pytest.raises(ValueError, match="at least one source"):
        source_texts(texts, [])
    with pytest.raises(ValueError, match="no sources"):
        source_texts(texts[["text"]], ["news"])


def test_a_sample_of_points_keeps_to_the_chosen_texts(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    chosen = np.array([1, 4, 6])

    assert sample_points(store, "text", chosen, 10) == (1, 4, 6)
    assert sample_points(store, "text", chosen, 2) == tuple(int(i) for i in chosen[sample_rows(3, 2)])
    pieces = sample_points(store, "piece", chosen, 10_000)
    assert all(isinstance(row, int) for row in pieces) and list(pieces) == sorted(pieces)
    assert set(store.tokens["text_id"].iloc[list(pieces)]) == {1, 4, 6}
    assert len(pieces) == int(store.tokens["text_id"].isin(chosen).sum())
    few = sample_points(store, "piece", chosen, 5)
    assert len(few) == 5 and set(few) <= set(pieces) and list(few) == sorted(few)
    with pytest.raises(ValueError, match="Unknown unit 'word'"):
        sample_points(store, "word", chosen, 10)
    with pytest.raises(ValueError, match="at least 1"):
        sample_points(store, "text", chosen, 0)


def test_a_dragged_box_selects_the_points_inside_it_ends_included():
    points = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0.0, 5.0, 1.0, 1.0], "z": [9.0, 9.0, 9.0, 0.0]})
    selection = {"points": {"x": [3.0, 1.0], "y": [0, 1]}}  # dragged right to left, as Vega-Lite reports it

    box = selected_box(selection, "points")
    assert box == {"x": (1.0, 3.0), "y": (0.0, 1.0)}
    assert points_in_box(points, box).tolist() == [False, False, True, True]
    assert points_in_box(points, {"z": (0.0, 0.0)}).tolist() == [False, False, False, True]
    assert points_in_box(points, {}).all()
    assert selected_box({"points": {}}, "points") == {} and selected_box(None, "points") == {}
    assert selected_box({"other": {"x": [0, 1]}}, "points") == {}


def test_a_malformed_box_or_one_over_missing_axes_is_refused():
    points = pd.DataFrame({"x": [0.0], "y": [0.0]})
    with pytest.raises(ValueError, match="two numbers for axis 'x'"):
        selected_box({"points": {"x": [1.0]}}, "points")
    with pytest.raises(ValueError, match="two numbers for axis 'y'"):
        selected_box({"points": {"y": ["a", "b"]}}, "points")
    with pytest.raises(ValueError, match="two ends"):
        selected_box({"points": [1, 2]}, "points")
    with pytest.raises(ValueError, match=r"\['z'\] are not columns"):
        points_in_box(points, {"z": (0.0, 1.0)})
    with pytest.raises(ValueError, match="low end on 'x' is above"):
        points_in_box(points, {"x": (1.0, 0.0)})


def test_a_projection_of_a_store_carries_labels_clusters_and_the_query(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    texts = build_projection(store, 2, "text", "PCA", np.arange(len(store.texts)), 2, query=store.pooled(2)[0])
    pieces = build_projection(store, 1, "piece", "PCA", np.arange(20), 3, dimensions=3)

    assert texts.points["label"].tolist() == tiny_corpus().labels and texts.query is not None
    assert set(texts.points["cluster"]) == {0, 1} and {"x", "y"} <= set(texts.points.columns)
    assert pieces.axes == ["x", "y", "z"] and len(pieces.points) == 20 and "piece" in pieces.points
    assert len(pieces.clusters) == 3 and '"points"' in texts.to_json()


def test_separation_needs_two_labels_with_two_points_each(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    rows = np.arange(len(store.texts))
    with pytest.raises(ValueError, match="two labels"):
        separation_by_level(store, rows, ["a"] * len(rows), "text")
    with pytest.raises(ValueError, match="at least two points"):
        separation_by_level(store, rows, ["a"] * (len(rows) - 1) + ["b"], "text")


@pytest.mark.integration
def test_bbc_topics_separate_more_after_the_layers_than_at_the_embeddings(minilm, tmp_path):
    from xray.corpora.bbc_sentences import load_bbc_sentences

    corpus: Corpus = load_bbc_sentences(600)
    store = build_store(minilm, corpus, tmp_path, StoreSettings(bf16=False), tags=False)
    separation = separation_by_level(store, np.arange(len(corpus)), corpus.labels, "text")

    assert separation["knn_accuracy"].iloc[-1] > separation["knn_accuracy"].iloc[0] + 0.1
    assert separation["knn_accuracy"].iloc[-1] > separation["chance"].iloc[-1] + 0.2


def test_the_separation_sample_keeps_only_labels_with_enough_points():
    labels = np.array(["a"] * 20 + ["b"] * 3 + ["c"] * 7)
    chosen = separation_sample(labels, 100, min_per_label=5)

    assert set(labels[chosen]) == {"a", "c"} and len(chosen) == 27 and (np.diff(chosen) > 0).all()


@pytest.fixture
def counted_fits(monkeypatch):
    """The fits made, as (what, points, arguments); fitting the same thing twice fails the test."""
    fits: list[tuple] = []

    def once(name, fit):
        def fit_once(data, *args, **kwargs):
            if (name, len(data), args) in fits:
                raise AssertionError(f"{name} {args} of {len(data)} points fitted twice; it should be read from disk")
            fits.append((name, len(data), args))
            return fit(data, *args, **kwargs)

        return fit_once

    monkeypatch.setattr(projections, "fit_layout", once("layout", projections.fit_layout))
    monkeypatch.setattr(projections, "cluster", once("clusters", projections.cluster))
    return fits


def test_a_second_projection_reads_the_layout_from_disk_and_places_the_query_alike(tiny, tmp_path, counted_fits):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    rows, query = np.arange(len(store.texts)), store.pooled(2)[0]
    for method in ("PCA", "UMAP"):
        first = build_projection(store, 2, "text", method, rows, 2, query=query)
        again = build_projection(store, 2, "text", method, rows, 2, query=query)

        assert not first.from_disk and again.from_disk
        pd.testing.assert_frame_equal(first.points, again.points)
        np.testing.assert_allclose(again.query, first.query, atol=1e-5)
        assert again.explained_variance == first.explained_variance
    assert [name for name, *_ in counted_fits] == ["layout", "clusters", "layout"]  # KMeans is the same for both


def test_layouts_of_other_levels_rows_dimensions_or_seeds_do_not_collide(tiny, tmp_path):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    rows = np.arange(len(store.texts))
    variants = [
        ((2, "text", "PCA", rows, 2), {}),
        ((1, "text", "PCA", rows, 2), {}),
        ((2, "text", "PCA", rows[1:], 2), {}),
        ((2, "text", "PCA", rows, 3), {}),  # other clusters, the same layout
        ((2, "text", "PCA", rows, 2), {"dimensions": 3}),
        ((2, "text", "UMAP", rows, 2), {"seed": 1}),
        ((2, "text", "UMAP", rows, 2), {"seed": 2}),
        ((2, "piece", "PCA", rows, 2), {}),
    ]
    first = [build_projection(store, *args, **kwargs) for args, kwargs in variants]
    again = [build_projection(store, *args, **kwargs) for args, kwargs in variants]

    assert [projection.from_disk for projection in first] == [False] * 3 + [True] + [False] * 4
    assert all(projection.from_disk for projection in again)
    for fitted, read in zip(first, again, strict=True):  # each read its own file, not a neighbour's
        pd.testing.assert_frame_equal(fitted.points, read.points)
    assert not np.allclose(first[0].points["x"], first[1].points["x"])


@pytest.mark.parametrize("damage", [b"", b"not a zip file", None])
def test_a_damaged_file_is_fitted_again(tiny, tmp_path, damage):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    rows = np.arange(len(store.texts))
    first = build_projection(store, 2, "text", "PCA", rows, 2)
    for path in (store.folder / kept_arrays.FOLDER).glob("*.npz"):
        if damage is None:  # a readable file whose arrays do not fit the sample
            arrays = dict(np.load(path))
            np.savez(path, **{name: values[:3] if values.ndim else values for name, values in arrays.items()})
        else:
            path.write_bytes(damage)
    again = build_projection(store, 2, "text", "PCA", rows, 2)
    third = build_projection(store, 2, "text", "PCA", rows, 2)

    assert not again.from_disk and third.from_disk  # fitted again, and the repaired file is read next time
    pd.testing.assert_frame_equal(first.points, again.points)


def test_the_cluster_suggestion_is_read_from_disk_the_second_time(tiny, tmp_path, monkeypatch):
    store = build_store(tiny["bert"], tiny_corpus(), tmp_path, SETTINGS, tags=False)
    rows = np.arange(len(store.texts))
    first = stored_suggestion(store, 2, "text", rows)
    monkeypatch.setattr(projections, "suggest_clusters", lambda *args, **kwargs: pytest.fail("suggested twice"))

    pd.testing.assert_frame_equal(stored_suggestion(store, 2, "text", rows), first)
    assert first["k"].iloc[0] in range(2, len(rows))


def test_a_read_only_cache_costs_a_fit_not_an_error(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(kept_arrays, "write_atomically", refuse)
    kept_arrays.write_arrays(tmp_path / "layout.npz", {"a": 1}, {"x": np.zeros(2)})

    assert kept_arrays.read_arrays(tmp_path / "layout.npz", {"a": 1}) is None
