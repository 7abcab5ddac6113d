"""Downloads: attention as JSON or NPZ, charts as PNG or SVG. Each function returns bytes or str."""

from __future__ import annotations

import io
import json

import altair as alt
import numpy as np
import vl_convert

from xray.attention import AttentionResult


def attention_json(result: AttentionResult, model_name: str, decimals: int = 5) -> str:
    """Tokens and every attention block as JSON; weights rounded to ``decimals``."""
    payload = {
        "model": model_name,
        "tokens": result.tokens,
        "sentence_b_start": result.sentence_b_start,
        "truncated": result.truncated,
        "blocks": {
            name: {
                "shape": "(layers, heads, query, key)",
                "query_tokens": block.query_tokens,
                "key_tokens": block.key_tokens,
                "attentions": np.round(block.attentions.astype(np.float64), decimals).tolist(),
            }
            for name, block in result.blocks.items()
        },
    }
    return json.dumps(payload, ensure_ascii=False)


def attention_npz(result: AttentionResult) -> bytes:
    """A compressed NPZ: ``tokens``, ``hidden_states`` and ``<block>_attentions`` (layers, heads, query, key)."""
    arrays = {f"{name}_attentions": block.attentions for name, block in result.blocks.items()}
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        tokens=np.array(result.tokens),
        hidden_states=result.hidden_states,
        special_mask=result.main.key_special_mask,
        **arrays,
    )
    return buffer.getvalue()


def chart_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """The chart rendered to PNG, offline (vl-convert)."""
    return vl_convert.vegalite_to_png(chart.to_json(), scale=scale)


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """The chart rendered to SVG, offline (vl-convert)."""
    return vl_convert.vegalite_to_svg(chart.to_json())
