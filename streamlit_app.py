"""Transformer X-Ray's entry point (``streamlit run streamlit_app.py``): the navigation over every page in
``app_pages/``, each page's opening drawn before its code runs, and a background warm-up of shap's one-off
compilation once the server is idle (:mod:`components.warm_up`).

Only light modules are imported here, so a page's title and loading line paint within a second even on a
freshly started server.
"""

from __future__ import annotations

import streamlit as st

from components.language import apply_language
from components.navigation import discover_pages, open_page, opened
from components.run_marker import marked_run
from components.warm_up import script_running, start_warm_up
from xray.translation import _

apply_language()  # before the navigation draws the pages' names
pages = discover_pages()
navigation = st.navigation(
    [st.Page(path, title=_(info.name), icon=info.icon, default=index == 0) for index, (path, info) in enumerate(pages)]
)
info = {_(info.name): info for _path, info in pages}[navigation.title]
with opened(open_page(info)), script_running(), marked_run(info.name):
    navigation.run()
start_warm_up()
