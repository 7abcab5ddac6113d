"""Transformer X-Ray's entry point: the navigation over every page in ``pages/``, each page's opening drawn
before its code runs, and shap's one-off compilation warmed in the background once a first page is done.

Run it with ``streamlit run streamlit_app.py``. Only light modules are imported here, so a page's
title and loading line paint within a second even on a freshly started server.
"""

from __future__ import annotations

import streamlit as st

from components.navigation import discover_pages, open_page, opened
from components.warm_up import start_warm_up

pages = discover_pages()
navigation = st.navigation(
    [st.Page(path, title=info.name, icon=info.icon, default=index == 0) for index, (path, info) in enumerate(pages)]
)
info = {info.name: info for _, info in pages}[navigation.title]
with opened(open_page(info)):
    navigation.run()
start_warm_up()
