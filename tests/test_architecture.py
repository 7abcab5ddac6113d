"""The house rules, checked: layers import in one direction, pages declare themselves, results export alike."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.navigation import PageInfo, discover_pages, read_page_info
from tests.doubles import random_head
from tests.pages import ROOT
from xray.cache import BuildStatus
from xray.corpora.corpus import Corpus
from xray.results import Result, json_text
from xray.store.builder import build_store
from xray.store.format import StoreSettings, store_name
from xray.techniques.gradients import explain_gradients


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, wherever the import statement is."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _graph(package: str) -> dict[str, set[str]]:
    modules = {_module(path): path for path in (ROOT / package).rglob("*.py")}
    return {name: {imported for imported in _imports(path) if imported in modules} for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules, or None."""
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for following in sorted(graph[node]):
            if state.get(following) == "open":
                return [*trail[trail.index(following) :], following]
            if following not in state and (found := visit(following, [*trail, following])):
                return found
        state[node] = "done"
        return None

    return next((found for node in sorted(graph) if node not in state and (found := visit(node, [node]))), None)


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("package", ["components", "xray"])
def test_no_import_loops(package):
    assert _cycle(_graph(package)) is None


def test_xray_never_imports_streamlit_or_components():
    for path in (ROOT / "xray").rglob("*.py"):
        imported = {name.split(".")[0] for name in _imports(path)}
        assert not imported & {"streamlit", "components"}, path


def test_each_technique_has_one_streamlit_module_that_imports_only_xray_and_shared_rooms():
    shared = {"components.model", "components.sidebar", "components.page", "components.navigation"}
    shared |= {"components.feedback", "components.downloads", "components.classifier", "components.corpus"}
    shared |= {"components.deploy", "components.jobs", "components.corpus_pass", "components.run_marker"}
    techniques = {path.stem for path in (ROOT / "xray" / "techniques").glob("[a-z]*.py")}
    for technique in techniques:
        path = ROOT / "components" / f"{technique}.py"
        assert path.exists(), f"no components/{technique}.py"
        local = {name for name in _imports(path) if name.startswith("components")}
        assert local <= shared, (technique, local - shared)


def test_the_entry_point_imports_nothing_heavy_so_titles_paint_at_once():
    code = (
        "import sys, components.navigation, components.warm_up, components.run_marker; "
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('torch', 'transformers', 'shap', "
        "'xray', 'babel') and name not in ('xray', 'xray.translation', 'xray.memory')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"  # of the core, only the translation function (gettext)
    allowed = {"__future__", "streamlit", "components.language", "components.navigation", "components.warm_up"}
    allowed |= {"components.run_marker"}
    for name in _imports(ROOT / "streamlit_app.py"):
        assert name in allowed | {"xray.translation"}, name


def test_every_page_declares_its_info_and_the_home_page_comes_first():
    pages = discover_pages()
    assert pages[0][1].name == "Home"
    names = [info.name for _, info in pages]
    assert len(set(names)) == len(names)
    assert all(info.question for _, info in pages[1:])


def test_a_page_without_info_is_refused_clearly(tmp_path):
    (tmp_path / "1_Bad.py").write_text("import streamlit as st\n", encoding="utf-8")
    with pytest.raises(ValueError, match="declares no PAGE"):
        read_page_info(tmp_path / "1_Bad.py")
    (tmp_path / "2_Good.py").write_text('PAGE = PageInfo(title="T", icon="x", caption="c", uses_layer=False)\n')
    assert read_page_info(tmp_path / "2_Good.py") == PageInfo(title="T", icon="x", caption="c", uses_layer=False)


def test_json_text_writes_arrays_and_nan_as_json():
    assert json_text({"a": np.array([1.0, np.nan]), "b": np.float32(2)}, indent=None) == '{"a": [1.0, null], "b": 2.0}'


def _result_types() -> set[str]:
    """Every class under xray/ with both ``table()`` and ``to_json()`` methods, its own or a base class's under
    xray/ (bases found by name), as ``module.Class`` (the protocol itself aside)."""
    classes: dict[str, tuple[set[str], list[str]]] = {}  # module.Class: own methods, base names
    for path in sorted((ROOT / "xray").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                methods = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
                bases = [base.id if isinstance(base, ast.Name) else getattr(base, "attr", "") for base in node.bases]
                classes[f"{module}.{node.name}"] = (methods, bases)

    def offered(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        found: set[str] = set()
        for key, (methods, bases) in classes.items():
            if key.rsplit(".", 1)[1] == name and name not in seen:
                found |= methods.union(*(offered(base, seen | {name}) for base in bases))
        return found

    found = {key for key in classes if {"table", "to_json"} <= offered(key.rsplit(".", 1)[1])}
    return found - {"xray.results.Result"}


def _attention_results(tiny) -> list:
    from tests.doubles import PlantedWordClassifier
    from xray.explainer_benchmark.run import explain_texts
    from xray.explainer_benchmark.summary import ExplainerBenchmark
    from xray.techniques.attention import compute_attention, head_statistics, rollout
    from xray.techniques.compare import explain_and_compare
    from xray.techniques.lime_explain import explain_lime
    from xray.techniques.shap_explain import explain_shap

    attention = compute_attention(tiny["bert"], "the animal was tired")
    classifier = PlantedWordClassifier(tiny["bert"])
    return [
        attention,
        head_statistics(attention.main.attentions, attention.main.key_special_mask),
        rollout(attention),
        explain_shap(classifier, "the animal was tired", max_evals=40),
        explain_lime(classifier, "the animal was tired", num_samples=200),
        explain_and_compare(classifier, "the animal was very tired", max_evals=40, num_samples=200),
        ExplainerBenchmark(
            classifier.name, "one text", {}, explain_texts(classifier, ["the animal was tired"], max_evals=40)
        ),
    ]


def _corpus_results(tiny, folder: Path) -> list:
    from tests.test_store import SETTINGS, tiny_corpus
    from tests.test_units import _corpus
    from xray.models.token_predictions import predict_token
    from xray.store.search import build_index
    from xray.techniques.embedding_search import search_neighbours, stored_states
    from xray.techniques.neuron_explanations import BaselineExplainer, BaselineSimulator
    from xray.techniques.projections import build_projection
    from xray.units.compare import score_units

    store = build_store(tiny["bert"], tiny_corpus(), folder, SETTINGS, tags=False)
    larger = build_store(tiny["bert"], _corpus(), folder, SETTINGS, tags=False)
    return [
        search_neighbours(store, build_index(store, 2), "x", stored_states(store, 5), k=4),
        build_projection(store, 2, "text", "PCA", np.arange(len(store.texts)), 2),
        predict_token(tiny["gpt2"], "the bank", 0, k=3),
        score_units(tiny["bert"], larger, BaselineExplainer(), BaselineSimulator(), kinds=("basis",), units=2),
    ]


def _factor_results(tiny) -> list:
    from tests.test_factor_lime import random_dictionary
    from xray.techniques.factor_lime import explain_factor
    from xray.techniques.factors import sentence_factors

    loaded = tiny["bert"]
    dictionary = random_dictionary(loaded.model.config.hidden_size, loaded.model.config.num_hidden_layers + 1)
    states = np.random.default_rng(0).normal(size=(dictionary.importance.shape[0], 3, dictionary.atoms.shape[1]))
    text = "The old bank manager"
    offsets = loaded.tokenizer(text, return_offsets_mapping=True)["offset_mapping"]
    target = next(tuple(span) for span in offsets if span[0] <= text.index("bank") < span[1])
    return [
        dictionary,
        sentence_factors(dictionary, ["the", "old", "bank"], states.astype(np.float32)),
        explain_factor(loaded, dictionary, text, target, 1, 0, num_samples=100, num_features=3),
    ]


def _neuron_result(tiny, folder: Path):
    from tests.test_store import TEXTS
    from xray.neurons.records import build_records
    from xray.techniques.neuron_explanations import BaselineExplainer, BaselineSimulator, explain_neuron, neuron_records

    loaded = tiny["bert"]
    corpus = Corpus("bigger", pd.DataFrame({"text": [f"{text} number {i}" for i in range(3) for text in TEXTS]}))
    records = build_records(loaded, corpus, folder)
    neuron = int(np.asarray(records.maxima(1)).max(axis=0).argmax())
    return explain_neuron(neuron_records(loaded, records, 1, neuron), BaselineExplainer(), BaselineSimulator())


def _tokenizer_results(tiny_folders) -> list:
    from tests.test_tokenizers import SENTENCES, TEXT, _attention_within_words
    from xray.techniques.tokenizers import segment_text, split_word_attention
    from xray.tokenization.facts import tokenizer_facts
    from xray.tokenization.measures import TokenizerComparison, measure
    from xray.tokenization.sources import folder_tokenizer

    wordpiece = folder_tokenizer(str(tiny_folders["bert"]))
    segmentation = segment_text(wordpiece, TEXT)
    measured = measure(wordpiece, SENTENCES)
    return [
        segmentation,
        split_word_attention(segmentation, _attention_within_words(segmentation, inside=True)),
        tokenizer_facts(wordpiece, measured),
        TokenizerComparison("tiny news", (measured,)),
    ]


def test_every_result_type_offers_a_table_and_json(tiny, tiny_folders, tmp_path):
    results = [
        *_attention_results(tiny),
        *_corpus_results(tiny, tmp_path / "store"),
        *_factor_results(tiny),
        _neuron_result(tiny, tmp_path / "records"),
        *_tokenizer_results(tiny_folders),
        explain_gradients(random_head(tiny["bert"]), "the animal was tired"),
    ]
    built = {f"{type(result).__module__}.{type(result).__qualname__}" for result in results}
    assert built == _result_types(), "build one of each new result type here"
    for result in results:
        assert isinstance(result, Result), type(result)
        table = result.table()
        assert isinstance(table, pd.DataFrame) and len(table) > 0, type(result)
        assert isinstance(json.loads(result.to_json()), dict), type(result)


def test_the_warm_up_waits_for_an_idle_server(monkeypatch):
    from components import warm_up

    monkeypatch.setattr(warm_up, "IDLE_S", 0.05)
    with warm_up.script_running():
        assert not warm_up.server_idle()
    assert not warm_up.server_idle()  # a script has only just finished
    time.sleep(0.06)
    assert warm_up.server_idle()


def test_the_warm_up_loads_the_default_model_starts_its_store_then_compiles(monkeypatch):
    import components.corpus
    import components.model
    import components.sidebar
    from components import warm_up
    from xray.techniques import projections, shap_explain

    monkeypatch.setattr(warm_up, "IDLE_S", 0.0)
    steps: list[str] = []
    monkeypatch.setattr(components.model, "loaded_model", lambda name: steps.append(f"load {name}"))
    monkeypatch.setattr(components.corpus, "prebuild_default_store", lambda name: steps.append(f"store {name}"))
    monkeypatch.setattr(shap_explain, "warm_up", lambda: steps.append("shap"))
    monkeypatch.setattr(projections, "warm_up", lambda: steps.append("umap"))
    warm_up._warm()
    default = components.sidebar.model_choices()[0]
    assert steps == [f"load {default}", f"store {default}", "shap", "umap"]


def test_the_warm_up_is_off_where_the_environment_says_so(monkeypatch):
    from components import warm_up

    started = []
    monkeypatch.setattr(warm_up, "_warm_up_thread", lambda: started.append(True))
    monkeypatch.setenv(warm_up.WARM_UP_ENV, "off")
    warm_up.start_warm_up()
    monkeypatch.setenv(warm_up.WARM_UP_ENV, "")
    warm_up.start_warm_up()
    assert started == [True]


def test_the_default_store_is_prebuilt_only_when_neither_on_disk_nor_being_built(tiny, tmp_path, monkeypatch):
    import components.corpus as corpus_component
    import components.corpus_pass as corpus_pass

    corpus = Corpus("tiny", pd.DataFrame({"text": ["the bank of the river", "the bank sent a letter"]}))
    monkeypatch.setattr(corpus_component, "loaded_model", lambda name: tiny["bert"])
    monkeypatch.setattr(corpus_component, "load_builtin", lambda name: corpus)
    monkeypatch.setattr(corpus_component, "default_cache_root", lambda: tmp_path)
    builds = []
    monkeypatch.setattr(corpus_pass, "start_job", lambda name, arguments, log: builds.append((name, arguments[0])))
    corpus_component.prebuild_default_store("tiny-bert")
    assert builds == [(store_name(tiny["bert"], corpus, StoreSettings()), "index")]
    with monkeypatch.context() as busy:
        busy.setattr(corpus_component, "build_status", lambda root, name: BuildStatus(1, 2, "computing"))
        corpus_component.prebuild_default_store("tiny-bert")
    build_store(tiny["bert"], corpus, tmp_path, StoreSettings(), tags=False)
    corpus_component.prebuild_default_store("tiny-bert")
    assert len(builds) == 1
