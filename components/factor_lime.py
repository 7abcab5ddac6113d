"""LIME on a factor's code at one of its top contexts, for the Transformer factors page: cached, with progress,
and shown as the context with its words shaded, the weights as bars, and downloads."""

from __future__ import annotations

import streamlit as st

from components.downloads import chart_with_downloads, download, download_row
from components.feedback import heavy_job
from components.model import loaded_model
from xray.cache import default_cache_root
from xray.factors.dictionary import find_dictionary
from xray.levels import level_name
from xray.rendering.charts import signed_bars
from xray.rendering.export import file_stem
from xray.rendering.highlight import highlighted_text_html
from xray.techniques.factor_lime import FactorLime, explain_factor


@st.cache_data(show_spinner=False, max_entries=32)
def cached_factor_lime(
    model_name: str, text: str, target: tuple[int, int], level: int, factor: int, num_samples: int
) -> FactorLime:
    """LIME on the factor's code at one piece of a context, with a progress bar while computing."""
    with heavy_job(f"Coding factor {factor} in LIME's perturbed contexts") as progress:
        return explain_factor(
            loaded_model(model_name),
            find_dictionary(model_name, default_cache_root()),
            text,
            target,
            level,
            factor,
            num_samples=num_samples,
            progress=progress,
        )


def show_factor_lime(result: FactorLime) -> None:
    """The context with its words shaded by LIME weight and the piece's word framed, the weights as bars, and
    downloads."""
    if result.poor_fit:
        st.warning(result.fit_summary(), icon="⚠️")
    else:
        st.caption(result.fit_summary())
    st.html(
        highlighted_text_html(
            result.text,
            result.spans,
            towards="raises the code",
            against="lowers the code",
            outlined=result.target_word,
        )
    )
    chart = signed_bars(
        result.words,
        result.weights,
        f"LIME weights for factor {result.factor}",
        "weight",
        towards="raises the code",
        against="lowers the code",
    )
    piece = result.text[result.target[0] : result.target[1]]
    stem = file_stem(f"factor_{result.factor}_lime", piece, level_name(result.level), f"{result.num_samples}_samples")
    chart_with_downloads(chart, stem, "factors.lime.chart")
    st.caption(
        f"The framed word always stays. {result.num_samples:,} samples ({result.distinct_texts:,} distinct "
        f"contexts), seed {result.seed}, {result.seconds:.1f} s."
    )
    row = download_row()
    download("Weights (CSV)", result.table().to_csv(index=False), f"{stem}.csv", "text/csv", "factors.lime.csv", row)
    download("Explanation (JSON)", result.to_json, f"{stem}.json", "application/json", "factors.lime.json", row)
