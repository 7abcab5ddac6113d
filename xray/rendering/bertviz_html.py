"""bertviz head and model views as standalone HTML that renders with no network.

bertviz's HTML loads require.js, d3 and jQuery from a CDN. Here that script tag is replaced by
inline copies of d3 v5 (from the pinned ``mpld3`` package) and jQuery (from ``xstatic-jquery``)
plus a few lines that play require.js's part. The JSON bertviz embeds is re-written with
``<``, ``>`` and ``&`` escaped, so text such as ``</script>`` shows literally and never runs,
and its weights are rounded to keep the page small (its size grows with tokens squared).

The views are built (and cached) with bertviz's English labels; :func:`localized_view` writes them in the run's
language where the page draws a view.
"""

from __future__ import annotations

import html as html_text
import json
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch
from bertviz import head_view, model_view

from xray.techniques.attention import AttentionResult
from xray.translation import N_, _

CDN_REQUIRE_TAG = '<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.6/require.min.js"></script>'
DEFAULT_MAX_TOKENS = 64
WEIGHT_DECIMALS = 3
PARAMS_MARKER = "PYTHON_PARAMS"
_REQUIRE_SHIM = """
(function () {
  var modules = {d3: window.d3, jquery: window.jQuery};
  function requirejs(names, callback) {
    callback.apply(null, names.map(function (name) { return modules[name]; }));
  }
  requirejs.config = function () {};
  window.require = window.requirejs = requirejs;
})();
"""


# bertviz's model view is 970 px wide; narrower frames zoom it out rather than cut off the last heads.
MODEL_VIEW_WIDTH = 990
_FIT_WIDTH_SCRIPT = f"""
<script>
(function () {{
  function fit() {{ document.body.style.zoom = Math.min(1, window.innerWidth / {MODEL_VIEW_WIDTH}); }}
  window.addEventListener("resize", fit);
  fit();
}})();
</script>
"""


VIEW_LABELS = {
    "All": N_("All"),
    "Sentence A -> Sentence A": N_("Sentence A -> Sentence A"),
    "Sentence B -> Sentence B": N_("Sentence B -> Sentence B"),
    "Sentence A -> Sentence B": N_("Sentence A -> Sentence B"),
    "Sentence B -> Sentence A": N_("Sentence B -> Sentence A"),
    "Encoder": N_("Encoder"),
    "Decoder": N_("Decoder"),
    "Cross": N_("Cross"),
}
"""The names of the attention filters bertviz lists in its menu (a pair's sentences, an encoder-decoder's stacks)."""
_MODEL_VIEW_HEADING = "'Layer ' + config.layers[layerIndex] + \", Head \" + config.heads[headIndex]"


@dataclass(frozen=True)
class ViewWindow:
    """The part of an input an interactive view draws: the first ``shown`` of ``total`` tokens."""

    shown: int
    total: int

    @property
    def capped(self) -> bool:
        return self.shown < self.total


def package_file(package: str, relative: str) -> Path:
    """A file shipped inside an installed package, found without importing the package (importing ``mpld3``
    would import matplotlib: 0.4 s on a cold page for one JavaScript file)."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"The package {package} is not installed; reinstall requirements.txt.")
    return Path(next(iter(spec.submodule_search_locations))) / relative


@cache
def offline_scripts() -> str:
    """Inline ``<script>`` tags for d3 v5, jQuery and a minimal require.js stand-in."""
    d3 = package_file("mpld3", "js/d3.v5.min.js").read_text(encoding="utf-8")
    jquery = package_file("xstatic.pkg.jquery", "data/jquery.min.js").read_text(encoding="utf-8")
    return "".join(f"<script>\n{source}\n</script>\n" for source in (d3, jquery, _REQUIRE_SHIM))


def safe_json(value: object) -> str:
    """JSON that is safe inside an HTML ``<script>``: no ``<``, ``>`` or ``&`` characters."""
    return escape_json(json.dumps(value, ensure_ascii=False))


def escape_json(text: str) -> str:
    """Escape ``<``, ``>``, ``&`` and line separators in JSON text; they only occur inside its strings."""
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _round_weights(value: object) -> object:
    """Round every weight array (keys attn, queries, keys) nested in bertviz's params."""
    if isinstance(value, dict):
        return {
            key: np.round(np.asarray(item, dtype=np.float64), WEIGHT_DECIMALS).tolist()
            if key in ("attn", "queries", "keys")
            else _round_weights(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_round_weights(item) for item in value]
    return value


def rewrite_params(html: str, template: str, region_end: str, *, round_weights: bool = True) -> str:
    """Re-embed the params bertviz substituted for ``PYTHON_PARAMS`` in ``template`` as safe JSON.

    bertviz replaces every marker, the one in a comment too, so the script region (from the
    template's start to the last ``region_end``) is ``template`` with each marker replaced by
    the same JSON; the JSON's length follows from the region's length, whatever the JSON holds.
    round_weights: parse the JSON and round its weight arrays (skip it when the weights given to
    bertviz were rounded already, which saves a parse of a JSON that grows with tokens squared).
    """
    before = template.split(PARAMS_MARKER, 1)[0]
    start = html.index(before)
    stop = html.rindex(region_end)
    markers = template.count(PARAMS_MARKER)
    json_length = (stop - start - len(template) + markers * len(PARAMS_MARKER)) // markers
    params_json = html[start + len(before) : start + len(before) + json_length]
    if template.replace(PARAMS_MARKER, params_json) != html[start:stop]:
        raise ValueError("Unexpected bertviz output: its script does not match the template (was bertviz upgraded?).")
    params = safe_json(_round_weights(json.loads(params_json))) if round_weights else escape_json(params_json)
    script = before + params + template[len(before) + len(PARAMS_MARKER) :].replace(PARAMS_MARKER, "params")
    return html[:start] + script + html[stop:]


def make_offline(html: str) -> str:
    """Swap bertviz's CDN require.js tag for inline scripts; raise if bertviz's output changed shape."""
    if CDN_REQUIRE_TAG not in html:
        raise ValueError("Unexpected bertviz output: no require.js tag to replace (was bertviz upgraded?).")
    return html.replace(CDN_REQUIRE_TAG, offline_scripts(), 1)


def _js_string(text: str) -> str:
    """``text`` as a JavaScript string literal, safe inside an HTML ``<script>``."""
    return escape_json(json.dumps(text, ensure_ascii=False))


def localized_view(html: str) -> str:
    """A head or model view (as :func:`head_view_html` and :func:`model_view_html` build it) with bertviz's menu
    labels, filter names and axis headings in the run's language. Only bertviz's own markup is rewritten: the
    tokens sit in escaped JSON, where none of these snippets can occur."""
    layer, attention = html_text.escape(_("Layer:")), html_text.escape(_("Attention:"))
    heads, layers = _js_string(_("Heads")), _js_string(_("Layers"))
    heading = _js_string(_("Layer {layer}, head {head}"))
    replacements = {
        'Layer: <select id="layer">': f'{layer} <select id="layer">',
        'Attention: <select id="filter">': f'{attention} <select id="filter">',
        **{f">{name}</option>": f">{html_text.escape(_(label))}</option>" for name, label in VIEW_LABELS.items()},
        '.text("Heads")': f".text({heads})",
        '.text("Layers")': f".text({layers})",
        _MODEL_VIEW_HEADING: (
            f'{heading}.replace("{{layer}}", config.layers[layerIndex]).replace("{{head}}", config.heads[headIndex])'
        ),
    }
    for english, shown in replacements.items():
        html = html.replace(english, shown, 1)
    return html


def bertviz_script(name: str) -> str:
    """The source of one of bertviz's JS files (head_view.js, model_view.js, neuron_view.js)."""
    return (Path(head_view.__code__.co_filename).parent / name).read_text(encoding="utf-8")


def _finish(html: str, script_name: str) -> str:
    """Offline, escaped HTML; the weights were rounded by :func:`_layers` before bertviz saw them."""
    return make_offline(rewrite_params(html, bertviz_script(script_name), "\n</script>", round_weights=False))


def _layers(attentions: np.ndarray, shown: int, shown_keys: int | None = None) -> list[torch.Tensor]:
    """bertviz's input: one (1, heads, query, key) float64 tensor per layer, cut to the shown tokens and rounded.

    Rounded float64 values print as short decimals in bertviz's JSON (float32 ones print 17 digits).
    """
    keys = shown if shown_keys is None else shown_keys
    rounded = np.round(attentions[:, None, :, :shown, :keys].astype(np.float64), WEIGHT_DECIMALS)
    return list(torch.from_numpy(rounded))


def view_window(result: AttentionResult, max_tokens: int = DEFAULT_MAX_TOKENS) -> ViewWindow:
    if max_tokens < 2:
        raise ValueError(f"max_tokens must be at least 2, got {max_tokens}.")
    return ViewWindow(shown=min(len(result.tokens), max_tokens), total=len(result.tokens))


def _view_arguments(result: AttentionResult, max_tokens: int) -> dict:
    """Keyword arguments shared by bertviz's head_view and model_view."""
    window = view_window(result, max_tokens)
    if "cross" in result.blocks:
        decoder = result.blocks["decoder"]
        decoder_shown = min(len(decoder.query_tokens), max_tokens)
        return {
            "encoder_attention": _layers(result.blocks["encoder"].attentions, window.shown),
            "decoder_attention": _layers(decoder.attentions, decoder_shown),
            "cross_attention": _layers(result.blocks["cross"].attentions, decoder_shown, window.shown),
            "encoder_tokens": result.tokens[: window.shown],
            "decoder_tokens": decoder.query_tokens[:decoder_shown],
        }
    pair_start = result.sentence_b_start
    return {
        "attention": _layers(result.main.attentions, window.shown),
        "tokens": result.tokens[: window.shown],
        "sentence_b_start": pair_start if pair_start is not None and pair_start < window.shown else None,
    }


def head_view_height(tokens_shown: int) -> int:
    """Pixels the head view needs: bertviz draws one 22.5 px row per token under its menus."""
    return int(22.5 * tokens_shown) + 110


def model_view_height(layers: int, heads: int, tokens_shown: int) -> int:
    """Pixels the model view needs: one thumbnail row per layer, each ``tokens * 84 / heads`` px tall (bertviz's
    model_view.js), or the enlarged head's height when that is taller."""
    thumbnail = tokens_shown * 7 * 12 / heads + 10
    enlarged = tokens_shown * 18 + 60
    return int(max(layers * thumbnail + 50, enlarged)) + 60


def head_view_html(result: AttentionResult, *, layer: int = 0, max_tokens: int = DEFAULT_MAX_TOKENS) -> str:
    """bertviz's head view of the first ``max_tokens`` tokens as standalone offline HTML."""
    html = head_view(**_view_arguments(result, max_tokens), layer=layer, html_action="return").data
    return _finish(html, "head_view.js")


def model_view_html(
    result: AttentionResult, *, layers: list[int] | None = None, max_tokens: int = DEFAULT_MAX_TOKENS
) -> str:
    """bertviz's model view (every head of the given layers) as standalone offline HTML."""
    count = result.main.attentions.shape[0]
    chosen = list(range(count)) if layers is None else sorted(set(layers))
    if not chosen or chosen[0] < 0 or chosen[-1] >= count:
        raise ValueError(f"layers must be a non-empty subset of 0..{count - 1}, got {layers}.")
    html = model_view(**_view_arguments(result, max_tokens), include_layers=chosen, html_action="return").data
    return _finish(html, "model_view.js") + _FIT_WIDTH_SCRIPT
