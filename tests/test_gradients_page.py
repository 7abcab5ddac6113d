"""AppTest runs of the Gradients page on the embedded topic classifier."""

from __future__ import annotations

import json
import re

import pytest

from tests.pages import assert_clean, english_left, labelled, run_page, with_text
from xray.techniques.gradients import GRADIENT_NORM, GRADIENT_X_INPUT, INTEGRATED_GRADIENTS

pytestmark = [pytest.mark.app, pytest.mark.integration]
GRADIENTS = "11_Gradients.py"
TEXT = "The referee sent off the captain and the crowd booed."


def _specs(app) -> list[str]:
    return [chart.proto.spec for chart in app.get("vega_lite_chart") + app.get("arrow_vega_lite_chart")]


def test_the_page_explains_the_predicted_class_with_three_methods_and_states_completeness():
    app = run_page(GRADIENTS, text=TEXT)
    assert_clean(app)
    assert labelled(app.metric, "Explained class").value.startswith("sports")
    assert float(labelled(app.metric, "Completeness gap").value) == pytest.approx(0.0, abs=0.01)
    assert "complete." in with_text(app.caption, "Integrated gradients sum to").value
    assert [tab.label for tab in app.tabs] == [INTEGRATED_GRADIENTS, GRADIENT_X_INPUT, GRADIENT_NORM]
    assert sum("for sports" in spec for spec in _specs(app)) == 3  # one chart per method
    assert {"gradients.csv", "gradients.pieces", "gradients.json"} <= {
        button.key for button in app.get("download_button")
    }


def test_the_steps_are_read_from_the_url():
    app = run_page(GRADIENTS, text=TEXT, **{"gradients.steps": "10"})
    assert_clean(app)
    assert app.slider(key="gradients.steps").value == 10
    assert with_text(app.caption, "10 steps in batches of 50").value


def test_the_page_speaks_turkish_with_turkish_numbers():
    app = run_page(GRADIENTS, text=TEXT, lang="tr")
    assert_clean(app)
    assert english_left(app) == []
    assert app.title[0].value == "Gradyanlar"
    assert app.slider(key="gradients.steps").label == "Adımlar"
    assert app.number_input(key="gradients.batch").label == "İç yığın boyutu"
    methods = ["Tümleşik gradyanlar", "Gradyan × girdi", "Gradyan normu"]
    assert [tab.label for tab in app.tabs] == methods
    assert re.fullmatch(r"[+-]\d,\d{4}", labelled(app.metric, "Tamlık farkı").value)
    assert with_text(app.caption, "Tümleşik gradyanların toplamı").value.endswith(": tam.")
    assert "50'lik yığınlarla 50 adım" in with_text(app.caption, "Tümleşik gradyanlar: boş bir metinden").value
    titles = [json.loads(spec).get("title") for spec in _specs(app)]
    assert sum(title == f"sports için {method}" for title in titles for method in methods) == 3  # titled in Turkish
