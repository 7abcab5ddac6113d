"""The opening every technique page shares: page config, the shared sidebar, title and a one-paragraph caption."""

from __future__ import annotations

import streamlit as st

from components.sidebar import Selection, sidebar


def start_page(title: str, icon: str, caption: str) -> Selection:
    """Configure the page (emoji ``icon``: Material icons make browsers fetch a font online), draw the sidebar,
    the title and the caption; returns the sidebar selection."""
    st.set_page_config(page_title=f"{title} · Transformer X-Ray", page_icon=icon, layout="wide")
    selection = sidebar()
    st.title(title)
    st.caption(caption)
    return selection
