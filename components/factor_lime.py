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
from xray.translation import _, number


@st.cache_data(show_spinner=False, max_entries=32)
def cached_factor_lime(
    model_name: str, text: str, target: tuple[int, int], level: int, factor: int, num_samples: int
) -> FactorLime:
    """LIME on the factor's code at one piece of a context, with a progress bar while computing."""
    with heavy_job(_("Coding factor {factor} in LIME's perturbed contexts").format(factor=factor)) as progress:
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
    towards, against = _("raises the code"), _("lowers the code")
    if result.poor_fit:
        st.warning(result.fit_summary(), icon="⚠️")
    else:
        st.caption(result.fit_summary())
    st.html(
        highlighted_text_html(
            result.text,
            result.spans,
            towards=towards,
            against=against,
            outlined=result.target_word,
        )
    )
    chart = signed_bars(
        result.words,
        result.weights,
        _("LIME weights for factor {factor}").format(factor=result.factor),
        _("weight"),
        towards=towards,
        against=against,
    )
    piece = result.text[result.target[0] : result.target[1]]
    stem = file_stem(f"factor_{result.factor}_lime", piece, level_name(result.level), f"{result.num_samples}_samples")
    chart_with_downloads(chart, stem, "factors.lime.chart")
    st.caption(
        _(
            "The framed word always stays. {samples} samples ({distinct} distinct contexts), seed {seed}, {seconds} s."
        ).format(
            samples=number(result.num_samples, 0),
            distinct=number(result.distinct_texts, 0),
            seed=result.seed,
            seconds=number(result.seconds, 1),
        )
    )
    row = download_row()
    download(_("Weights (CSV)"), result.table().to_csv(index=False), f"{stem}.csv", "text/csv", "factors.lime.csv", row)
    download(_("Explanation (JSON)"), result.to_json, f"{stem}.json", "application/json", "factors.lime.json", row)
