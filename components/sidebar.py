"""The one sidebar every page reads: model, layer, input text, an optional second text and the focus token.

Every setting is linked to a URL query parameter of the same name (see :mod:`components.link_state`), so a shared
link, a refresh and any number of page clicks open the same view. The focus token is the one word of the text
that every page looks at, named the same everywhere (``bank · word 6``, see :mod:`xray.focus`); it defaults to the
teaching example's key word, else the text's first noun.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components.deploy import current_policy
from components.feedback import user_errors
from components.language import language_switch
from components.link_state import follow_link, forget, link_query, linked, set_value, value
from components.model import shared_model
from components.run_marker import stop_page
from xray.corpora.linguistics import WordTags, tag_texts
from xray.examples import DEFAULT_EXAMPLE, EXAMPLES, example_for_text, example_named
from xray.focus import Word, default_focus, focus_label, text_words
from xray.models.loading import KNOWN_MODELS, LoadedModel
from xray.text import prepare_text
from xray.translation import N_, _, number

OTHER_MODEL = N_("Other: Hugging Face id or local folder")
MODEL_CHOICES = (*KNOWN_MODELS, OTHER_MODEL)
DEFAULT_TEXT = DEFAULT_EXAMPLE.text
IGNORED_LAYER = N_(
    "This page does not use the layer (it reads the model's output, or every layer); other pages keep it."
)
FOCUS_HELP = N_(
    "The word every page looks at: its attention, its neighbours, its factors, its neurons, its pieces. It starts on "
    "the example's key word, or the text's first noun."
)


@dataclass(frozen=True)
class Selection:
    """What the user picked in the sidebar; every page reads it. focus: the focus word (None for a text without
    words, which the pages that read the text refuse before computing anything)."""

    model_name: str
    model: LoadedModel
    layer: int
    text: str
    text_b: str | None
    focus: Word | None

    @property
    def focus_label(self) -> str:
        return focus_label(self.focus) if self.focus is not None else _("no word")


def model_summary(loaded: LoadedModel) -> str:
    """One line for the sidebar, e.g. ``encoder · 6 layers × 12 heads · width 384 · 22.7M parameters``."""
    head = _("no task head") if loaded.task_head == "none" else _("{head} head").format(head=loaded.task_head)
    family = (
        loaded.family
        if loaded.facts.known
        else _("{family} (inferred: {model_type} is not in the family table)").format(
            family=loaded.family, model_type=loaded.model_type
        )
    )
    shape = _("{layers} layers × {heads} heads · width {width} · {millions}M parameters").format(
        layers=loaded.num_layers,
        heads=loaded.num_heads,
        width=loaded.hidden_size,
        millions=number(loaded.parameters / 1e6, 1),
    )
    return f"{family} · {shape} · {head} · {loaded.device.type} {str(loaded.dtype).removeprefix('torch.')}"


def selection_query(selection: Selection) -> dict[str, str]:
    """The query parameters of a link (``st.page_link(query_params=...)``) that opens any page with this sidebar:
    the model (one of the sidebar's choices by name, any other as "Other" with its id), layer, text, second text
    and focus word."""
    named = selection.model_name in model_choices()
    return link_query(
        {
            "model": selection.model_name if named else OTHER_MODEL,
            "model_id": None if named else selection.model_name,
            "layer": selection.layer,
            "text": selection.text,
            "text_b": selection.text_b,
            "focus": selection.focus.number if selection.focus is not None else None,
        }
    )


def use_text(text: str) -> None:
    """Put ``text`` in the sidebar (a callback for buttons such as "Use an in-domain example"); the focus goes
    back to the new text's default."""
    set_value("text", text)
    forget("focus")


def _use_example() -> None:
    name = st.session_state.get("example")
    if name:
        use_text(example_named(name).text)
        st.session_state["example"] = None


def model_choices() -> tuple[str, ...]:
    """The sidebar's model choices, the default first: in public mode the allow-list, else every known model and
    "Other"."""
    policy = current_policy()
    return tuple(policy.allowed) if policy is not None else MODEL_CHOICES


def _model_name() -> str:
    """The model picked: in public mode one of the allow-list (no folder, no other id), else any; a link naming
    something else (or "Other" in public mode) opens the default."""
    choices = model_choices()
    choice = linked(
        st.selectbox,
        _("Model"),
        key="model",
        default=choices[0],
        valid=choices,
        options=choices,
        format_func=lambda name: _(OTHER_MODEL) if name == OTHER_MODEL else name,
    )
    if choice != OTHER_MODEL:
        return choice
    name = linked(
        st.text_input,
        _("Model id or folder"),
        key="model_id",
        default="",
        placeholder=_("e.g. bert-base-cased or /path"),
    ).strip()
    if not name:
        st.info(_("Type a Hugging Face model id or a local folder, then press Enter."))
        stop_page()
    return name


def _layer(loaded: LoadedModel, used: bool) -> int:
    top = loaded.num_layers - 1
    if top == 0:
        st.caption(_("Layer 0 (this model has a single layer)."))
        return 0
    requested = value("layer", 0)
    clamped = requested > top
    if clamped:
        set_value("layer", top)
    layer = linked(
        st.slider,
        _("Layer"),
        key="layer",
        default=0,
        valid=range(top + 1),
        min_value=0,
        max_value=top,
        disabled=not used,
        help=_("0 is the first transformer layer.") if used else _(IGNORED_LAYER),
    )
    if not used:
        st.caption(_(IGNORED_LAYER))
    if clamped:
        st.warning(
            _("Layer {requested} does not exist in this model ({layers} layers): showing layer {top}.").format(
                requested=requested, layers=loaded.num_layers, top=top
            )
        )
    return layer


@st.cache_data(show_spinner=False, max_entries=64)
def _tags(text: str) -> list[WordTags]:
    """spaCy's tags of ``text`` (to find its first noun)."""
    return tag_texts([text])[0]


def _focus(text: str) -> Word | None:
    """The focus picker over the words of ``text``; None (and no picker) when it has none."""
    try:
        prepared = prepare_text(text).text
    except ValueError:
        return None
    words = text_words(prepared)
    if not words:
        return None
    example = example_for_text(text)
    default = default_focus(prepared, example.key_word if example else None, None if example else _tags)
    numbers = [word.number for word in words]
    number = linked(
        st.selectbox,
        _("Focus token"),
        key="focus",
        default=default,
        valid=numbers,
        options=numbers,
        format_func=lambda number: focus_label(words[number - 1]),
        help=_(FOCUS_HELP),
    )
    return words[number - 1]


def sidebar(*, uses_layer: bool = True) -> Selection:
    """Draw the sidebar and return the selection; stops the page with a message when nothing can be shown.

    uses_layer: False on pages that ignore the layer; its slider is then disabled and says so.
    """
    follow_link()
    with st.sidebar:
        st.header("Transformer X-Ray")
        language_switch()
        name = _model_name()
        with (
            user_errors(_("loading {model}").format(model=name)),
            st.spinner(
                _("Loading {name}: a few seconds for the embedded model; hub models download first.").format(name=name)
            ),
        ):
            loaded, unloaded = shared_model(name)
        if unloaded:
            st.toast(
                _("Unloaded {models} to make room for {name} in the app's memory budget.").format(
                    models=", ".join(unloaded), name=name
                )
            )
        st.caption(model_summary(loaded))
        layer = _layer(loaded, uses_layer)
        st.selectbox(
            _("Example sentences"),
            [example.name for example in EXAMPLES],
            index=None,
            key="example",
            placeholder=_("Pick an example…"),
            format_func=_,
            on_change=_use_example,
        )
        text = linked(
            st.text_area, _("Input text"), key="text", default=DEFAULT_TEXT, height=100, after_change=_new_text
        )
        focus = _focus(text)
        second_label = (
            _("Decoder input (optional, e.g. a translation)")
            if loaded.family == "encoder-decoder"
            else _("Second sentence (optional, for a sentence pair)")
        )
        text_b = linked(st.text_input, second_label, key="text_b", default="")
    return Selection(name, loaded, layer, text, text_b.strip() or None, focus)


def _new_text() -> None:
    forget("focus")
