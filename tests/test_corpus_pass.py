"""The one way a page runs a corpus pass (components/corpus_pass.py), on neuron records of a tiny model: a child job
started and followed to its result, a failure said in a line, and a cancelled pass waiting for Resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.app


def _page(model: str, table: str, root: str, arguments: tuple[str, ...], cancelled: bool) -> None:
    from pathlib import Path

    import streamlit as st

    from components.corpus_pass import CorpusPass, run_pass
    from xray.corpora.corpus import load_corpus
    from xray.models.loading import load_model
    from xray.neurons.records import find_records, records_status

    loaded, corpus, cache = load_model(model), load_corpus(Path(table)), Path(root)
    job = CorpusPass(
        name="records",
        label="Reading every neuron",
        arguments=arguments,
        log=cache / ".records.log",
        status=lambda: records_status(loaded, corpus, cache),
        failure="The records could not be computed",
    )
    if cancelled and "seeded" not in st.session_state:  # as a Cancel in this session's last run leaves it
        st.session_state["seeded"] = st.session_state[job.cancelled_key] = True
    records = run_pass(job, lambda: find_records(loaded, corpus, cache))
    st.metric("Texts", records.manifest.texts)


def _app(tiny_folders, tmp_path: Path, *, arguments: tuple[str, ...] | None = None, cancelled=False) -> AppTest:
    from tests.test_store import tiny_corpus

    table, root = tmp_path / "corpus.parquet", tmp_path / "cache"
    tiny_corpus().save(table)
    model = str(tiny_folders["bert"])
    if arguments is None:
        arguments = ("neurons", "--model", model, "--table", str(table), "--cache-dir", str(root))
    return AppTest.from_function(_page, args=(model, str(table), str(root), arguments, cancelled), default_timeout=120)


def test_a_pass_runs_as_a_child_job_and_the_page_gets_its_result(tiny_folders, tmp_path):
    from tests.test_store import tiny_corpus

    app = _app(tiny_folders, tmp_path).run()
    assert not app.exception and not app.error
    assert app.metric[0].value == str(len(tiny_corpus()))
    assert not [path for path in (tmp_path / "cache" / "neurons").iterdir() if path.name.endswith(".partial")]


def test_a_failed_pass_says_why_in_one_line_and_stops(tiny_folders, tmp_path):
    app = _app(tiny_folders, tmp_path, arguments=("neurons", "--model", str(tmp_path / "no-such-model"))).run()
    assert not app.exception and not app.metric
    assert len(app.error) == 1 and app.error[0].value.startswith("The records could not be computed: ")


def test_a_cancelled_pass_waits_for_resume_then_runs(tiny_folders, tmp_path):
    app = _app(tiny_folders, tmp_path, cancelled=True).run()
    assert not app.exception and not app.metric  # not started again by itself
    assert not (tmp_path / "cache" / ".records.log").exists()
    app = app.button(key="records.resume").click().run()
    assert not app.exception and not app.error and app.metric[0].label == "Texts"
