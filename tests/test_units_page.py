"""AppTest runs of the Which units page on a tiny model (no dictionary, so no factors), over the word-sense set."""

from __future__ import annotations

import re

import pytest

from components.model import _models
from components.sidebar import OTHER_MODEL
from tests.pages import assert_clean, english_left, keyed_table, messages, run_page
from tests.tiny_models import tiny_bert

pytestmark = pytest.mark.app
UNITS = "10_Which_units.py"


def test_the_page_scores_every_kind_on_the_model_and_on_random_weights(tmp_path):
    folder = str(tiny_bert(tmp_path / "tiny"))
    app = run_page(UNITS, model=OTHER_MODEL, model_id=folder, **{"units.count": "5"})
    assert_clean(app)
    assert "No factor dictionary" in messages(app) and not app.markdown  # nothing is started by itself
    assert {button.key for button in app.button} >= {"units.start.trained", "units.start.random weights"}
    # Offering to score the control keeps no random-weights model in the server's pool.
    assert not any(name.startswith("random weights") for name in _models.names())

    app = app.button(key="units.start.trained").click().run(timeout=180)
    assert_clean(app)
    grid = keyed_table(app, "units.grid.trained")
    assert list(grid.index) == ["MLP neurons", "residual basis", "PCA components", "random directions"]
    assert next(iter(grid.columns)) == "embeddings"
    assert any(markdown.value.startswith("Median top-and-random score over every level") for markdown in app.markdown)
    assert any("With a language model the same" in caption.value for caption in app.caption)
    labels = {button.label for button in app.get("download_button")}
    assert {"Medians (CSV)", "Every unit (JSON)", "PNG", "SVG"} <= labels

    app = app.button(key="units.start.random weights").click().run(timeout=180)
    assert_clean(app)
    keyed_table(app, "units.grid.random weights")
    assert any(markdown.value.startswith("Trained minus random weights") for markdown in app.markdown)

    again = run_page(UNITS, model=OTHER_MODEL, model_id=folder, **{"units.count": "5"})  # read from disk
    assert_clean(again)
    assert keyed_table(again, "units.grid.trained").equals(grid)
    # The same, said in Turkish: the verdicts kept in English are drawn in Turkish, with Turkish numbers.
    turkish = run_page(UNITS, model=OTHER_MODEL, model_id=folder, lang="tr", **{"units.count": "5"})
    assert_clean(turkish)
    assert english_left(turkish) == []
    verdicts = [markdown.value for markdown in turkish.markdown]
    assert any(
        re.fullmatch(r"Bütün düzeyler üzerinden medyan en üst ve rastgele puanı: .+ -?\d,\d\d; \d+ düzeyin .+", v)
        for v in verdicts
    ), verdicts
    assert any(v.startswith("Eğitilmiş eksi rastgele ağırlıklar") for v in verdicts)
    turkish_grid = keyed_table(turkish, "units.grid.trained")
    assert next(iter(turkish_grid.index)) == "MLP nöronları" and list(turkish_grid.columns)[:2] == [
        "gömmeler",
        "0. katman",
    ]
    assert turkish_grid.loc["MLP nöronları", "gömmeler"] == "-"
    assert any("Bir dil modeliyle aynı" in caption.value and "çağrı" in caption.value for caption in turkish.caption)
    assert [subheader.value.split(":")[0] for subheader in turkish.subheader] == ["Eğitilmiş", "Rastgele ağırlıklar"]
    labels = {button.label for button in turkish.get("download_button")}
    assert {"Medyanlar (CSV)", "Her birim (JSON)"} <= labels
    other = run_page(UNITS, model=OTHER_MODEL, model_id=folder, **{"units.count": "10"})  # not these 5: not shown
    assert_clean(other)
    assert not any(m.value.startswith("Median top-and-random") for m in other.markdown)
    assert "units.start.trained" in {button.key for button in other.button}


def test_the_page_speaks_turkish_before_anything_is_scored():
    app = run_page(UNITS, lang="tr", **{"units.count": "5"})
    assert_clean(app)
    assert english_left(app) == []
    assert app.title[0].value == "Hangi birimler"
    assert app.number_input(key="units.count").label == "Düzey başına her türden birim"
    assert app.toggle(key="units.control").label == "Rastgele ağırlıklara karşı"
    assert app.selectbox(key="units.corpus").label == "Derlem"
    button = app.button(key="units.start.trained")
    assert button.label.startswith("'") and button.label.endswith("modelinin her düzeyinde her türden 5 birimi puanla")
    assert button.help == "Bir dizüstü CPU'sunda birkaç dakika."
