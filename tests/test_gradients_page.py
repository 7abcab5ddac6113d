"""AppTest runs of the Gradients page on the embedded topic classifier."""

from __future__ import annotations

import pytest

from tests.pages import assert_clean, labelled, run_page, with_text
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
