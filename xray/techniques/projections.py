"""Projections (LIT's embedding projector, Tenney et al. 2020): how does the model organise a whole data set at
one layer? PCA or UMAP of a corpus sample's vectors (one per text, or one per word piece), KMeans clusters with
a silhouette-based suggestion for their number, each cluster's most distinctive words (class-based TF-IDF), and
what LIT does not draw: how well every level separates the labels, so one sees the clusters form.

Vectors are normalised first, so distances are cosine distances, as in the Embedding search page. A sample's
layout and clusters are kept on disk under the store's folder (:mod:`xray.store.kept_arrays`), so only a
first visit fits them.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any, Literal, get_args

import faiss
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.metrics import silhouette_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from xray.levels import level_name
from xray.results import json_text
from xray.store import kept_arrays
from xray.store.format import ActivationStore
from xray.store.search import normalised
from xray.store.shards import gather_rows
from xray.translation import _

Method = Literal["PCA", "UMAP"]
Unit = Literal["text", "piece"]
METHODS: tuple[Method, ...] = ("PCA", "UMAP")
CLUSTER_RANGE = range(2, 11)
PROBE_NEIGHBOURS = 10
PROBE_FOLDS = 5
SILHOUETTE_SAMPLE = 2_000
UMAP_NEIGHBOURS = 15
UMAP_EPOCHS = 200
"""UMAP's optimisation epochs: umap-learn's own number above 10,000 points (it runs 500 below). They are nearly all
of a fit's time (about 9 ms each for 5,000 points on two CPU cores); 500 keep the trustworthiness at k=15 only about
0.003 to 0.01 higher (bench/store.py measures both)."""
LAYOUT_VERSION = 1
"""Raise it when a change to this module moves the coordinates of a layout kept on disk."""
WARM_UP_POINTS = 300


@dataclass(frozen=True)
class Projection:
    """A corpus sample placed in 2 or 3 dimensions.

    points: one row per point: x, y (and z for 3D), row (text id, or stored piece row), text, label,
        cluster, and for pieces piece and pos.
    query: the sidebar sentence's coordinates (x, y[, z]) in the same space, or None.
    explained_variance: for PCA, the share of variance each axis keeps; empty for UMAP.
    clusters: per cluster its size, dominant label and most distinctive words (see :func:`cluster_summary`).
    from_disk: whether the coordinates were read from disk (fitted by an earlier visit) rather than fitted now.
    """

    method: Method
    unit: Unit
    level: int
    dimensions: int
    points: pd.DataFrame
    query: tuple[float, ...] | None
    explained_variance: tuple[float, ...]
    clusters: pd.DataFrame
    from_disk: bool = False

    @property
    def axes(self) -> list[str]:
        return ["x", "y", "z"][: self.dimensions]

    def table(self) -> pd.DataFrame:
        return self.points.copy()

    def to_json(self) -> str:
        return json_text(
            {
                "method": self.method,
                "unit": self.unit,
                "level": self.level,
                "level_name": level_name(self.level),
                "explained_variance": list(self.explained_variance),
                "query": list(self.query) if self.query else None,
                "points": self.points.to_dict(orient="records"),
            }
        )


def sample_rows(total: int, size: int, seed: int = 0) -> np.ndarray:
    """Up to ``size`` of ``range(total)``, at random without replacement, in ascending order."""
    if size < 1:
        raise ValueError(f"The sample needs at least 1 point, got {size}.")
    if total <= size:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, size=size, replace=False))


def corpus_sources(texts: pd.DataFrame) -> list[str]:
    """The corpus's sources, most texts first, to pick among; empty where it has no "source" column or one source."""
    if "source" not in texts.columns or texts["source"].nunique() < 2:
        return []
    return texts["source"].value_counts().index.tolist()


def source_texts(texts: pd.DataFrame, sources: Collection[str] | None = None) -> np.ndarray:
    """(chosen,) ascending ids of the rows of ``texts`` whose "source" is one of ``sources``; every text where
    ``sources`` is None."""
    if sources is None:
        return np.arange(len(texts))
    if "source" not in texts.columns:
        raise ValueError(
            _("This corpus has no sources to pick among; its columns are {columns}.").format(
                columns=", ".join(texts.columns)
            )
        )
    if not sources:
        raise ValueError(_("Pick at least one source."))
    return np.flatnonzero(texts["source"].isin(list(sources)).to_numpy())


def sample_points(
    store: ActivationStore, unit: Unit, text_ids: np.ndarray, size: int, seed: int = 0
) -> tuple[int, ...]:
    """Up to ``size`` points of the texts ``text_ids``: (chosen,) ids of the store's texts, at random without
    replacement (:func:`sample_rows`), ascending. They are text ids for unit "text", and for unit "piece" the rows
    of the store's stored pieces of those texts (``store.tokens``), as :func:`build_projection` takes them; a tuple
    of ints, so a cached function can take it as its key."""
    if unit == "text":
        candidates = np.asarray(text_ids)
    elif unit == "piece":
        candidates = np.flatnonzero(store.tokens["text_id"].isin(text_ids).to_numpy())
    else:
        raise ValueError(f"Unknown unit {unit!r}; pick one of {get_args(Unit)}.")
    return tuple(int(row) for row in candidates[sample_rows(len(candidates), size, seed)])


def selected_box(selection: Mapping[str, Any] | None, name: str) -> dict[str, tuple[float, float]]:
    """The box dragged over a chart: per axis its (low, high), from the state of a chart's selections as Altair
    (Vega-Lite) reports it, ``{selection name: {field: [one end, the other end]}}`` (Streamlit's
    ``event.selection``); empty where ``selection`` is None or holds no box named ``name``."""
    box = (selection or {}).get(name) or {}
    if not isinstance(box, Mapping):
        raise ValueError(f"Selection {name!r} should map each axis to its two ends, got {box!r}.")
    ends: dict[str, tuple[float, float]] = {}
    for axis, interval in box.items():
        try:
            first, second = (float(end) for end in interval)
        except (TypeError, ValueError):
            raise ValueError(
                f"Selection {name!r} should give two numbers for axis {axis!r}, got {interval!r}."
            ) from None
        ends[axis] = (min(first, second), max(first, second))
    return ends


def points_in_box(points: pd.DataFrame, box: Mapping[str, tuple[float, float]]) -> np.ndarray:
    """(len(points),) True at each point inside ``box`` (per axis column of ``points``, its (low, high), ends
    included; see :func:`selected_box`); every point where the box has no axis."""
    missing = [axis for axis in box if axis not in points.columns]
    if missing:
        raise ValueError(f"The box's axes {missing} are not columns of the points ({', '.join(points.columns)}).")
    inside = np.ones(len(points), dtype=bool)
    for axis, (low, high) in box.items():
        if low > high:
            raise ValueError(f"The box's low end on {axis!r} is above its high end: ({low}, {high}).")
        inside &= points[axis].between(low, high).to_numpy()
    return inside


def pooled_vector(hidden_states: np.ndarray, special_mask: np.ndarray, level: int) -> np.ndarray:
    """(hidden,): a text's vector at ``level`` as the store pools its texts, the mean of its non-special
    pieces' hidden states (the store keeps the pieces whose special-tokens mask is 0).

    hidden_states: (levels, tokens, hidden), embeddings first; special_mask: (tokens,) True at special tokens.
    """
    if hidden_states.ndim != 3:
        raise ValueError(f"hidden_states must be (levels, tokens, hidden), got shape {hidden_states.shape}.")
    levels, tokens = hidden_states.shape[:2]
    if special_mask.shape != (tokens,):
        raise ValueError(f"special_mask must have shape ({tokens},), got {special_mask.shape}.")
    if not 0 <= level < levels:
        raise ValueError(
            _("Level {level} does not exist; pick one from 0 to {last}.").format(level=level, last=levels - 1)
        )
    kept = ~special_mask.astype(bool)
    if not kept.any():
        raise ValueError(_("The text has no piece but special tokens, so it has no pooled vector."))
    return hidden_states[level][kept].mean(axis=0)


def sample_vectors(store: ActivationStore, level: int, unit: Unit, rows: np.ndarray) -> np.ndarray:
    """(len(rows), hidden) float32: pooled text vectors (unit "text") or stored piece vectors (unit "piece")."""
    source = store.pooled(level) if unit == "text" else store.vectors(level)
    return np.asarray(gather_rows(source, rows), dtype=np.float32)


@dataclass(frozen=True, eq=False)
class Layout:
    """A fitted projection of n normalised vectors, and what places a new vector among them.

    coordinates: (n, dimensions) float32. explained_variance: PCA's share of the variance per axis; empty for UMAP.
    mean: (hidden,) and components: (dimensions, hidden), PCA's linear map; None for UMAP, which places a new
    vector from its nearest sample points instead (see :func:`place_query`).
    """

    method: Method
    coordinates: np.ndarray
    explained_variance: tuple[float, ...]
    mean: np.ndarray | None = None
    components: np.ndarray | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        """The layout as named arrays (see :func:`layout_from_arrays`)."""
        arrays = {"coordinates": self.coordinates, "explained_variance": np.array(self.explained_variance)}
        if self.mean is not None and self.components is not None:
            arrays |= {"mean": self.mean, "components": self.components}
        return arrays


def layout_from_arrays(method: Method, arrays: dict[str, np.ndarray]) -> Layout:
    """The inverse of :meth:`Layout.arrays`."""
    return Layout(
        method=method,
        coordinates=arrays["coordinates"],
        explained_variance=tuple(float(v) for v in arrays["explained_variance"]),
        mean=arrays.get("mean"),
        components=arrays.get("components"),
    )


def fit_layout(
    data: np.ndarray, method: Method, dimensions: int = 2, seed: int = 0, epochs: int = UMAP_EPOCHS
) -> Layout:
    """Fit ``method`` to data: (n, hidden) normalised vectors. epochs: UMAP's optimisation epochs."""
    if dimensions not in (2, 3):
        raise ValueError(f"Projections have 2 or 3 dimensions, not {dimensions}.")
    if len(data) <= dimensions:
        raise ValueError(
            _("Projecting needs more than {dimensions} points; the sample has {count}.").format(
                dimensions=dimensions, count=len(data)
            )
        )
    if method == "PCA":
        fitted = PCA(n_components=dimensions, random_state=seed).fit(data)
        return Layout(
            method=method,
            coordinates=fitted.transform(data).astype(np.float32),
            explained_variance=tuple(float(v) for v in fitted.explained_variance_ratio_),
            mean=fitted.mean_.astype(np.float32),
            components=fitted.components_.astype(np.float32),
        )
    if method == "UMAP":
        if epochs < 1:
            raise ValueError(f"UMAP needs at least 1 epoch, got {epochs}.")
        return Layout(method=method, coordinates=_umap(data, dimensions, seed, epochs), explained_variance=())
    raise ValueError(f"Unknown method {method!r}; pick one of {METHODS}.")


def place_query(layout: Layout, data: np.ndarray, query_data: np.ndarray) -> np.ndarray:
    """(dimensions,) where the fitted ``layout`` of data: (n, hidden) puts query_data: (1, hidden), without changing
    it. PCA applies its linear map. UMAP takes the similarity-weighted mean of the query's UMAP_NEIGHBOURS nearest
    sample points' coordinates: where UMAP's own ``transform`` starts a new point (without the few optimisation
    steps that follow), and it needs no fitted reducer, so a layout read from disk places a query too."""
    if layout.mean is not None and layout.components is not None:
        return ((query_data[0] - layout.mean) @ layout.components.T).astype(np.float32)
    neighbours = min(UMAP_NEIGHBOURS, len(data) - 1)
    similarities, indices = faiss.knn(query_data, data, neighbours, metric=faiss.METRIC_INNER_PRODUCT)
    weights = np.maximum(similarities[0], 1e-6)
    return (weights[:, None] * layout.coordinates[indices[0]]).sum(axis=0) / weights.sum()


def project(
    vectors: np.ndarray,
    method: Method,
    dimensions: int = 2,
    query: np.ndarray | None = None,
    seed: int = 0,
    epochs: int = UMAP_EPOCHS,
) -> tuple[np.ndarray, np.ndarray | None, tuple[float, ...]]:
    """(coordinates (n, dimensions), the query's (dimensions,) or None, explained variance per axis (PCA only)).

    vectors: (n, hidden); query: (hidden,), placed by the fitted projection without changing it.
    """
    data = normalised(vectors)
    layout = fit_layout(data, method, dimensions, seed, epochs)
    placed = place_query(layout, data, normalised(query[None])) if query is not None else None
    return layout.coordinates, placed, layout.explained_variance


def _umap(data: np.ndarray, dimensions: int, seed: int, epochs: int) -> np.ndarray:
    """(n, dimensions) UMAP of data: (n, hidden) normalised, over a cosine k-nearest-neighbour graph found by FAISS
    (exact), so pynndescent's graph search, whose numba compilation costs about a minute in a fresh process, never
    runs. ``random_state`` makes it deterministic (and single-threaded)."""
    import umap  # imported on use: numba compiles parts of it on first use (see components.warm_up)

    neighbours = min(UMAP_NEIGHBOURS, len(data) - 1)
    similarities, indices = faiss.knn(data, data, neighbours, metric=faiss.METRIC_INNER_PRODUCT)
    distances = np.maximum(1.0 - similarities, 0.0).astype(np.float32)
    reducer = umap.UMAP(
        n_components=dimensions,
        n_neighbors=neighbours,
        metric="cosine",
        n_epochs=epochs,
        random_state=seed,
        n_jobs=1,
        precomputed_knn=(indices, distances, None),
    )
    with warnings.catch_warnings():  # it warns that transform() will be unavailable; place_query does without it
        warnings.filterwarnings("ignore", message="precomputed_knn", category=UserWarning)
        return reducer.fit_transform(data).astype(np.float32)


def sample_about(store: ActivationStore, level: int, unit: Unit, rows: np.ndarray, seed: int) -> dict:
    """What every result over a sample depends on, as :mod:`xray.store.kept_arrays` keys it."""
    return {
        "version": LAYOUT_VERSION,
        "store": asdict(store.manifest),
        "level": level,
        "unit": unit,
        "rows": kept_arrays.rows_digest(rows),
        "points": len(rows),
        "seed": seed,
    }


def stored_layout(
    store: ActivationStore,
    level: int,
    unit: Unit,
    method: Method,
    rows: np.ndarray,
    data: np.ndarray,
    dimensions: int = 2,
    seed: int = 0,
) -> tuple[Layout, bool]:
    """(the layout of data: (len(rows), hidden), the normalised vectors of ``rows`` at ``level``, True if it was
    read from disk). Layouts are kept under the store's folder (see :mod:`xray.store.kept_arrays`)."""
    package = "umap-learn" if method == "UMAP" else "scikit-learn"
    about = sample_about(store, level, unit, rows, seed) | {
        "method": method,
        "dimensions": dimensions,
        "fitter": f"{package} {metadata.version(package)}",
        "settings": {"neighbours": UMAP_NEIGHBOURS, "epochs": UMAP_EPOCHS} if method == "UMAP" else {},
    }
    arrays, from_disk = kept_arrays.kept(
        store.folder / kept_arrays.FOLDER,
        about,
        lambda: fit_layout(data, method, dimensions, seed).arrays(),
        {"coordinates": (len(rows), dimensions)},
    )
    return layout_from_arrays(method, arrays), from_disk


def stored_clusters(
    store: ActivationStore, level: int, unit: Unit, rows: np.ndarray, data: np.ndarray, k: int, seed: int = 0
) -> np.ndarray:
    """(len(rows),) :func:`cluster` of data: (len(rows), hidden), the vectors of ``rows`` at ``level``, kept on
    disk beside the layouts (KMeans of 5,000 points takes seconds)."""
    about = sample_about(store, level, unit, rows, seed) | {
        "method": "KMeans",
        "clusters": k,
        "fitter": f"scikit-learn {metadata.version('scikit-learn')}",
    }
    arrays, _from_disk = kept_arrays.kept(
        store.folder / kept_arrays.FOLDER,
        about,
        lambda: {"clusters": cluster(data, k, seed)},
        {"clusters": (len(rows),)},
    )
    return arrays["clusters"]


def stored_suggestion(store: ActivationStore, level: int, unit: Unit, rows: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """:func:`suggest_clusters` for the vectors of ``rows`` at ``level``, kept on disk beside the layouts (it fits
    KMeans nine times: seconds for a few thousand points)."""
    about = sample_about(store, level, unit, rows, seed) | {
        "method": "silhouette",
        "candidates": list(CLUSTER_RANGE),
        "fitter": f"scikit-learn {metadata.version('scikit-learn')}",
    }

    def suggest() -> dict[str, np.ndarray]:
        table = suggest_clusters(sample_vectors(store, level, unit, rows), seed=seed)
        return {"k": table["k"].to_numpy(), "silhouette": table["silhouette"].to_numpy()}

    arrays, _from_disk = kept_arrays.kept(store.folder / kept_arrays.FOLDER, about, suggest, {})
    return pd.DataFrame({"k": arrays["k"], "silhouette": arrays["silhouette"]})


def suggest_clusters(vectors: np.ndarray, candidates: range = CLUSTER_RANGE, seed: int = 0) -> pd.DataFrame:
    """Silhouette (cosine) of KMeans for each candidate number of clusters: k, silhouette; best first."""
    data = normalised(vectors)
    top = min(max(candidates), len(data) - 1)
    records = []
    for k in (k for k in candidates if k <= top):
        clusters = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(data)
        score = silhouette_score(
            data, clusters, metric="cosine", sample_size=min(SILHOUETTE_SAMPLE, len(data)), random_state=seed
        )
        records.append({"k": k, "silhouette": round(float(score), 4)})
    if not records:
        raise ValueError(_("Clustering needs at least 3 points; the sample has {count}.").format(count=len(data)))
    return pd.DataFrame(records).sort_values(["silhouette", "k"], ascending=[False, True]).reset_index(drop=True)


def cluster(vectors: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """(n,) KMeans cluster of each normalised vector, 0 to k - 1."""
    if not 2 <= k < len(vectors):
        raise ValueError(_("Pick between 2 and {most} clusters, not {k}.").format(most=len(vectors) - 1, k=k))
    return KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(normalised(vectors))


CLUSTER_STOP_WORDS = sorted(ENGLISH_STOP_WORDS | {"said", "says", "mr", "mrs", "ms", "told"})
"""Words never shown as a cluster's words: scikit-learn's English stop words and the newswire's reporting words
("said", "mr", ...), which every cluster of news shares."""


def distinctive_words(texts: list[str], clusters: np.ndarray, labels: list[str] | None, top_n: int = 8) -> pd.DataFrame:
    """Per cluster: cluster, size, dominant_label, label_share, words (its ``top_n`` words by class-based TF-IDF,
    as BERTopic ranks them: a word's frequency in the cluster, times log(1 + mean words per cluster over the
    word's frequency in all clusters))."""
    ids = sorted(set(clusters.tolist()))
    documents = [" ".join(t for t, c in zip(texts, clusters, strict=True) if c == cluster_id) for cluster_id in ids]
    vectorizer = CountVectorizer(stop_words=CLUSTER_STOP_WORDS, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
    try:
        counts = vectorizer.fit_transform(documents).toarray().astype(np.float64)
    except ValueError:  # every text is stop words or digits
        counts = np.zeros((len(ids), 0))
    vocabulary = vectorizer.get_feature_names_out() if counts.shape[1] else np.array([])
    term_frequency = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    weight = np.log1p(counts.sum(axis=1).mean() / np.maximum(counts.sum(axis=0), 1))
    scores = term_frequency * weight
    records = []
    for position, cluster_id in enumerate(ids):
        members = clusters == cluster_id
        best = np.lexsort((vocabulary, -scores[position]))[:top_n] if len(vocabulary) else []
        record = {"cluster": cluster_id, "size": int(members.sum()), "words": ", ".join(vocabulary[best])}
        if labels is not None:
            shares = pd.Series(np.asarray(labels)[members]).value_counts(normalize=True)
            record |= {"dominant_label": shares.index[0], "label_share": round(float(shares.iloc[0]), 3)}
        records.append(record)
    return pd.DataFrame(records)


def separation_by_level(store: ActivationStore, rows: np.ndarray, labels: list[str], unit: Unit) -> pd.DataFrame:
    """How well each level separates ``labels``: level, level_name, knn_accuracy (a 10-nearest-neighbour probe,
    5-fold cross-validated, cosine), silhouette (of the labels, cosine) and chance (the majority share)."""
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ValueError(_("Separation needs at least two labels in the sample."))
    folds = min(PROBE_FOLDS, int(counts.min()))
    if folds < 2:
        raise ValueError(_("Every label needs at least two points in the sample to measure separation."))
    records = []
    for level in range(store.levels):
        data = normalised(sample_vectors(store, level, unit, rows))
        probe = KNeighborsClassifier(n_neighbors=min(PROBE_NEIGHBOURS, len(data) - 1), metric="cosine")
        accuracy = cross_val_score(probe, data, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=0))
        silhouette = silhouette_score(
            data, labels, metric="cosine", sample_size=min(SILHOUETTE_SAMPLE, len(data)), random_state=0
        )
        records.append(
            {
                "level": level,
                "level_name": level_name(level),
                "knn_accuracy": round(float(accuracy.mean()), 4),
                "silhouette": round(float(silhouette), 4),
                "chance": round(float(counts.max() / counts.sum()), 4),
            }
        )
    return pd.DataFrame(records)


INTERNAL_COLUMNS = ("first_row", "token_count", "truncated")


def point_table(store: ActivationStore, unit: Unit, rows: np.ndarray) -> pd.DataFrame:
    """The sampled points' metadata: row, text, every corpus column, and for pieces piece and pos."""
    texts = store.texts.drop(columns=[c for c in INTERNAL_COLUMNS if c in store.texts.columns])
    if unit == "text":
        return texts.iloc[rows].reset_index(drop=True).assign(row=rows)
    pieces = store.tokens.iloc[rows].reset_index(drop=True)
    table = texts.iloc[pieces["text_id"].to_numpy()].reset_index(drop=True)
    return table.assign(row=rows, piece=pieces["piece"].to_numpy(), pos=pieces["pos"].to_numpy())


def build_projection(
    store: ActivationStore,
    level: int,
    unit: Unit,
    method: Method,
    rows: np.ndarray,
    clusters: int,
    *,
    dimensions: int = 2,
    query: np.ndarray | None = None,
    seed: int = 0,
) -> Projection:
    """Project the sampled ``rows`` at ``level`` (or read the layout an earlier call kept on disk), cluster them
    into ``clusters`` groups, and place ``query``.

    rows: text ids (unit "text") or stored piece rows (unit "piece"); query: (hidden,) or None.
    """
    vectors = sample_vectors(store, level, unit, rows)
    data = normalised(vectors)
    layout, from_disk = stored_layout(store, level, unit, method, rows, data, dimensions, seed)
    placed = place_query(layout, data, normalised(query[None])) if query is not None else None
    points = point_table(store, unit, rows)
    label_column = store.manifest.label_column
    points["label"] = points[label_column].astype(str) if label_column else ""
    points["cluster"] = stored_clusters(store, level, unit, rows, data, clusters, seed)
    for axis, values in zip(["x", "y", "z"], layout.coordinates.T, strict=False):
        points[axis] = values.round(4)
    return Projection(
        method=method,
        unit=unit,
        level=level,
        dimensions=dimensions,
        points=points,
        query=tuple(float(v) for v in placed) if placed is not None else None,
        explained_variance=layout.explained_variance,
        clusters=cluster_summary(points, unit),
        from_disk=from_disk,
    )


def cluster_summary(points: pd.DataFrame, unit: Unit, top_n: int = 8) -> pd.DataFrame:
    """Per cluster of ``points`` its size, dominant label and most distinctive words (see
    :func:`distinctive_words`); for pieces, the words are the pieces themselves."""
    words = points["text"] if unit == "text" else points["piece"].str.lstrip("#Ġ▁")
    labels = points["label"].tolist() if (points["label"] != "").any() else None
    return distinctive_words(words.astype(str).tolist(), points["cluster"].to_numpy(), labels, top_n)


def separation_sample(labels: np.ndarray, size: int, min_per_label: int = 5) -> np.ndarray:
    """Up to ``size`` indices of ``labels`` (at random, sorted) whose label has at least ``min_per_label`` of
    them: the points :func:`separation_by_level` can score (a probe needs a few points of every label)."""
    chosen = sample_rows(len(labels), size)
    values, counts = np.unique(labels[chosen], return_counts=True)
    return chosen[np.isin(labels[chosen], values[counts >= min_per_label])]


def warm_up() -> None:
    """Compile UMAP's numba code once (a few seconds; up to 20 without numba's on-disk cache) on random points,
    so a visitor's first UMAP projection does not pay for it."""
    points = np.random.default_rng(0).normal(size=(WARM_UP_POINTS, 16)).astype(np.float32)
    project(points, "UMAP", 2, query=points[0])
