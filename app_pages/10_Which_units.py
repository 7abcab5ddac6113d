"""Which units can be explained? MLP neurons, factors and directions of the residual stream scored alike at every
level, on the model and on the same architecture with random weights (Cunningham et al. 2023; Heap et al. 2025)."""

from __future__ import annotations

import streamlit as st

from components.downloads import chart_with_downloads, download, download_row
from components.feedback import user_errors
from components.navigation import PageInfo
from components.page import start_page
from components.units import endpoint_cost_line, scored_units, unit_kinds
from xray.corpora.builtin import BUILTIN_CORPORA, load_builtin
from xray.models.loading import random_weights_name
from xray.rendering.neuron_charts import unit_medians
from xray.translation import N_, _, percent, translated
from xray.units.compare import KIND_NAMES, UNIT_KINDS, against_random

DEFAULT_CORPUS = "Word senses"
DEFAULT_UNITS = 100

PAGE = PageInfo(
    title="Which units",
    icon="🧮",
    caption=(
        "Which units of a model can an explanation be about? Samples of MLP neurons, factors of the dictionary and "
        "directions of the residual stream (the standard basis, PCA components, random directions as the floor) "
        "are explained, simulated and scored at every level by the same code as on the Neuron explanations page, "
        "on the model and on the same architecture with random weights: sparse dictionaries are said to give "
        "more interpretable units (Cunningham et al. 2023), and random weights to score nearly as well (Heap et "
        "al. 2025)."
    ),
    question="Are factors easier to explain than neurons, and does a model with random weights score as well?",
    uses_layer=False,
    uses_text=False,
)

# Which model a section scores (its key names its widgets and files) -> the section's name, translated where drawn.
MODEL_NAMES = {"trained": N_("Trained"), "random weights": N_("Random weights")}

selection = start_page(PAGE)
choices = list(BUILTIN_CORPORA)
controls = st.columns([2, 1, 1])
corpus_name = controls[0].selectbox(
    _("Corpus"), choices, index=choices.index(DEFAULT_CORPUS), key="units.corpus", bind="query-params"
)
units = controls[1].number_input(
    _("Units of each kind per level"), 5, 500, DEFAULT_UNITS, step=5, key="units.count", bind="query-params"
)
control = controls[2].toggle(_("Against random weights"), True, key="units.control", bind="query-params")
with user_errors(_("loading {corpus}").format(corpus=corpus_name)):
    corpus = load_builtin(corpus_name)

models = {"trained": selection.model_name}
if control:
    models["random weights"] = random_weights_name(selection.model_name)
results = {}
for label, model_name in models.items():
    name = _(MODEL_NAMES[label])
    st.subheader(_("{name}: {model}").format(name=name, model=model_name))
    missing = [_(KIND_NAMES[kind]) for kind in UNIT_KINDS if kind not in unit_kinds(model_name)]
    if missing:
        st.info(
            _("No factor dictionary for '{model}' yet, so {missing} are left out. Learn one with `{command}`.").format(
                model=model_name,
                missing=", ".join(missing),
                command=f'python -m xray factors --model "{model_name}"',
            ),
            icon=":material/info:",
        )
    with user_errors(_("scoring the units of {model}").format(model=model_name)):
        scores = scored_units(model_name, corpus, int(units), key=f"units.start.{label}")
    if scores is None:
        continue
    results[label] = scores
    st.markdown(translated(scores.verdict()))
    st.caption(translated(endpoint_cost_line(model_name, corpus.fingerprint, len(scores.rows), corpus)))
    chart_with_downloads(
        unit_medians(scores.medians(), _("{name}: median score by level").format(name=name)),
        f"unit_scores {label} {corpus.name}",
        f"units.chart.{label}",
        caption=_(
            "The baseline explainer and simulator, {units} units of each kind per level, over {corpus}. Bars: "
            "bootstrap {confidence} intervals of the median; units whose score is undefined (the unit never fires, or "
            "a side is constant) are left out and counted in the table."
        ).format(units=int(units), corpus=corpus.name, confidence=percent(0.95)),
    )
    with st.container(key=f"units.grid.{label}"):
        st.dataframe(scores.grid(), width="stretch")
    row = download_row()
    stem = f"unit_scores_{label.replace(' ', '_')}"
    download(
        _("Medians (CSV)"), scores.table().to_csv(index=False), f"{stem}.csv", "text/csv", f"units.csv.{label}", row
    )
    download(_("Every unit (JSON)"), scores.to_json(), f"{stem}.json", "application/json", f"units.json.{label}", row)

if len(results) == 2:
    st.markdown(translated(against_random(results["trained"], results["random weights"])))
