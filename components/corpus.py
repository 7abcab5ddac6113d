"""The corpus and its activation store, shared by the pages that search or project a corpus.

The corpus picker is bound to the URL (built-in corpora) and remembers an upload for the whole session, so
every corpus page reads the same one. The store is found on disk or built once, with progress; while another
session builds it, this page waits and shows that build's progress.
"""

from __future__ import annotations

import time

import streamlit as st

from components.feedback import progress_bar, user_errors
from components.sidebar import SHARED, Selection
from xray.corpora.builtin import BUILTIN_CORPORA, load_builtin
from xray.corpora.corpus import Corpus
from xray.corpora.uploads import MAX_ROWS, MAX_UPLOAD_BYTES, UploadedTable, corpus_from_upload, read_upload
from xray.models.batching import bf16_is_fast
from xray.store.activations import (
    ActivationStore,
    StoreBusyError,
    StoreSettings,
    build_store,
    default_cache_root,
    find_store,
    open_store,
)
from xray.store.search import LevelIndex, build_index

UPLOAD = "Your own file (.txt or .csv)"
NO_LABEL = "(none)"
UPLOADED = "corpus.uploaded"
BUSY_POLL_S = 2.0


@st.cache_data(show_spinner=False, max_entries=4)
def cached_builtin(name: str) -> Corpus:
    return load_builtin(name)


@st.cache_data(show_spinner=False, max_entries=4)
def cached_upload(data: bytes, file_name: str) -> UploadedTable:
    return read_upload(data, file_name)


StoreKey = tuple[str, float]
"""A finished store as a cache key: its folder name and build time (which tells a rebuilt store apart)."""


def store_key(store: ActivationStore) -> StoreKey:
    return store.folder.name, store.manifest.build_seconds


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_open_store(key: StoreKey) -> ActivationStore:
    return open_store(default_cache_root() / key[0])


@st.cache_resource(show_spinner=False, max_entries=1)
def cached_index(key: StoreKey, level: int) -> LevelIndex:
    """One level's search index; one is kept at a time (it holds the level's vectors in memory; rebuilding one
    for another layer takes well under a second)."""
    return build_index(cached_open_store(key), level)


def _uploaded_corpus() -> Corpus:
    file = st.file_uploader(
        f"Upload a .txt (one text per line) or .csv (up to {MAX_ROWS:,} texts, {MAX_UPLOAD_BYTES / 1e6:.0f} MB); "
        "it stays on this machine.",
        type=["txt", "csv"],
        key="corpus.file",
    )
    if file is not None:
        st.session_state[UPLOADED] = (file.getvalue(), file.name)
    if UPLOADED not in st.session_state:
        st.info("Upload a file to search or project it, or pick a built-in corpus.")
        st.stop()
    data, name = st.session_state[UPLOADED]
    with user_errors(f"reading {name}"):
        uploaded = cached_upload(data, name)
    columns = st.columns(2)
    text_column = columns[0].selectbox("Text column", uploaded.text_columns, key="corpus.text_column")
    others = [column for column in uploaded.table.columns if column != text_column]
    label = columns[1].selectbox("Label column", [NO_LABEL, *others], key="corpus.label_column")
    with user_errors(f"reading {name}"):
        corpus, notices = corpus_from_upload(uploaded, text_column, None if label == NO_LABEL else label)
    for notice in uploaded.notices + notices:
        st.caption(notice)
    return corpus


def corpus_picker() -> Corpus:
    """The corpus picked on this page (shared by every corpus page and the URL); stops the page until one is."""
    choice = st.selectbox("Corpus", [*BUILTIN_CORPORA, UPLOAD], index=0, key="corpus", **SHARED)
    if choice == UPLOAD:
        return _uploaded_corpus()
    with user_errors(f"loading {choice}"), st.spinner(f"Reading {choice}…"):
        return cached_builtin(choice)


def store_settings(selection: Selection) -> StoreSettings:
    return StoreSettings(bf16=bf16_is_fast(selection.model.device))


def activation_store(selection: Selection, corpus: Corpus) -> ActivationStore:
    """The store of the sidebar model over ``corpus``: from disk, else built here with progress."""
    settings = store_settings(selection)
    root = default_cache_root()
    with user_errors("reading the activation store"):
        found = find_store(selection.model, corpus, root, settings)
    if found is None:
        found = _build(selection, corpus, settings)
    return cached_open_store(store_key(found))


def _build(selection: Selection, corpus: Corpus, settings: StoreSettings) -> ActivationStore:
    label = f"Computing every hidden state of {corpus.name} ({len(corpus):,} texts) once; kept on disk for next time"
    with user_errors("building the activation store"):
        try:
            with progress_bar(label) as progress:
                return build_store(selection.model, corpus, default_cache_root(), settings, progress=progress)
        except StoreBusyError as busy:
            st.progress(busy.share_done, text=f"{busy} ({busy.share_done:.0%} done)")
            time.sleep(BUSY_POLL_S)
            st.rerun()
