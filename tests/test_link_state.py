"""The URL scheme of the settings every page shares: a link written by link_query (and by the sidebar's
selection_query) says what the URL says after a run, and a page opened from it reads the same settings back."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from components import sidebar
from components.link_state import LINKED, _from_url, link_query, url_text
from components.sidebar import OTHER_MODEL, Selection, selection_query
from xray.deploy import PublicPolicy
from xray.focus import Word
from xray.models.loading import KNOWN_MODELS


def test_a_link_writes_each_value_as_the_url_does_and_leaves_none_out():
    query = link_query({"layer": 3, "bf16": True, "text": "a bank", "focus": None, "classes": "x, y"})

    assert query == {"layer": "3", "bf16": "true", "text": "a bank", "classes": "x, y"}
    assert url_text(False) == "false" and url_text(0) == "0"
    assert {key: _from_url(key, text) for key, text in query.items()} == {
        "layer": 3,
        "bf16": True,
        "text": "a bank",
        "classes": "x, y",
    }


def test_a_link_to_a_setting_that_is_not_linked_is_refused():
    with pytest.raises(ValueError, match=r"Not linked settings: 'projection.unit'; the linked ones are model"):
        link_query({"text": "a", "projection.unit": "text"})


BANK = Word(5, "bank", 15, 19)


def _selection(model_name: str, focus: Word | None = BANK, text_b: str | None = None) -> Selection:
    return Selection(model_name, None, 2, "She sat by the bank.", text_b, focus)  # the model object is not read


def test_a_selection_links_a_known_model_by_name_and_any_other_as_other_with_its_id(monkeypatch):
    monkeypatch.setattr(sidebar, "current_policy", lambda: None)

    assert selection_query(_selection(KNOWN_MODELS[0])) == {
        "model": KNOWN_MODELS[0],
        "layer": "2",
        "text": "She sat by the bank.",
        "focus": "5",
    }
    other = selection_query(_selection("/models/tiny-bert", focus=None, text_b="It was closed."))
    assert other == {
        "model": OTHER_MODEL,
        "model_id": "/models/tiny-bert",
        "layer": "2",
        "text": "She sat by the bank.",
        "text_b": "It was closed.",
    }
    assert set(other) <= set(LINKED)


def test_in_public_mode_a_model_of_the_allow_list_is_linked_by_name(monkeypatch):
    monkeypatch.setattr(sidebar, "current_policy", lambda: PublicPolicy(("org/allowed-model",), 10**9))

    assert selection_query(_selection("org/allowed-model"))["model"] == "org/allowed-model"
    assert "model_id" not in selection_query(_selection("org/allowed-model"))


@pytest.mark.app
@pytest.mark.integration
def test_the_tokenizers_page_s_attention_link_opens_the_attention_page_on_the_same_sidebar():
    from tests.pages import assert_clean, labelled, run_page

    settings = {"layer": "3", "text": "The bank by the river was closed.", "text_b": "It rained.", "focus": "2"}
    tokenizers = run_page("9_Tokenizers.py", **settings)
    assert_clean(tokenizers)
    link = labelled(tokenizers.get("page_link"), "See every head's attention on this text on the Attention page")
    query = dict(parse_qsl(link.proto.query_string))
    assert query == {"model": KNOWN_MODELS[0]} | settings

    attention = run_page("1_Attention.py", **query)
    assert_clean(attention)
    assert attention.sidebar.selectbox(key="model").value == KNOWN_MODELS[0]
    assert attention.sidebar.slider(key="layer").value == 3
    assert attention.sidebar.text_area(key="text").value == settings["text"]
    assert attention.sidebar.text_input(key="text_b").value == settings["text_b"]
    assert attention.sidebar.selectbox(key="focus").value == 2
