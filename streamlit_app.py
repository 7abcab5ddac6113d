"""Transformer X-Ray home page: what the app is, what each page answers, and the model status."""

from __future__ import annotations

import streamlit as st

from components.sidebar import sidebar

PAGES = (
    (
        "pages/1_Attention.py",
        "Attention",
        "Which tokens does each head read from, and how does information flow through the layers? bertviz head, "
        "model and neuron views, a heatmap of any head, per-head statistics and attention rollout.",
    ),
    (
        "pages/3_SHAP.py",
        "SHAP",
        "Which tokens made the classifier decide this? Owen values from shap's Partition explainer, which add up "
        "exactly to the predicted probability.",
    ),
    (
        "pages/4_LIME.py",
        "LIME",
        "Which words would a simple linear model of the classifier, fitted around this text, point to, and how well "
        "does that linear model fit?",
    ),
    (
        "pages/8_Which_explanation.py",
        "Which explanation",
        "Do SHAP, LIME and attention agree, and which of them is faithful to the classifier? Rank agreement and "
        "deletion curves (comprehensiveness, sufficiency) against a random baseline.",
    ),
)

st.set_page_config(page_title="Transformer X-Ray", page_icon="🔬", layout="wide")
selection = sidebar()
st.title("Transformer X-Ray")
st.markdown(
    "Open a transformer language model and see how it works: one technique per page, all on the same model, "
    "layer and sentence, chosen in the sidebar. It runs on a laptop CPU, works offline on its embedded model, "
    "and every view can be downloaded. The address bar holds the whole view: copy it to share exactly what you see."
)
st.subheader("Pages")
for path, title, question in PAGES:
    st.page_link(path, label=f"**{title}**", icon=":material/arrow_forward:")
    st.caption(question)

st.subheader("Model")
model = selection.model
st.markdown(
    f"**{selection.model_name}** is loaded: {model.family}, {model.num_layers} layers of {model.num_heads} heads, "
    f"width {model.hidden_size}, {model.parameters / 1e6:,.1f}M parameters, at most {model.max_length} tokens, "
    f"running on {model.device.type}."
)
st.subheader("A tour of one sentence")
st.markdown(
    "1. Pick the *Coreference* example in the sidebar: *The animal didn't cross the street because it was too tired.*\n"
    "2. On **Attention**, open the head view and hover *it*: some heads in the middle layers look at *animal*.\n"
    "3. Switch to **Head overview** and colour by `to_previous`: a few heads mostly read the previous token.\n"
    "4. Open **Rollout** to see which words reach [CLS] once every layer is combined.\n"
    "5. Type *The striker scored twice as United beat Chelsea in the cup final.* and open **SHAP**: the embedded "
    "topic classifier says *sports*, and SHAP shows which words carried it; **LIME** shows the same with a linear "
    "surrogate, and **Which explanation** checks whether either is faithful."
)
