"""The corpus and its activation store, shared by the pages that search or project a corpus.

The corpus picker is bound to the URL (built-in corpora) and remembers an upload for the whole session, so
every corpus page reads the same one. The store is found on disk or built once by a child job
(``python -m xray index``, see :mod:`components.jobs`), whose progress the page follows; a session that finds a
build running (its own, another session's or one started from the command line) follows that one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import streamlit as st

from components.corpus_pass import CorpusPass, forget_saved_corpus, run_pass, saved_corpus, start_pass
from components.feedback import user_errors
from components.link_state import linked, set_value, value
from components.model import loaded_model
from components.navigation import PageInfo
from components.page import start_page
from components.run_marker import stop_page
from components.sidebar import Selection, use_text
from xray.cache import default_cache_root, unwritable_cache
from xray.corpora.builtin import BUILTIN_CORPORA, load_builtin
from xray.corpora.corpus import Corpus
from xray.corpora.uploads import MAX_ROWS, MAX_UPLOAD_BYTES, UploadedTable, corpus_from_upload, read_upload
from xray.examples import example_named
from xray.levels import level_name
from xray.models.loading import LoadedModel
from xray.store.builder import build_status
from xray.store.format import (
    ActivationStore,
    StoreDamagedError,
    StoreManifest,
    StoreSettings,
    locate_store,
    open_store,
    page_store_settings,
    store_name,
)
from xray.store.search import LevelIndex, build_index
from xray.translation import N_, _, number, translated

UPLOAD = N_("Your own file (.txt or .csv)")
NO_LABEL = N_("(none)")
UPLOADED = "corpus.uploaded"
SENSE_EXAMPLE = "Word sense (river bank)"


@st.cache_data(show_spinner=False, max_entries=4)
def cached_builtin(name: str) -> Corpus:
    return load_builtin(name)


@st.cache_data(show_spinner=False, max_entries=4)
def cached_upload(data: bytes, file_name: str) -> UploadedTable:
    return read_upload(data, file_name)


StoreKey = tuple[str, float]
"""A finished store as a cache key: its folder name and build time (which tells a rebuilt store apart)."""


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_open_store(key: StoreKey) -> ActivationStore:
    return open_store(default_cache_root() / key[0])


@st.cache_resource(show_spinner=False, max_entries=1)
def cached_index(key: StoreKey, level: int) -> LevelIndex:
    """One level's search index; one is kept at a time (an exact one holds nothing, a compressed one its codes;
    building one for another layer takes under a second for exact search, the codes' training longer)."""
    return build_index(cached_open_store(key), level)


def sense_words(store: StoreKey) -> list[str]:
    """The words of the word-sense set in the store's corpus (empty when it has none)."""
    texts = cached_open_store(store).texts
    return sorted(texts["word"].dropna().unique()) if "word" in texts.columns else []


def offer_sense_example(store: StoreKey, word: str) -> None:
    """Where the corpus has the word-sense set and ``word`` is not one of its words, say so and offer the word-sense
    example in one click (its labels then tell the senses apart)."""
    words = sense_words(store)
    if not words or word.lower() in words:
        return
    example = example_named(SENSE_EXAMPLE)
    st.caption(
        _(
            "'{word}' is not one of the word-sense set's {count} ambiguous words, so its neighbours' labels are "
            "topics, not senses. Words with two senses: {words}, …"
        ).format(word=word, count=len(words), words=", ".join(words[:8]))
    )
    st.button(
        _("Use the word-sense example (“{word}”)").format(word=example.key_word),
        key="corpus.sense_example",
        on_click=use_text,
        args=(example.text,),
        help=example.text,
    )


def _uploaded_corpus() -> Corpus:
    file = st.file_uploader(
        _(
            "Upload a .txt (one text per line) or .csv (up to {rows} texts, {megabytes} MB); it stays on this machine."
        ).format(rows=number(MAX_ROWS, 0), megabytes=number(MAX_UPLOAD_BYTES / 1e6, 0)),
        type=["txt", "csv"],
        key="corpus.file",
    )
    if file is not None:
        st.session_state[UPLOADED] = (file.getvalue(), file.name)
    if UPLOADED not in st.session_state:
        st.info(_("Upload a file to search or project it, or pick a built-in corpus."))
        stop_page()
    data, name = st.session_state[UPLOADED]
    with user_errors(_("reading {file}").format(file=name)):
        uploaded = cached_upload(data, name)
    columns = st.columns(2)
    text_column = columns[0].selectbox(_("Text column"), uploaded.text_columns, key="corpus.text_column")
    others = [column for column in uploaded.table.columns if column != text_column]
    label = columns[1].selectbox(
        _("Label column"), [NO_LABEL, *others], key="corpus.label_column", format_func=_no_label_translated
    )
    with user_errors(_("reading {file}").format(file=name)):
        corpus, notices = corpus_from_upload(uploaded, text_column, None if label == NO_LABEL else label)
    for notice in uploaded.notices + notices:
        st.caption(translated(notice))
    return corpus


def _no_label_translated(column: str) -> str:
    return _(NO_LABEL) if column == NO_LABEL else column


def corpus_picker(opening: str | None = None) -> Corpus:
    """The corpus picked on this page, shared by every corpus page and the URL; stops the page until one is.
    opening: the built-in corpus this page opens on while the session holds none but the first (which other pages
    open on); it is then the session's, and the URL's, as if picked."""
    choices = [*BUILTIN_CORPORA, UPLOAD]
    if opening is not None and opening not in BUILTIN_CORPORA:
        raise ValueError(
            _("No built-in corpus is called {name}; pick one of {names}.").format(
                name=repr(opening), names=", ".join(BUILTIN_CORPORA)
            )
        )
    if opening is not None and value("corpus") is None:
        set_value("corpus", opening)
    choice = linked(
        st.selectbox,
        _("Corpus"),
        key="corpus",
        default=choices[0],
        valid=choices,
        options=choices,
        format_func=lambda name: _(UPLOAD) if name == UPLOAD else name,
    )
    if choice == UPLOAD:
        return _uploaded_corpus()
    with (
        user_errors(_("loading {corpus}").format(corpus=choice)),
        st.spinner(_("Reading {corpus}…").format(corpus=choice)),
    ):
        return cached_builtin(choice)


@dataclass(frozen=True)
class CorpusPage:
    """What a corpus page works with: the sidebar selection, the corpus, its finished store (and the store's cache
    key), and the store level the sidebar layer names (level 0 is the embeddings, so layer L is level L + 1)."""

    selection: Selection
    corpus: Corpus
    store: ActivationStore
    key: StoreKey
    level: int


def start_corpus_page(info: PageInfo) -> CorpusPage:
    """The opening of the Embedding search and Projections pages: the page opening and sidebar, the corpus picker,
    and the store (built with progress on a first visit)."""
    selection = start_page(info)
    corpus = corpus_picker()
    key = activation_store(selection, corpus)
    with user_errors(_("reading the activation store")):
        store = cached_open_store(key)
    level = selection.layer + 1
    manifest = store.manifest
    st.caption(
        _(
            "{corpus}: {texts} texts, {pieces} word pieces at {levels} levels, computed in {precision} and kept on "
            "disk. Showing {level} (the sidebar layer)."
        ).format(
            corpus=manifest.corpus_name,
            texts=number(manifest.texts, 0),
            pieces=number(manifest.pieces, 0),
            levels=manifest.levels,
            precision=manifest.precision,
            level=translated(level_name(level)),
        )
    )
    return CorpusPage(selection, corpus, store, key, level)


def store_settings(selection: Selection) -> StoreSettings:
    return page_store_settings(selection.model.device)


def prebuild_default_store(model_name: str) -> None:
    """Start building the store of ``model_name`` over the default corpus in a child job, unless it is on disk or
    being built: the background warm-up (:mod:`components.warm_up`) calls it once the server is idle, so the first
    corpus page finds the store ready, or follows the build already under way."""
    loaded = loaded_model(model_name)
    corpus = load_builtin(next(iter(BUILTIN_CORPORA)))
    settings = page_store_settings(loaded.device)
    root = default_cache_root()
    if unwritable_cache(root) is None and locate_store(loaded, corpus, root, settings) is None:
        start_pass(_store_pass(model_name, loaded, corpus, settings, root))


def activation_store(selection: Selection, corpus: Corpus) -> StoreKey:
    """The key of the sidebar model's store over ``corpus`` (open it with :func:`cached_open_store`): found on disk
    by its manifest alone, else built by a child job (``python -m xray index``) that this page follows (see
    :func:`components.corpus_pass.run_pass`); stops the page with a message if the build fails."""
    settings = store_settings(selection)
    root = default_cache_root()

    def located() -> tuple[Path, StoreManifest] | None:
        with user_errors(_("reading the activation store")):
            try:
                return locate_store(selection.model, corpus, root, settings)
            except StoreDamagedError as error:  # moved aside already: nothing is read from it
                offer_rebuild(error)

    found = located()
    if found is None:
        job = _store_pass(selection.model_name, selection.model, corpus, settings, root)
        found = run_pass(job, located)
        forget_saved_corpus(root, job.name)
    folder, manifest = found
    return folder.name, manifest.build_seconds


def offer_rebuild(error: StoreDamagedError) -> NoReturn:
    """Say that the store was found damaged (and moved aside, so nothing was read from it), offer to build it
    again, and stop the page. The stores opened in this server are forgotten: none is read from a damaged file."""
    cached_index.clear()
    cached_open_store.clear()
    st.error(str(error), icon=":material/broken_image:")
    st.button(_("Build the store again"), key="corpus.rebuild", icon=":material/refresh:", type="primary")
    stop_page()


def _store_pass(
    model_name: str, loaded: LoadedModel, corpus: Corpus, settings: StoreSettings, root: Path
) -> CorpusPass:
    """The build of this store as a pass of ``python -m xray index`` over the corpus saved as a table."""
    name = store_name(loaded, corpus, settings)
    arguments = ["index", "--model", model_name, "--table", str(saved_corpus(corpus, root, name))]
    arguments += ["--cache-dir", str(root), "--batch-size", str(settings.batch_size)]
    arguments += ["--max-tokens", str(settings.max_tokens)] + (["--bf16"] if settings.bf16 else [])
    return CorpusPass(
        name=name,
        label=_("Computing every hidden state of {corpus} ({texts} texts) once; kept on disk for next time").format(
            corpus=corpus.name, texts=number(len(corpus), 0)
        ),
        arguments=tuple(arguments),
        log=root / f".{name}.log",
        status=lambda: build_status(root, name),
        failure=_("The activation store could not be built"),
    )
