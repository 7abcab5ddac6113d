"""Projections (LIT): a corpus sample at the sidebar layer in two dimensions, clustered and coloured."""

from __future__ import annotations

import streamlit as st

from components.corpus import start_corpus_page
from components.downloads import chart_downloads, chart_with_downloads, download, download_row
from components.feedback import user_errors
from components.navigation import PageInfo
from components.projections import (
    cached_cluster_suggestion,
    cached_predicted_classes,
    cached_projection,
    cached_separation,
)
from xray.levels import level_name
from xray.models.batching import bf16_is_fast
from xray.models.classifiers import ClassifierSpec, default_kind
from xray.rendering.corpus_charts import SELECTION, projection_scatter, separation_lines
from xray.techniques.projections import (
    INTERNAL_COLUMNS,
    METHODS,
    corpus_sources,
    points_in_box,
    sample_points,
    selected_box,
    separation_sample,
    source_texts,
)

UNITS = {"text": "Texts (mean of their word pieces)", "piece": "Word pieces"}
AXES = {"x / y": ("x", "y"), "x / z": ("x", "z"), "y / z": ("y", "z")}
PREDICTION = "prediction"
SEPARATION_SAMPLE = 1_000
MIN_PER_LABEL = 5
SEPARATION_MARGIN = 0.05  # a level this much less separable than the best gets a pointer to the best

PAGE = PageInfo(
    title="Projections",
    icon="🗺️",
    caption=(
        "How does the model organise a whole corpus? Each point is a text (or a word piece) of a sample, placed by "
        "PCA or UMAP from its hidden state at the sidebar layer (cosine geometry). Colour it by label, cluster, "
        "prediction or any column; drag a box to list points; your sidebar text is the black cross. As LIT's "
        "embedding projector, with the separation of the labels charted layer by layer."
    ),
    question=(
        "How does the model organise a whole data set, and at which layer do the classes come apart? PCA and UMAP "
        "of a corpus, coloured by label, cluster or prediction, with the clusters' distinctive words."
    ),
)

page = start_corpus_page(PAGE)
selection, store, key, level = page.selection, page.store, page.key, page.level
texts = store.texts

row = st.columns(4)
unit = row[0].selectbox("Points", list(UNITS), format_func=UNITS.get, key="projection.unit", bind="query-params")
method = row[1].segmented_control(
    "Method", METHODS, default="PCA", key="projection.method", required=True, bind="query-params"
)
size = row[2].select_slider("Sample", [200, 500, 1000, 2000, 5000], 2000, key="projection.sample", bind="query-params")
sources = corpus_sources(texts)
picked = row[3].multiselect("Sources", sources, default=sources[:1], key="projection.sources") if sources else None
if sources and not picked:
    st.info("Pick at least one source.")
    st.stop()
chosen = source_texts(texts, picked)
rows = sample_points(store, unit, chosen, size)
if len(rows) < 10:
    st.warning("The sample has fewer than 10 points; pick more sources or another corpus.")
    st.stop()

with user_errors("suggesting a number of clusters"), st.spinner("Trying 2 to 10 clusters…"):
    suggestion = cached_cluster_suggestion(key, level, unit, rows)
best = int(suggestion["k"].iloc[0])
label_column = store.manifest.label_column
label_count = int(texts[label_column].iloc[list(chosen)].nunique()) if label_column else 0
clusters = st.slider(
    "KMeans clusters",
    2,
    10,
    min(max(label_count, 2), 10) if label_column else best,
    key="projection.clusters",
    help=("Opens on the number of labels in the sample. " if label_column else "")
    + f"The silhouette (cosine) is highest at {best} clusters for this sample and layer: "
    + ", ".join(f"{k}: {s:.3f}" for k, s in suggestion.sort_values("k").itertuples(index=False)),
)
dimensions = 3 if method == "PCA" else 2
estimate = "a few seconds" if method == "PCA" else f"about {1 + len(rows) / 2000:.0f} s (a first run compiles too)"
with user_errors(f"projecting with {method}"), st.spinner(f"Projecting {len(rows):,} points with {method}: {estimate}"):
    projection = cached_projection(
        key,
        level,
        unit,
        method,
        rows,
        clusters,
        dimensions,
        (selection.model_name, selection.text) if unit == "text" else None,
    )
points = projection.points

separation = None
if store.manifest.label_column:
    labels = points["label"].to_numpy()
    subsample = separation_sample(labels, SEPARATION_SAMPLE, MIN_PER_LABEL)
    with user_errors("measuring separation"), st.spinner("Probing every level…"):
        separation = cached_separation(key, unit, tuple(points["row"].to_numpy()[subsample]), tuple(labels[subsample]))
    best_level = separation.loc[separation["knn_accuracy"].idxmax()]
    here = separation.loc[separation["level"] == level, "knn_accuracy"].iloc[0]
    if best_level["knn_accuracy"] - here >= SEPARATION_MARGIN:
        st.info(
            f"The labels separate best at {best_level['level_name']} (a 10-nearest-neighbour probe is right "
            f"{best_level['knn_accuracy']:.0%} of the time there, against {here:.0%} at {level_name(level)}): set "
            f"the sidebar layer to {int(best_level['level']) - 1} to see them come apart."
            if best_level["level"] > 0
            else f"The labels separate best at the embeddings ({best_level['knn_accuracy']:.0%}, against {here:.0%} "
            f"at {level_name(level)}).",
            icon=":material/layers:",
        )

colour_options = ["label"] if store.manifest.label_column else []
colour_options += ["cluster"] + (["pos"] if unit == "piece" else [])
classifier_spec = None
if unit == "text":
    kind = default_kind(selection.model)
    classifier_spec = ClassifierSpec.choose(kind, selection.model_name, bf16=bf16_is_fast(selection.model.device))
    colour_options.append(PREDICTION)
colour_options += [c for c in texts.columns if c not in ("text", *INTERNAL_COLUMNS, store.manifest.label_column)]
colour = st.selectbox("Colour by", colour_options, key="projection.colour", bind="query-params")
if colour == PREDICTION:
    with user_errors("classifying the sample"):
        points = points.assign(prediction=cached_predicted_classes(classifier_spec, tuple(points["text"])))
    st.caption(f"Predictions of {classifier_spec.kind} classifier on {classifier_spec.model_name}.")

axes = AXES["x / y"]
if dimensions == 3:
    pair = st.radio("Axes", list(AXES), horizontal=True, key="projection.axes", bind="query-params")
    axes = AXES[pair]
    variance = dict(zip(["x", "y", "z"], projection.explained_variance, strict=True))
    st.caption("PCA keeps " + ", ".join(f"{v:.0%} of the variance on {axis}" for axis, v in variance.items()) + ".")
query = None
if projection.query is not None:
    place = dict(zip(projection.axes, projection.query, strict=True))
    query = (place[axes[0]], place[axes[1]])
tooltip = ["text", "label", "cluster"] + (["piece", "pos"] if unit == "piece" else [])
chart = projection_scatter(
    points,
    colour,
    *axes,
    f"{method} of {len(points):,} {'texts' if unit == 'text' else 'word pieces'} at {level_name(level)}",
    tooltip,
    query,
)
event = st.altair_chart(chart, width="content", on_select="rerun", selection_mode=SELECTION, key="projection.chart")
chart_downloads(chart, f"projection {method} {unit}s {level_name(level)} by {colour}", "projection.chart_png")
box = selected_box(event.selection if event else None, SELECTION)
if box:
    inside = points_in_box(points, box)
    st.caption(f"{inside.sum():,} points selected.")
    st.dataframe(points.loc[inside, ["text", *tooltip[1:]]], hide_index=True, width="stretch")

st.subheader("Clusters")
st.caption("Each cluster's most distinctive words (class-based TF-IDF) and its most common label.")
st.dataframe(projection.clusters, hide_index=True, width="stretch")

if separation is not None:
    st.subheader("Separation of the labels, layer by layer")
    separation_chart = separation_lines(separation, level)
    caption = (
        f"Labels with fewer than {MIN_PER_LABEL} points in the sample are left out. "
        "knn_accuracy: a 10-nearest-neighbour probe's 5-fold accuracy at predicting the label from the vector; "
        "silhouette: how far apart the labels' points lie (1 best, 0 overlapping); chance: the largest label's "
        f"share. Measured on {len(subsample):,} of the sampled points."
    )
    chart_with_downloads(separation_chart, "separation_by_layer", "projection.separation_png", caption=caption)

with st.expander("Downloads"):
    row = download_row()
    download("Points (CSV)", lambda: points.to_csv(index=False), "projection.csv", "text/csv", "projection.csv", row)
    download("Projection (JSON)", projection.to_json, "projection.json", "application/json", "projection.json", row)
