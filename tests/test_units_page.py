"""AppTest runs of the Which units page on a tiny model (no dictionary, so no factors), over the word-sense set."""

from __future__ import annotations

import pytest

from components.sidebar import OTHER_MODEL
from tests.pages import assert_clean, keyed_table, messages, run_page
from tests.tiny_models import tiny_bert

pytestmark = pytest.mark.app
UNITS = "10_Which_units.py"


def test_the_page_scores_every_kind_on_the_model_and_on_random_weights(tmp_path):
    folder = str(tiny_bert(tmp_path / "tiny"))
    app = run_page(UNITS, model=OTHER_MODEL, model_id=folder, **{"units.count": "5"})
    assert_clean(app)
    assert "No factor dictionary" in messages(app) and not app.markdown  # nothing is started by itself
    assert {button.key for button in app.button} >= {"units.start.trained", "units.start.random weights"}

    app = app.button(key="units.start.trained").click().run(timeout=180)
    assert_clean(app)
    grid = keyed_table(app, "units.grid.trained")
    assert list(grid.index) == ["neuron", "basis", "pca", "random"] and next(iter(grid.columns)) == "embeddings"
    assert any(markdown.value.startswith("Median top-and-random score over every level") for markdown in app.markdown)
    assert any("With a language model the same" in caption.value for caption in app.caption)
    labels = {button.label for button in app.get("download_button")}
    assert {"Medians (CSV)", "Every unit (JSON)", "PNG", "SVG"} <= labels

    app = app.button(key="units.start.random weights").click().run(timeout=180)
    assert_clean(app)
    keyed_table(app, "units.grid.random weights")
    assert any(markdown.value.startswith("Trained minus random weights") for markdown in app.markdown)

    again = run_page(UNITS, model=OTHER_MODEL, model_id=folder, **{"units.count": "5"})  # read from disk
    assert_clean(again) and keyed_table(again, "units.grid.trained").equals(grid)
    other = run_page(UNITS, model=OTHER_MODEL, model_id=folder, **{"units.count": "10"})  # not these 5: not shown
    assert_clean(other)
    assert not any(m.value.startswith("Median top-and-random") for m in other.markdown)
    assert "units.start.trained" in {button.key for button in other.button}
