"""Home: what the app is, what each page answers, and the model the sidebar loaded.

It links to the other pages through the navigation, so it runs under the entry point (``streamlit_app.py``),
not on its own."""

from __future__ import annotations

import streamlit as st

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
st.subheader("A tour of one sentence")
st.markdown(
    "1. Pick the *Coreference* example in the sidebar: *The animal didn't cross the street because it was too tired.*\n"
    "2. On **Attention**, open the head view and hover *it*: some heads in the middle layers look at *animal*.\n"
    "3. Switch to **Head overview** and colour by `to_previous`: a few heads mostly read the previous token.\n"
    "4. Open **Rollout** to see which words reach [CLS] once every layer is combined.\n"
    "5. Type *The striker scored twice as United beat Chelsea in the cup final.* and open **SHAP**: the embedded "
    "topic classifier says *sports*, and SHAP shows which words carried it; **LIME** shows the same with a linear "
    "surrogate, and **Which explanation** checks whether either is faithful.\n"
    "6. Type *We sat on the bank of the river* and open **Embedding search**: the first visit computes the corpus "
    "once (about half a minute), then the purity curve shows the river sense of *bank* taking over from the "
    "embeddings to the middle layers, and the bars show its neighbours are nouns.\n"
    "7. Open **Projections**: BBC News sentences coloured by topic; move the layer slider and watch the topics "
    "separate, switch to UMAP, colour by cluster and read each cluster's words.\n"
    "8. Open **Transformer factors**: the factors that make up *bank* at each layer, where a factor matters most, "
    "its strongest corpus contexts (pick one to see with LIME which words switch the factor on), and the factors "
    "that tell the river bank from the money bank.\n"
    "9. Open **Neuron explanations**: pick *bank* among your sentence's tokens and explain one of the neurons most "
    "active on it; the baseline writes an explanation, simulates the neuron from it and scores the simulation. "
    "Score the whole layer to see how far a list of tokens goes, and configure a language model to see what it adds.\n"
    "10. Open **Tokenizers**: see why *didn't* became *didn*, *'*, *t*, hover a piece to find its characters, then "
    "train BPE, WordPiece and Unigram on BBC News and compare how many pieces each makes per word."
)
