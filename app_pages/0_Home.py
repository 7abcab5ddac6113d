"""Home: what the app is, what each page answers, the model the sidebar loaded and the lesson.

The list of pages and the lesson's counts come from the pages' own ``PAGE`` literals and the lesson's steps: a new
page appears here (and, until a step opens it, under "Not in the lesson yet") without an edit to this file.

It links to the other pages through the navigation, so it runs under the entry point (``streamlit_app.py``),
not on its own."""

from __future__ import annotations

import streamlit as st

from components.lesson import lesson_overview
from components.navigation import PageInfo, discover_pages
from components.page import start_page
from xray.translation import _, number

PAGE = PageInfo(
    title="Transformer X-Ray",
    label="Home",
    icon="🔬",
    uses_text=False,
    caption=(
        "Open a transformer language model and see how it works: one technique per page, all on the same model, "
        "layer and sentence, chosen in the sidebar. It runs on a laptop CPU, works offline on its embedded model, "
        "and every view can be downloaded. The address bar holds the whole view: copy it to share exactly what "
        "you see."
    ),
)

selection = start_page(PAGE)
pages = discover_pages()[1:]  # every page file in app_pages/ but this one, by its PAGE literal
st.subheader(_("Pages"))
for path, info in pages:
    st.page_link(str(path), label=f"**{_(info.name)}**", icon=info.icon)
    st.caption(_(info.question))

st.subheader(_("Model"))
model = selection.model
st.markdown(
    _(
        "**{name}** is loaded: {family}, {layers} layers of {heads} heads, width {width}, {millions}M parameters, "
        "at most {tokens} tokens, running on {device}."
    ).format(
        name=selection.model_name,
        family=model.family,
        layers=model.num_layers,
        heads=model.num_heads,
        width=model.hidden_size,
        millions=number(model.parameters / 1e6, 1),
        tokens=model.max_length,
        device=model.device.type,
    )
)
lesson_overview(pages)
