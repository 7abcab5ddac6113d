"""Home: what the app is, what each page answers, and the model the sidebar loaded.

It links to the other pages through the navigation, so it runs under the entry point (``streamlit_app.py``),
not on its own."""

from __future__ import annotations

import streamlit as st

from components.lesson import lesson_steps
from components.navigation import PageInfo, discover_pages
from components.page import start_page

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
st.subheader("Pages")
for path, info in discover_pages()[1:]:
    st.page_link(str(path), label=f"**{info.name}**", icon=info.icon)
    st.caption(info.question)

st.subheader("Model")
model = selection.model
st.markdown(
    f"**{selection.model_name}** is loaded: {model.family}, {model.num_layers} layers of {model.num_heads} heads, "
    f"width {model.hidden_size}, {model.parameters / 1e6:,.1f}M parameters, at most {model.max_length} tokens, "
    f"running on {model.device.type}."
)
st.subheader("A lesson: three sentences through every page")
st.markdown(
    "Ten steps for a class. Each link opens its page with the step's sentence, layer and "
    "focus token; the page then shows what to point at, the question to ask and a link to the next step. Every "
    "claim a step makes is checked by the test suite on the embedded model."
)
lesson_steps()
