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
from components.run_marker import stop_page
from components.url_options import adopt_linked_option
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
from xray.translation import N_, _, n_, number, percent, translated

UNITS = {"text": N_("Texts (mean of their word pieces)"), "piece": N_("Word pieces")}
AXES = {"x / y": ("x", "y"), "x / z": ("x", "z"), "y / z": ("y", "z")}
PREDICTION = "prediction"
COLUMN_NAMES = {
    "text": N_("text"),
    "label": N_("label"),
    "cluster": N_("cluster"),
    "piece": N_("piece"),
    "pos": N_("pos"),
    PREDICTION: N_("prediction"),
    "word": N_("word"),
    "sense": N_("sense"),
    "sense_label": N_("sense label"),
    "start": N_("start"),
    "end": N_("end"),
    "source": N_("source"),
    "topic": N_("topic"),
    "article": N_("article"),
    "in_training": N_("in training"),
}  # headers of the page's point columns and the built-in corpora's (an uploaded corpus's columns keep their names)
CLUSTER_COLUMNS = {
    "cluster": N_("cluster"),
    "size": N_("size"),
    "words": N_("words"),
    "dominant_label": N_("dominant label"),
    "label_share": N_("label share"),
}
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


def unit_label(unit: str) -> str:
    return _(UNITS[unit])


def column_name(column: str) -> str:
    """A point column's header: the page's own columns translated, a corpus's own column as it is named."""
    return _(COLUMN_NAMES[column]) if column in COLUMN_NAMES else column


page = start_corpus_page(PAGE)
selection, store, key, level = page.selection, page.store, page.key, page.level
texts = store.texts

row = st.columns(4)
adopt_linked_option("projection.unit", list(UNITS), unit_label)
unit = row[0].selectbox(_("Points"), list(UNITS), format_func=unit_label, key="projection.unit", bind="query-params")
method = row[1].segmented_control(
    _("Method"), METHODS, default="PCA", key="projection.method", required=True, bind="query-params"
)
size = row[2].select_slider(
    _("Sample"), [200, 500, 1000, 2000, 5000], 2000, key="projection.sample", bind="query-params"
)
sources = corpus_sources(texts)
picked = (
    row[3].multiselect(
        _("Sources"), sources, default=sources[:1], key="projection.sources", placeholder=_("Pick sources…")
    )
    if sources
    else None
)
if sources and not picked:
    st.info(_("Pick at least one source."))
    stop_page()
chosen = source_texts(texts, picked)
rows = sample_points(store, unit, chosen, size)
if len(rows) < 10:
    st.warning(_("The sample has fewer than 10 points; pick more sources or another corpus."))
    stop_page()

with user_errors(_("suggesting a number of clusters")), st.spinner(_("Trying 2 to 10 clusters…")):
    suggestion = cached_cluster_suggestion(key, level, unit, rows)
best = int(suggestion["k"].iloc[0])
label_column = store.manifest.label_column
label_count = int(texts[label_column].iloc[list(chosen)].nunique()) if label_column else 0
silhouettes = ", ".join(f"{k}: {number(s, 3)}" for k, s in suggestion.sort_values("k").itertuples(index=False))
suggested = _("The silhouette (cosine) is highest at {best} clusters for this sample and layer: {silhouettes}").format(
    best=best, silhouettes=silhouettes
)
clusters = st.slider(
    _("KMeans clusters"),
    2,
    10,
    min(max(label_count, 2), 10) if label_column else best,
    key="projection.clusters",
    help=" ".join([_("Opens on the number of labels in the sample."), suggested]) if label_column else suggested,
)
dimensions = 3 if method == "PCA" else 2
estimate = (
    _("a few seconds")
    if method == "PCA"
    else _("about {seconds} s (a first run compiles too)").format(seconds=number(1 + len(rows) / 2000, 0))
)
projecting = _("Projecting {count} points with {method}: {estimate}").format(
    count=number(len(rows), 0), method=method, estimate=estimate
)
with user_errors(_("projecting with {method}").format(method=method)), st.spinner(projecting):
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
    with user_errors(_("measuring separation")), st.spinner(_("Probing every level…")):
        separation = cached_separation(key, unit, tuple(points["row"].to_numpy()[subsample]), tuple(labels[subsample]))
    best_level = separation.loc[separation["knn_accuracy"].idxmax()]
    here = separation.loc[separation["level"] == level, "knn_accuracy"].iloc[0]
    if best_level["knn_accuracy"] - here >= SEPARATION_MARGIN:
        said = {
            "best": translated(level_name(int(best_level["level"]))),
            "accuracy": percent(best_level["knn_accuracy"]),
            "here": percent(here),
            "level": translated(level_name(level)),
            "layer": int(best_level["level"]) - 1,
        }
        st.info(
            _(
                "The labels separate best at {best} (a 10-nearest-neighbour probe is right {accuracy} of the time "
                "there, against {here} at {level}): set the sidebar layer to {layer} to see them come apart."
            ).format(**said)
            if best_level["level"] > 0
            else _("The labels separate best at the embeddings ({accuracy}, against {here} at {level}).").format(
                **said
            ),
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
adopt_linked_option("projection.colour", colour_options, column_name)
colour = st.selectbox(
    _("Colour by"), colour_options, format_func=column_name, key="projection.colour", bind="query-params"
)
if colour == PREDICTION:
    with user_errors(_("classifying the sample")):
        points = points.assign(prediction=cached_predicted_classes(classifier_spec, tuple(points["text"])))
    st.caption(
        _("Predictions of {kind} classifier on {model}.").format(
            kind=classifier_spec.kind, model=classifier_spec.model_name
        )
    )

axes = AXES["x / y"]
if dimensions == 3:
    pair = st.radio(_("Axes"), list(AXES), horizontal=True, key="projection.axes", bind="query-params")
    axes = AXES[pair]
    variance = dict(zip(["x", "y", "z"], projection.explained_variance, strict=True))
    kept = ", ".join(
        _("{share} of the variance on {axis}").format(share=percent(v), axis=axis) for axis, v in variance.items()
    )
    st.caption(_("PCA keeps {kept}.").format(kept=kept))
query = None
if projection.query is not None:
    place = dict(zip(projection.axes, projection.query, strict=True))
    query = (place[axes[0]], place[axes[1]])
tooltip = ["text", "label", "cluster"] + (["piece", "pos"] if unit == "piece" else [])
shown_level = translated(level_name(level))
title = (
    _("{method} of {count} texts at {level}") if unit == "text" else _("{method} of {count} word pieces at {level}")
).format(method=method, count=number(len(points), 0), level=shown_level)
titles = {column: column_name(column) for column in [colour, *tooltip]}
chart = projection_scatter(points, colour, *axes, title, tooltip, query, titles)
event = st.altair_chart(chart, width="content", on_select="rerun", selection_mode=SELECTION, key="projection.chart")
chart_downloads(chart, f"projection {method} {unit}s {level_name(level)} by {colour}", "projection.chart_png")
box = selected_box(event.selection if event else None, SELECTION)
if box:
    inside = points_in_box(points, box)
    selected = int(inside.sum())
    st.caption(n_("{count} point selected.", "{count} points selected.", selected).format(count=number(selected, 0)))
    listed = points.loc[inside, ["text", *tooltip[1:]]]
    st.dataframe(listed.rename(columns=column_name), hide_index=True, width="stretch")

st.subheader(_("Clusters"))
st.caption(_("Each cluster's most distinctive words (class-based TF-IDF) and its most common label."))
cluster_table = projection.clusters.rename(columns=lambda column: _(CLUSTER_COLUMNS[column]))
st.dataframe(cluster_table, hide_index=True, width="stretch")

if separation is not None:
    st.subheader(_("Separation of the labels, layer by layer"))
    separation_chart = separation_lines(separation, level)
    caption = _(
        "Labels with fewer than {fewest} points in the sample are left out. k-NN accuracy: a 10-nearest-neighbour "
        "probe's 5-fold accuracy at predicting the label from the vector; silhouette: how far apart the labels' "
        "points lie (1 best, 0 overlapping); chance: the largest label's share. Measured on {count} of the sampled "
        "points."
    ).format(fewest=MIN_PER_LABEL, count=number(len(subsample), 0))
    chart_with_downloads(separation_chart, "separation_by_layer", "projection.separation_png", caption=caption)

with st.expander(_("Downloads")):
    row = download_row()
    download(_("Points (CSV)"), lambda: points.to_csv(index=False), "projection.csv", "text/csv", "projection.csv", row)
    download(_("Projection (JSON)"), projection.to_json, "projection.json", "application/json", "projection.json", row)
