"""Public mode (one allow-list, one short refusal, no server paths in errors) and the model cache bounded by
memory."""

from __future__ import annotations

import pytest

from components.sidebar import OTHER_MODEL
from tests.pages import assert_clean, run_page
from xray.deploy import (
    MemoryBoundCache,
    ModelRefusedError,
    PublicPolicy,
    model_memory_budget,
    public_policy,
    scrub_paths,
)
from xray.models.loading import EMBEDDED_MODEL, KNOWN_MODELS, ModelLoadError


def test_public_mode_is_off_unless_asked_and_reads_its_list_and_budget():
    assert public_policy({}, KNOWN_MODELS) is None and public_policy({"XRAY_PUBLIC": "0"}, KNOWN_MODELS) is None
    default = public_policy({"XRAY_PUBLIC": "true"}, KNOWN_MODELS)
    assert default.allowed == KNOWN_MODELS and default.max_parameters == 150_000_000
    listed = public_policy(
        {"XRAY_PUBLIC": "1", "XRAY_ALLOWED_MODELS": " gpt2, bert-base-uncased ,", "XRAY_PUBLIC_MAX_PARAMETERS": "2e8"},
        KNOWN_MODELS,
    )
    assert listed == PublicPolicy(("gpt2", "bert-base-uncased"), 200_000_000)
    with pytest.raises(ValueError, match="XRAY_PUBLIC_MAX_PARAMETERS must be a number"):
        public_policy({"XRAY_PUBLIC": "1", "XRAY_PUBLIC_MAX_PARAMETERS": "lots"}, KNOWN_MODELS)


@pytest.mark.parametrize("name", ["/etc", "../../etc/passwd", "~/models/x", "/nonexistent/folder", "bert-large-cased"])
def test_every_name_off_the_list_gets_the_same_refusal_without_a_lookup(name):
    policy = PublicPolicy((EMBEDDED_MODEL, "gpt2"), 10**8)
    with pytest.raises(ModelRefusedError) as refused:
        policy.check_model(name)
    assert str(refused.value) == str(policy.refusal()) and name not in str(refused.value)
    policy.check_model("gpt2")


def test_server_paths_are_scrubbed_from_messages_but_urls_and_fractions_stay():
    message = "Could not read /root/.cache/transformer-xray/store/x.npy or ~/data, see http://127.0.0.1:8501/v1 (1/2)"
    scrubbed = scrub_paths(message)
    assert "/root" not in scrubbed and "~/data" not in scrubbed and scrubbed.count("[server path]") == 2
    assert "http://127.0.0.1:8501/v1" in scrubbed and "(1/2)" in scrubbed


def test_the_model_cache_unloads_the_least_recently_used_to_fit_its_budget():
    loads = []
    sizes = {"a": 40, "b": 40, "c": 50, "huge": 500}
    cache = MemoryBoundCache(100, lambda name: loads.append(name) or name.upper(), sizes.__getitem__)

    assert cache.get("a") == ("A", []) and cache.get("b") == ("B", [])
    assert cache.get("a") == ("A", [])  # a is now the most recently used, without loading again
    assert cache.get("c") == ("C", ["b"]) and cache.names() == ["a", "c"] and cache.used == 90
    with pytest.raises(ModelLoadError, match="more than this app's budget"):
        cache.get("huge")
    assert cache.names() == ["a", "c"] and loads == ["a", "b", "c"]  # a refusal unloads nothing


def test_the_memory_budget_is_settable_and_checked():
    assert model_memory_budget({"XRAY_MODEL_MEMORY_MB": "512"}) == 512 * 1024**2
    assert model_memory_budget({}) > 0
    with pytest.raises(ValueError, match="must be positive"):
        model_memory_budget({"XRAY_MODEL_MEMORY_MB": "-3"})


@pytest.mark.integration
def test_in_public_mode_a_link_cannot_name_a_folder_or_another_model(monkeypatch):
    from components.model import shared_model

    monkeypatch.setenv("XRAY_PUBLIC", "1")
    app = run_page("1_Attention.py", model=OTHER_MODEL, model_id="/etc")
    assert_clean(app)
    model = app.sidebar.selectbox(key="model")
    assert model.value == EMBEDDED_MODEL and OTHER_MODEL not in model.options
    assert [box.key for box in app.sidebar.text_input] == ["text_b"]  # no model id or folder can be typed
    assert "/etc" not in str(app._tree)
    refusals = set()
    for name in ("/etc", "/no/such/folder", "bert-large-cased", "../x"):
        with pytest.raises(ModelRefusedError) as refused:
            shared_model(name)
        refusals.add(str(refused.value))
    monkeypatch.setenv("XRAY_PUBLIC_MAX_PARAMETERS", "1000")
    monkeypatch.setenv("XRAY_ALLOWED_MODELS", f"{EMBEDDED_MODEL},gpt2")
    with pytest.raises(ModelRefusedError) as refused:
        shared_model(EMBEDDED_MODEL)  # on the list, over the budget: refused the same way
    assert "public mode" in str(refused.value) and len(refusals) == 1


@pytest.mark.integration
def test_in_public_mode_the_tokenizers_page_reads_no_folder(monkeypatch):
    monkeypatch.setenv("XRAY_PUBLIC", "1")
    app = run_page("9_Tokenizers.py")
    assert_clean(app)
    assert app.text_input(key="tokenizers.folder").disabled


def test_outside_public_mode_a_folder_without_a_model_is_told_so(tmp_path):
    from xray.models.loading import load_model

    with pytest.raises(ModelLoadError, match=r"has no config\.json"):
        load_model(str(tmp_path))


def test_heavy_jobs_start_in_order_within_the_limit_and_a_cancelled_wait_leaves_the_queue():
    import threading
    import time

    from components.jobs import HeavyJobs

    jobs = HeavyJobs(1, children=lambda: 0)  # no child process of other tests counts here
    started, reports = [], {}
    release = threading.Event()

    def job(name: str, hold: threading.Event | None = None) -> None:
        def waiting(ahead: int) -> None:
            reports.setdefault(name, ahead)
            if name == "quitter":
                raise KeyboardInterrupt  # as a rerun or Stop interrupts a waiting page

        try:
            with jobs.slot(waiting):
                started.append(name)
                with jobs.slot():  # a heavy step inside a heavy job takes no second place
                    pass
                if hold is not None:
                    hold.wait(10)
        except KeyboardInterrupt:
            started.append(f"{name} left")

    first = threading.Thread(target=job, args=("first", release))
    first.start()
    while not started:
        time.sleep(0.01)
    others = [threading.Thread(target=job, args=(name,)) for name in ("second", "quitter", "third")]
    for thread in others:
        thread.start()
        time.sleep(0.2)  # queue in this order
    release.set()
    for thread in [first, *others]:
        thread.join(10)

    assert started == ["first", "quitter left", "second", "third"]
    assert reports == {"second": 1, "quitter": 2, "third": 2}
    with pytest.raises(ValueError, match="at least 1"):
        HeavyJobs(0)
    busy = HeavyJobs(1, children=lambda: 1)  # a running child job (a store build) takes the only place
    seen = []

    def give_up(ahead: int) -> None:
        seen.append(ahead)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), busy.slot(give_up):
        pass
    assert seen == [1]


def test_the_deployers_settings_and_endpoint_are_read_from_one_secrets_table(monkeypatch):
    import components.deploy as deploy

    llm = {"base_url": "http://llm:8000/v1", "model": "m", "api_key": None}
    secrets = {"XRAY_PUBLIC": "1", "other": "x", "llm": llm}
    monkeypatch.setattr(deploy.st, "secrets", secrets)
    for name in ("XRAY_LLM_BASE_URL", "XRAY_LLM_MODEL", "XRAY_LLM_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert deploy._secrets() == {"XRAY_PUBLIC": "1"}
    assert deploy.endpoint_settings() == ("http://llm:8000/v1", "m", "")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert deploy.endpoint_settings()[2] == "sk-test"  # an empty secret falls back to the environment
    monkeypatch.setattr(deploy.st, "secrets", {})
    assert deploy.endpoint_settings() == ("", "", "sk-test")
