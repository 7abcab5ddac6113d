"""The one cached model every page shares. Never mutate it: all sessions and pages read the same object."""

from __future__ import annotations

import streamlit as st

from xray.models.loading import LoadedModel, load_model


@st.cache_resource(show_spinner=False, max_entries=3)
def cached_model(name: str) -> LoadedModel:
    return load_model(name)
