"""Faults survived, as a page shows them: a store or neuron records damaged after publishing (the page says so and
builds them again on request, never reading them) and a cache folder that cannot be written (pages that need no
store still work, the others say where to point XRAY_CACHE_DIR)."""

from __future__ import annotations

import pytest

from components.sidebar import OTHER_MODEL
from tests.pages import assert_clean, labelled, messages, run_page, with_text
from tests.test_faults import cut_short
from tests.tiny_models import tiny_bert_mlm
from xray.cache import CACHE_ENV, default_cache_root
from xray.corpora.builtin import load_builtin
from xray.models.loading import load_model
from xray.neurons.records import build_records
from xray.store.builder import build_store
from xray.store.format import page_store_settings

pytestmark = pytest.mark.app
SEARCH = "2_Embedding_search.py"
NEURONS = "7_Neuron_explanations.py"
CORPUS = "Word senses"


def test_a_corpus_page_with_a_truncated_store_says_so_reads_nothing_and_builds_it_again(tmp_path):
    folder = tiny_bert_mlm(tmp_path / "mlm")
    loaded = load_model(str(folder))
    store = build_store(loaded, load_builtin(CORPUS), default_cache_root(), page_store_settings(loaded.device))
    cut_short(store.folder / "level_02.npy")
    query = {"model": OTHER_MODEL, "model_id": str(folder), "text": "she sat on the bank", "corpus": CORPUS}

    app = run_page(SEARCH, **query)
    assert not app.exception
    shown = messages(app)
    assert "is damaged (level_02.npy holds" in shown and "it was moved aside: build it again" in shown
    assert not store.folder.exists()
    assert not [table for table in app.dataframe]  # no neighbour was read from the damaged file
    rebuild = labelled(app.button, "Build the store again")

    app = rebuild.click().run()  # the page builds it again (a child job it follows)
    assert_clean(app)
    assert store.folder.is_dir() and "damaged" not in messages(app)
    assert app.dataframe  # neighbours, from the new store


@pytest.fixture
def unwritable_cache(tmp_path, monkeypatch):
    """XRAY_CACHE_DIR under a regular file: nothing can be made there, even as root (chmod would not stop root)."""
    (tmp_path / "a-file").write_text("not a folder")
    root = tmp_path / "a-file" / "cache"
    monkeypatch.setenv(CACHE_ENV, str(root))
    return root


@pytest.mark.integration
@pytest.mark.parametrize("page", ["1_Attention.py", "3_SHAP.py", "9_Tokenizers.py"])
def test_pages_that_need_no_store_work_with_a_cache_that_cannot_be_written(unwritable_cache, page):
    app = run_page(page)
    assert_clean(app)
    assert "XRAY_CACHE_DIR" not in messages(app)


@pytest.mark.integration
def test_a_corpus_page_with_a_cache_that_cannot_be_written_says_where_to_point_it(unwritable_cache):
    app = run_page(SEARCH, corpus=CORPUS)
    assert not app.exception, [exception.value for exception in app.exception]
    error = with_text(app.error, "cannot be written")
    assert f"The cache folder {unwritable_cache} cannot be written (Not a directory)" in error.value
    assert "point XRAY_CACHE_DIR at a folder this server can write" in error.value


def test_the_neuron_page_with_damaged_records_says_so_reads_nothing_and_computes_them_again(tmp_path):
    folder = tiny_bert_mlm(tmp_path / "mlm")
    records = build_records(load_model(str(folder)), load_builtin(CORPUS), default_cache_root())
    cut_short(records.folder / "maxima_1.npy")
    query = {"model": OTHER_MODEL, "model_id": str(folder), "text": "she sat on the bank", "corpus": CORPUS}

    app = run_page(NEURONS, **query)
    assert not app.exception
    assert "maxima_1.npy" in messages(app) and not records.folder.exists()
    assert not [table for table in app.dataframe]  # no neuron was read from the damaged file
    recompute = labelled(app.button, "Compute the records again")

    app = recompute.click().run()  # the page computes them again (a child job it follows)
    assert_clean(app)
    assert records.folder.is_dir() and "maxima_1.npy" not in messages(app)
