"""Attention: bertviz's head, model and neuron views, plus native charts bertviz lacks."""

from __future__ import annotations

import streamlit as st

from components.attention import (
    cached_head_view,
    cached_model_view,
    cached_neuron_view,
    cached_rollout,
    cached_statistics,
)
from components.downloads import chart_with_downloads, download, download_row, html_download
from components.feedback import show_notices, user_errors
from components.model import cached_attention, cached_focus_position
from components.navigation import PageInfo
from components.page import start_page
from components.url_options import adopt_linked_option
from xray.rendering.bertviz_html import head_view_height, localized_view, model_view_height, view_window
from xray.rendering.charts import attention_heatmap, head_overview, token_bars
from xray.rendering.neuron_view import neuron_view_height, neuron_view_support
from xray.techniques.attention import STATISTICS
from xray.translation import N_, _, percent

VIEWS = (N_("Head view"), N_("Model view"), N_("Neuron view"), N_("Head heatmap"), N_("Head overview"), N_("Rollout"))
MODEL_VIEW_MAX_LAYERS = 12
BLOCK_NAMES = {
    "self": N_("Self-attention"),
    "encoder": N_("Encoder"),
    "decoder": N_("Decoder"),
    "cross": N_("Cross (decoder → encoder)"),
}


def block_label(name: str) -> str:
    return _(BLOCK_NAMES[name])


def statistic_label(name: str) -> str:
    return f"{name}: {_(STATISTICS[name])}"


PAGE = PageInfo(
    title="Attention",
    icon="👁️",
    caption=(
        "Which tokens does each head read from? Every head mixes the vectors of the tokens it attends to; "
        "thicker lines and darker cells mean more weight."
    ),
    question=(
        "Which tokens does each head read from, and how does information flow through the layers? bertviz head, "
        "model and neuron views, a heatmap of any head, per-head statistics and attention rollout."
    ),
)

selection = start_page(PAGE)
with (
    user_errors(_("computing attention")),
    st.spinner(_("Running the model on the text (well under a second on CPU)…")),
):
    result = cached_attention(selection.model_name, selection.text, selection.text_b)
show_notices(result.notices)
args = (selection.model_name, selection.text, selection.text_b)
try:
    focus = cached_focus_position(selection.model_name, selection.text, selection.focus)
except ValueError as error:  # the input was cut before it: every view still draws, without the focus
    st.caption(str(error))
    focus = None

adopt_linked_option("attention.view", VIEWS, _)
view = st.segmented_control(
    _("View"), VIEWS, default=VIEWS[0], format_func=_, key="attention.view", required=True, bind="query-params"
)
max_tokens = st.slider(
    _("Tokens in interactive views"),
    8,
    128,
    64,
    step=8,
    key="attention.tokens",
    bind="query-params",
    help=_("The bertviz views and heatmaps grow with the square of the token count; statistics use every token."),
)
window = view_window(result, max_tokens)
if window.capped:
    st.caption(
        _(
            "Interactive views show the first {shown} of {total} tokens (their attention to later tokens is not "
            "drawn); the head overview and rollout use all {total}."
        ).format(shown=window.shown, total=window.total)
    )


def block_picker() -> str:
    """The attention stack to chart: only encoder-decoder models have more than one."""
    if len(result.blocks) == 1:
        return next(iter(result.blocks))
    adopt_linked_option("attention.block", list(result.blocks), block_label)
    return st.radio(
        _("Attention stack"),
        list(result.blocks),
        format_func=block_label,
        horizontal=True,
        key="attention.block",
        bind="query-params",
    )


def layer_in(block_name: str) -> int:
    """The sidebar layer, clamped to the stack's depth (decoders may have fewer layers)."""
    depth = result.blocks[block_name].attentions.shape[0]
    if selection.layer < depth:
        return selection.layer
    st.info(
        _("This attention stack ({stack}) has {depth} layers: showing layer {layer}.").format(
            stack=block_label(block_name), depth=depth, layer=depth - 1
        )
    )
    return depth - 1


if view == "Head view":
    st.caption(
        _(
            "bertviz head view: pick a layer above the drawing; click a head colour to toggle it, hover a token to "
            "see where it looks."
        )
    )
    with user_errors(_("drawing the head view")):
        html = localized_view(
            cached_head_view(*args, min(selection.layer, result.main.attentions.shape[0] - 1), max_tokens)
        )
    st.iframe(html, height=head_view_height(window.shown))
    html_download(html, _("Head view (HTML)"), "head_view.html", "attention.head_view_html")

elif view == "Model view":
    layer_count = result.main.attentions.shape[0]
    first = max(0, min(selection.layer - MODEL_VIEW_MAX_LAYERS // 2, layer_count - MODEL_VIEW_MAX_LAYERS))
    layers = tuple(range(first, min(layer_count, first + MODEL_VIEW_MAX_LAYERS)))
    if len(layers) < layer_count:
        st.caption(
            _("Model view shows layers {first}–{last} of {count}, around the sidebar layer.").format(
                first=layers[0], last=layers[-1], count=layer_count
            )
        )
    st.caption(_("bertviz model view: one thumbnail per head (rows are layers); click one to enlarge it."))
    with user_errors(_("drawing the model view")):
        html = localized_view(cached_model_view(*args, layers, max_tokens))
    st.iframe(html, height=model_view_height(len(layers), result.main.attentions.shape[1], window.shown))
    html_download(html, _("Model view (HTML)"), "model_view.html", "attention.model_view_html")

elif view == "Neuron view":
    reason = neuron_view_support(selection.model)
    if reason:
        st.warning(reason, icon=":material/block:")
    else:
        st.caption(
            _(
                "bertviz neuron view: how a query vector and the key vectors combine into attention. Hover a token "
                "on the left to see its query, each key and their products."
            )
        )
        neuron_tokens = min(max_tokens, 32)
        with user_errors(_("drawing the neuron view")), st.spinner(_("Computing queries and keys…")):
            neuron = cached_neuron_view(*args, selection.layer, neuron_tokens)
        if neuron.tokens_shown < neuron.tokens_total:
            st.caption(
                _("The neuron view shows the first {shown} of {total} tokens.").format(
                    shown=neuron.tokens_shown, total=neuron.tokens_total
                )
            )
        st.iframe(neuron.html, height=neuron_view_height(neuron.tokens_shown))
        html_download(neuron.html, _("Neuron view (HTML)"), "neuron_view.html", "attention.neuron_view_html")

elif view == "Head heatmap":
    block_name = block_picker()
    block = result.blocks[block_name]
    layer = layer_in(block_name)
    head = st.number_input(_("Head"), 0, block.attentions.shape[1] - 1, 0, key="attention.head", bind="query-params")
    queries = min(len(block.query_tokens), max_tokens)
    keys = min(len(block.key_tokens), max_tokens)
    focus_row = focus if block.query_tokens is result.tokens else None
    if focus_row is not None:
        key, weight = block.top_key(layer, head, focus_row)
        if key >= 0:
            st.caption(
                _(
                    "The focus token **{focus}** (framed) reads '{key}' most in this head ({share} of its attention, "
                    "special tokens and itself aside)."
                ).format(focus=selection.focus_label, key=block.key_tokens[key], share=percent(weight))
            )
    chart = attention_heatmap(
        block.attentions[layer, head, :queries, :keys],
        block.query_tokens[:queries],
        block.key_tokens[:keys],
        _("{stack}: layer {layer}, head {head}").format(stack=block_label(block_name), layer=layer, head=head),
        focus=focus_row,
    )
    chart_with_downloads(chart, f"attention_heatmap {block_name} L{layer} H{head}", "attention.heatmap")

elif view == "Head overview":
    self_blocks = [name for name, block in result.blocks.items() if block.is_self_attention]
    block_name = (
        self_blocks[0]
        if len(self_blocks) == 1
        else st.radio(
            _("Attention stack"), self_blocks, format_func=block_label, horizontal=True, key="attention.stats_block"
        )
    )
    adopt_linked_option("attention.statistic", list(STATISTICS), statistic_label)
    statistic = st.selectbox(
        _("Statistic"),
        list(STATISTICS),
        format_func=statistic_label,
        key="attention.statistic",
        bind="query-params",
    )
    statistics = cached_statistics(*args, block_name)
    chart = head_overview(statistics, statistic)
    chart_with_downloads(
        chart,
        f"attention_head_overview {block_name} {statistic}",
        "attention.overview",
        caption=_("Hover a cell for every statistic of that head. Heads with low entropy attend to few tokens."),
    )
    download(
        _("Statistics (CSV)"),
        statistics.table().to_csv(index=False),
        "head_statistics.csv",
        "text/csv",
        "attention.statistics_csv",
    )

else:
    rollout = cached_rollout(*args)
    layer = layer_in(next(iter(result.blocks)))
    source = rollout.source
    st.caption(
        _(
            "Attention rollout (Abnar & Zuidema 2020) multiplies the head-averaged attention of every layer up to the "
            "chosen one, counting the residual connection as half of each layer, to estimate how much each input "
            "token flows into each position."
        )
    )
    last = rollout.shares.shape[0] - 1
    if layer < last:
        st.info(
            _(
                "Rollout after layer {layer} combines layers 0 to {layer} only; set the sidebar layer to {last} to "
                "combine every layer."
            ).format(layer=layer, last=last),
            icon=":material/layers:",
        )
    shares = rollout.from_source(layer)
    others = [index for index in range(len(result.tokens)) if index != source]
    bars = token_bars(
        shares[others],
        [result.tokens[index] for index in others],
        _("Rollout from '{token}' to the other input tokens, after layer {layer}").format(
            token=result.tokens[source], layer=layer
        ),
        _("share"),
        positions=others,
        highlight=others.index(focus) if focus in others else None,
    )
    st.caption(
        _("'{token}' keeps {share} of itself; the bars split the rest.").format(
            token=result.tokens[source], share=percent(shares[source])
        )
    )
    chart_with_downloads(bars, f"attention_rollout_from {result.tokens[source]} L{layer}", "attention.rollout_bars")
    shown = window.shown
    matrix = attention_heatmap(
        rollout.shares[layer, :shown, :shown],
        result.tokens[:shown],
        result.tokens[:shown],
        _("Rollout after layer {layer}").format(layer=layer),
        focus=focus,
    )
    chart_with_downloads(matrix, f"attention_rollout_matrix L{layer}", "attention.rollout_matrix")
    rollout_csv = rollout.table().to_csv(index=False)
    download(_("Rollout (CSV)"), rollout_csv, "rollout.csv", "text/csv", "attention.rollout_csv")

with st.expander(_("Download the attention weights")):
    st.caption(_("Every layer and head of every attention stack, for the whole input."))
    row = download_row()
    download("JSON", result.to_json, "attention.json", "application/json", "attention.json", row)
    download("NPZ", result.to_npz, "attention.npz", "application/octet-stream", "attention.npz", row)
