"""Explainers on a corpus: SHAP, LIME, gradients and attention run over many held-out texts, scored for faithfulness
as ferret scores them, their agreement, and the words the classifier relies on per class."""

from __future__ import annotations

import streamlit as st

from components.classifier import sidebar_classifier
from components.corpus import corpus_picker
from components.downloads import chart_with_downloads, download, download_row
from components.explainer_benchmark import benchmark_on_request, open_text_link, terminal_command
from components.feedback import user_errors
from components.navigation import PageInfo
from components.page import start_page
from components.run_marker import stop_page
from components.url_options import adopt_linked_option
from xray.explainer_benchmark.saved import HELD_OUT_COLUMN, BenchmarkSettings
from xray.explainer_benchmark.summary import CONFIDENCE
from xray.rendering.charts import agreement_heatmap, interval_dots
from xray.rendering.export import file_stem
from xray.techniques.compare import RANDOM, method_label
from xray.techniques.lime_explain import MIN_SAMPLES
from xray.techniques.shap_explain import MIN_EVALS
from xray.translation import _, number, percent

DEFAULTS = BenchmarkSettings()
DISAGREEING = 5

PAGE = PageInfo(
    title="Explainers on a corpus",
    icon="🧪",
    caption=(
        "One sentence says little about an explainer. Here every method of the Which explanation page runs over "
        "many texts the classifier never trained on, and each is scored as ferret and ERASER (DeYoung et al. 2020) "
        "score explanations: comprehensiveness (removing a method's top words should drop the probability) and "
        "sufficiency (keeping only them should not), against a random order, with bootstrap intervals over the "
        "texts. Then: do the methods agree, where do they disagree most, and which words does the classifier rely "
        "on for each class, as shap's global bar plot shows over a data set."
    ),
    question="Across a whole corpus, which explanation method is faithful to the classifier, and what does it rely on?",
    uses_layer=False,
    uses_text=False,
)

selection = start_page(PAGE)
spec, classifier = sidebar_classifier(selection)
corpus = corpus_picker(opening="BBC News sentences")
controls = st.columns(4)
texts = controls[0].number_input(
    _("Texts"), 1, 5_000, DEFAULTS.texts, step=10, key="explainers.texts", bind="query-params"
)
max_evals = controls[1].number_input(
    _("SHAP evaluations"),
    MIN_EVALS,
    5_000,
    DEFAULTS.max_evals,
    step=50,
    key="explainers.shap_evals",
    bind="query-params",
)
num_samples = controls[2].number_input(
    _("LIME samples"),
    MIN_SAMPLES,
    10_000,
    DEFAULTS.num_samples,
    step=50,
    key="explainers.lime_samples",
    bind="query-params",
)
steps = controls[3].number_input(
    _("Gradient steps"), 5, 300, DEFAULTS.steps, step=5, key="explainers.steps", bind="query-params"
)
held_out = st.toggle(
    _("Only texts the classifier never trained on"),
    DEFAULTS.held_out,
    key="explainers.held_out",
    bind="query-params",
    help=_(
        "Leaves out the rows its '{column}' column marks (BBC News sentences have one: the topic head's training "
        "split); a corpus without that column is taken whole."
    ).format(column=HELD_OUT_COLUMN),
)
with user_errors(_("reading the settings")):
    settings = BenchmarkSettings(
        texts=int(texts),
        held_out=held_out,
        max_evals=int(max_evals),
        num_samples=int(num_samples),
        steps=int(steps),
    )
with user_errors(_("running the explainers over {corpus}").format(corpus=corpus.name)):
    run = benchmark_on_request(spec, corpus, settings, key="explainers.start")
if run is None:
    command = terminal_command(spec, corpus, settings)
    said = _(
        "Nothing is run until you ask: each text costs SHAP's {evaluations} evaluations, LIME's {samples} samples "
        "and {steps} gradient steps."
    ).format(evaluations=number(settings.max_evals, 0), samples=number(settings.num_samples, 0), steps=settings.steps)
    if command:
        said += " " + _("The same run from a terminal, which this page then reads: `{command}`").format(command=command)
    st.info(said, icon=":material/info:")
    stop_page()

stem = (corpus.name, f"{len(run.rows)}_texts", classifier.name)
st.subheader(_("Which method is faithful over {count} texts?").format(count=number(len(run.rows), 0)))
st.markdown(run.verdict())
faithfulness = run.faithfulness()
chart_with_downloads(
    interval_dots(
        faithfulness,
        "comprehensiveness",
        _("Remove the top words (higher is better)"),
        RANDOM,
        _("comprehensiveness (mean, {share} interval)").format(share=percent(CONFIDENCE)),
    ),
    file_stem("comprehensiveness_over_corpus", *stem),
    "explainers.comprehensiveness_chart",
)
chart_with_downloads(
    interval_dots(
        faithfulness,
        "sufficiency",
        _("Keep only the top words (lower is better)"),
        RANDOM,
        _("sufficiency (mean, {share} interval)").format(share=percent(CONFIDENCE)),
    ),
    file_stem("sufficiency_over_corpus", *stem),
    "explainers.sufficiency_chart",
)
with st.container(key="explainers.faithfulness"):
    st.dataframe(
        faithfulness,
        hide_index=True,
        column_config={column: st.column_config.NumberColumn(format="%.3f") for column in faithfulness.columns[1:-1]},
    )
st.caption(
    _(
        "Mean AOPC over the texts, each text's own predicted class explained; intervals: 95% bootstrap over the "
        "texts. The dashed line is the random order's mean. Removing words makes texts the classifier never saw, so "
        "a small difference says little."
    )
)

st.subheader(_("Do the methods agree?"))
methods = run.methods
agreement = run.agreement()
chart_with_downloads(
    agreement_heatmap(methods, agreement.to_numpy(), _("Mean rank agreement (Spearman) over the texts")),
    file_stem("mean_rank_agreement", *stem),
    "explainers.agreement_chart",
)
pair = st.columns(2)
adopt_linked_option("explainers.first", methods, method_label)
first = pair[0].selectbox(_("Method"), methods, format_func=method_label, key="explainers.first", bind="query-params")
others = [method for method in methods if method != first]
least = min(others, key=lambda method: agreement.loc[first, method])
adopt_linked_option("explainers.second", others, method_label)
second = pair[1].selectbox(
    _("Against"),
    others,
    index=others.index(least),
    format_func=method_label,
    key="explainers.second",
    bind="query-params",
)
disagreeing = run.disagreements(first, second, DISAGREEING)
st.markdown(
    _(
        "**Where {first} and {second} disagree most** (mean Spearman {spearman}); each opens the text on the Which "
        "explanation page:"
    ).format(first=method_label(first), second=method_label(second), spearman=number(agreement.loc[first, second]))
)
for text, class_name, spearman in disagreeing.itertuples(index=False):
    open_text_link(
        selection, spec, text, f"{'+' if spearman >= 0 else '−'}{number(abs(spearman))} · {class_name} · {text}"
    )

st.subheader(_("What does the classifier rely on?"))
adopt_linked_option("explainers.relied_method", methods, method_label)
method = st.selectbox(
    _("Scores of"), methods, format_func=method_label, key="explainers.relied_method", bind="query-params"
)
relied = run.relied_on(method)
if relied.empty:
    st.info(_("No word occurs twice in the texts of one class: run over more texts to see what is relied on."))
else:
    with st.container(key="explainers.relied_on"):
        top = float(relied["mean |score|"].max())
        st.dataframe(
            relied,
            hide_index=True,
            column_config={
                "mean |score|": st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=top or 1.0),
                "mean score": st.column_config.NumberColumn(format="%+.3f"),
            },
        )
    st.caption(
        _(
            "Per predicted class, the words with the largest mean |{method} score| where they occur (seen at least "
            "twice), case-folded: a positive mean score pushes towards the class, a negative one against it."
        ).format(method=method_label(method))
    )

row = download_row()
download(
    _("Run (JSON)"),
    run.to_json,
    f"{file_stem('explainer_run', *stem)}.json",
    "application/json",
    "explainers.json",
    row,
)
download(
    _("Every text (CSV)"),
    run.table().to_csv(index=False),
    f"{file_stem('explainer_texts', *stem)}.csv",
    "text/csv",
    "explainers.texts_csv",
    row,
)
download(
    _("Faithfulness (CSV)"),
    faithfulness.to_csv(index=False),
    f"{file_stem('explainer_faithfulness', *stem)}.csv",
    "text/csv",
    "explainers.faithfulness_csv",
    row,
)
download(
    _("Relied-on words (CSV)"),
    relied.to_csv(index=False),
    f"{file_stem('relied_on_words', method, *stem)}.csv",
    "text/csv",
    "explainers.relied_csv",
    row,
)
