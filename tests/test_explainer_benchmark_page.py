"""AppTest runs of the Explainers on a corpus page on the embedded topic classifier, over three held-out BBC News
sentences with small budgets (the run is a child job, as from the page)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest

from tests.pages import assert_clean, english_left, keyed_table, messages, run_page
from xray.corpora.builtin import load_builtin
from xray.explainer_benchmark.saved import BenchmarkSettings, chosen_texts
from xray.techniques.compare import RANDOM

pytestmark = [pytest.mark.app, pytest.mark.integration]
PAGE = "12_Explainers_on_a_corpus.py"
SMALL = {"explainers.texts": "3", "explainers.shap_evals": "50", "explainers.lime_samples": "100"}
SMALL["explainers.steps"] = "5"


def test_nothing_runs_until_asked_then_every_view_is_drawn_and_read_back_from_disk():
    app = run_page(PAGE, **SMALL)
    assert_clean(app)
    assert "Nothing is run until you ask" in messages(app) and not app.markdown
    assert "`python -m xray explain-corpus --corpus 'BBC News sentences' --classifier topic" in messages(app)
    assert "--texts 3 --max-evals 50 --lime-samples 100 --steps 5 --seed 0`" in messages(app)
    (start,) = [button for button in app.button if button.key == "explainers.start"]
    assert start.label == "Run every explainer over 3 texts" and " here, from this machine's" in start.proto.help
    assert app.selectbox(key="corpus").value == "BBC News sentences"  # the held-out BBC sentences by default

    app = start.click().run(timeout=300)
    assert_clean(app)
    faithfulness = keyed_table(app, "explainers.faithfulness")
    assert faithfulness["method"].iloc[-1] == RANDOM and len(faithfulness) == 7  # every method and the random order
    verdict = app.markdown[0].value
    assert verdict.startswith("Over 3 texts, *") and "keeps the prediction best" in verdict
    held_out, _ = chosen_texts(load_builtin("BBC News sentences"), BenchmarkSettings(texts=3))
    links = app.get("page_link")
    assert len(links) == 3 and {link.proto.page for link in links} == {"Which_explanation"}
    opened = [parse_qs(link.proto.query_string) for link in links]
    assert sorted(query["text"][0] for query in opened) == sorted(held_out)  # each opens one of the texts
    assert all(query["classifier"] == ["topic"] and "focus" not in query for query in opened)
    relied = keyed_table(app, "explainers.relied_on")
    assert set(relied["class"]) <= {"business", "entertainment", "politics", "sports", "tech"} and len(relied)
    labels = {button.label for button in app.get("download_button")}
    assert {"Run (JSON)", "Every text (CSV)", "Faithfulness (CSV)", "Relied-on words (CSV)", "PNG"} <= labels

    again = run_page(PAGE, **SMALL, **{"explainers.relied_method": "LIME"})  # read from disk, nothing to click
    assert_clean(again) and "explainers.start" not in {button.key for button in again.button}
    assert keyed_table(again, "explainers.faithfulness").equals(faithfulness)
    assert "mean |LIME score|" in " ".join(caption.value for caption in again.caption)
    turkish = run_page(PAGE, **SMALL, lang="tr")  # the same run, said in Turkish with Turkish numbers
    assert_clean(turkish)
    assert english_left(turkish) == []
    assert turkish.subheader[0].value == "3 metin üzerinde hangi yöntem sadık?"
    assert turkish.markdown[0].value.startswith("3 metin üzerinde en kapsayıcı yöntem *")
    assert re.search(r"\(-?\d,\d\d, %95 aralık -?\d,\d\d ile -?\d,\d\d arası\)", turkish.markdown[0].value)
    other = run_page(PAGE, **{**SMALL, "explainers.steps": "10"})  # other settings: another run, not shown
    assert_clean(other) and "explainers.start" in {button.key for button in other.button}
