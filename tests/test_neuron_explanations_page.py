"""AppTest runs of the Neuron explanations page on the embedded model, over the small word-sense corpus."""

from __future__ import annotations

import re

import pytest

from tests.loopback import json_server
from tests.pages import assert_clean, count_with, english_left, labelled, messages, run_page, table_with, with_text

pytestmark = [pytest.mark.app, pytest.mark.integration]
NEURONS = "7_Neuron_explanations.py"
SENSES = {"corpus": "Word senses"}


def test_the_baseline_explains_scores_and_charts_a_neuron():
    app = run_page(NEURONS, layer="3", **{"neurons.neuron": "42"}, **SENSES)
    assert_clean(app)
    assert labelled(app.metric, "Score (random only)")
    assert -1 <= float(labelled(app.metric, "Score (top and random)").value) <= 1
    assert any("tokens like" in markdown.value for markdown in app.markdown)
    # one legend per section, then 5 explanation texts, 4 quantile samples and 10 scored texts (all but 3 folded)
    assert count_with(app.html, "activation (0-10, against") == 2
    assert count_with(app.html, 'class="xray-highlight"') == 5 + 4 + 10
    assert {"Show all 5 explanation texts", "Show all 4 quantile texts", "Show all 10 scored texts"} <= {
        expander.label for expander in app.expander
    }
    saved = table_with(app, "layer", "neuron", "top_and_random")
    assert ((saved["layer"] == 3) & (saved["neuron"] == 42)).any()


def test_an_undefined_score_reads_undefined_and_the_histogram_says_how_many_it_leaves_out():
    # Neuron 4 of layer 3: the baseline's simulation is 0 on every scored token, so there is nothing to correlate.
    app = run_page(NEURONS, layer="3", **{"neurons.neuron": "4"}, **SENSES)
    assert_clean(app)
    assert [labelled(app.metric, label).value for label in ("Score (top and random)", "Score (random only)")] == [
        "undefined",
        "undefined",
    ]
    assert any("Score undefined" in caption.value for caption in app.caption)
    left_out = next(caption.value for caption in app.caption if "left out of the histogram" in caption.value)
    counted, total = map(int, re.match(r"([\d,]+) of the ([\d,]+) scores of layer 3", left_out).groups())
    saved = table_with(app, "layer", "neuron", "top_and_random")
    layer = saved[saved["layer"] == 3]
    assert counted == int(layer["top_and_random"].isna().sum()) >= 1 and total == len(layer)


def test_a_token_of_the_sentence_opens_its_most_active_neuron():
    app = run_page(NEURONS, layer="2", text="We sat on the bank of the river", **SENSES)
    links = app.button_group(key="neurons.open")
    first = links.options[0]
    app = links.set_value(int(first.removeprefix("neuron "))).run()
    assert_clean(app)
    assert f"neuron {app.number_input(key='neurons.neuron').value}" == first


def test_a_neuron_out_of_range_gets_a_notice():
    app = run_page(NEURONS, **{"neurons.neuron": "99999"}, **SENSES)
    assert_clean(app)
    assert "Neuron 99999 does not exist" in messages(app)


@pytest.fixture
def simulating_server():
    """A chat-completions server on loopback that explains every neuron as "river banks" and simulates each
    token's activation as its length (at most 10); it records the requests."""
    requests = []

    def answer(body: dict, headers) -> tuple[int, dict]:
        requests.append((headers.get("Authorization"), body))
        prompt = body["messages"][-1]["content"]
        if "\tunknown" in prompt:
            lines = [line.split("\t")[0] for line in prompt.splitlines() if line.endswith("\tunknown")]
            content = "<start>\n" + "".join(f"{token}\t{min(len(token), 10)}\n" for token in lines) + "<end>"
        else:
            content = "river banks."
        message = {"role": "assistant", "content": content}
        completion = {"id": "1", "object": "chat.completion", "created": 0, "model": body["model"]}
        completion["choices"] = [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]
        return 200, completion

    with json_server(answer) as url:
        yield url, requests


def test_an_endpoint_explains_beside_the_baseline_and_its_key_stays_hidden(simulating_server, monkeypatch):
    url, requests = simulating_server
    key = "sk-page-test-secret-123"
    monkeypatch.setenv("XRAY_LLM_BASE_URL", url)
    monkeypatch.setenv("XRAY_LLM_MODEL", "fake-explainer")
    monkeypatch.setenv("XRAY_LLM_API_KEY", key)
    app = run_page(NEURONS, layer="1", **{"neurons.neuron": "7"}, **SENSES)
    app = app.button_group(key="neurons.explainer").set_value("Language model (OpenAI-compatible endpoint)").run()
    assert_clean(app)

    assert [metric.label for metric in app.metric].count("Score (top and random)") == 2
    assert any("river banks" in markdown.value for markdown in app.markdown)
    assert len(requests) == 1 + 5 + 10 and {auth for auth, _ in requests} == {f"Bearer {key}"}
    assert all(body["model"] == "fake-explainer" for _, body in requests)
    saved = table_with(app, "layer", "neuron", "explainer")
    assert key not in str(app._tree) and key not in saved.to_csv()
    assert (saved["explainer"] == "fake-explainer").any()
    again = app.run()
    assert len(requests) == 16 and not again.exception  # cached: a rerun asks the endpoint nothing


@pytest.mark.parametrize("user_keys", ["", "1"])
def test_in_public_mode_the_endpoint_is_the_deployers_and_a_user_key_only_where_allowed(monkeypatch, user_keys):
    monkeypatch.setenv("XRAY_PUBLIC", "1")
    monkeypatch.setenv("XRAY_ALLOW_USER_KEYS", user_keys)
    monkeypatch.setenv("XRAY_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("XRAY_LLM_MODEL", "deployers-model")
    app = run_page(NEURONS, **SENSES)
    app = app.button_group(key="neurons.explainer").set_value("Language model (OpenAI-compatible endpoint)").run()

    fields = {box.label: box for box in app.text_input}
    assert fields["Base URL"].disabled and fields["Model"].disabled
    assert fields["Model"].value == "deployers-model"
    assert ("Your API key (kept for this session only)" in fields) == (user_keys == "1")


def test_a_focus_past_the_pieces_the_page_reads_says_so_and_still_explains_a_neuron():
    text = "The bank raised rates again. " * 30
    app = run_page(NEURONS, text=text, focus="100", **SENSES)
    assert_clean(app)
    assert "lies past the first 64 pieces" in messages(app)
    assert app.number_input(key="neurons.neuron").value == 0 and app.metric


def test_the_page_speaks_turkish_with_turkish_numbers():
    app = run_page(NEURONS, layer="3", lang="tr", **{"neurons.neuron": "42"}, **SENSES)
    assert_clean(app)
    assert english_left(app) == []
    assert app.title[0].value == "Nöron açıklamaları"
    assert app.number_input(key="neurons.neuron").label == "Nöron"
    explainer = app.button_group(key="neurons.explainer")
    assert explainer.label == "Açıklayıcı ve benzetici" and "Çevrimdışı taban çizgisi" in explainer.options
    assert re.fullmatch(r"-?\d,\d\d", labelled(app.metric, "Puan (en üst ve rastgele)").value)
    assert labelled(app.metric, "Puan (yalnızca rastgele)")
    assert any("gibi tokenler" in markdown.value for markdown in app.markdown)  # the baseline's explanation
    assert re.match(r"6 katman × 1\.536 nöron", with_text(app.caption, "kelime parçası").value)  # 1,536 in English
    assert "Gerçek ve benzetilen etkinlikler" in [subheader.value for subheader in app.subheader]
    assert "3. katmanın bütün nöronları" in [subheader.value for subheader in app.subheader]
    left_out = with_text(app.caption, "histogramın dışında").value
    assert re.match(r"3\. katmanın [\d.]+ puanından [\d.]+ tanesi histogramın dışında bırakıldı", left_out)
