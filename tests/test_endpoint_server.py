"""The Neuron explanations page against real servers on loopback: `transformers serve` (the project's own
transformers, extras ``transformers[serving]``) with a tiny model built here, a server of our own that returns
logprobs, one that fails the FastAPI way; and the whole-layer estimate, timed on a sample.

`transformers serve` ignores ``logprobs`` (it answers ``logprobs: null``), so it runs the written-numbers
simulator; the logprobs server runs the expected-value one. The tests skip, saying why, where the serving extras
(fastapi, uvicorn, accelerate) are missing; requirements-dev.txt pins them, so CI runs them.
"""

from __future__ import annotations

import importlib.util
import math
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pyarrow.ipc
import pytest
import torch
from tokenizers import AddedToken
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

from tests.app_server import stop_process
from tests.loopback import json_server
from tests.pages import assert_clean, run_page
from tests.tiny_models import tiny_gpt2

pytestmark = [pytest.mark.app, pytest.mark.integration]
NEURONS = "7_Neuron_explanations.py"
SENSES = {"corpus": "Word senses"}
LANGUAGE_MODEL = "Language model (OpenAI-compatible endpoint)"
SERVE_START_S = 60.0
PAGE_WITH_SERVER_S = 60.0  # the bound on the page's explain → simulate → score against `transformers serve`

# The tiny chat model: a GPT-2 whose blocks add nothing, so each next token depends on the last one alone (a
# bigram table in its embeddings and head). Its chat template ends an explainer prompt with <explain> and a
# simulator prompt (it holds "\tunknown") with <simulate>; from there the table writes "river banks." for the
# explainer, and for the simulator LINES lines alternating 1 and 5 (distinct tokens: "1\n", "5\n", "1 \n", …;
# a number may have trailing spaces), then ends. Records hold at most 64 pieces, and extra lines are ignored.
LINES = 64
EXPLAIN, SIMULATE = "<explain>", "<simulate>"
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['content'] }}\n{% endfor %}"
    f"{{% if '\tunknown' in messages[-1]['content'] %}}{SIMULATE}{{% else %}}{EXPLAIN}{{% endif %}}"
)
EXPLANATION_PIECES = ["river", " banks", "."]
SIMULATED = [1.0, 5.0]


def line_piece(index: int) -> str:
    return f"{SIMULATED[index % 2]:.0f}{' ' * (index // 2)}\n"


def bigram_chat_model(folder: Path) -> Path:
    """The tiny chat model described above, saved with ``save_pretrained`` (what `transformers serve` loads)."""
    tiny_gpt2(folder)  # the byte-level tokenizer of the tiny models
    tokenizer = GPT2TokenizerFast.from_pretrained(folder)
    lines = [line_piece(index) for index in range(LINES)]
    chain = [EXPLAIN, *EXPLANATION_PIECES], [SIMULATE, *lines]
    tokenizer.add_tokens([AddedToken(piece, normalized=False) for piece in EXPLANATION_PIECES + lines])
    tokenizer.add_special_tokens({"additional_special_tokens": [EXPLAIN, SIMULATE]})
    tokenizer.chat_template = CHAT_TEMPLATE
    pieces = [piece for sequence in chain for piece in sequence]
    hidden = 2 * len(pieces)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=hidden,
        n_layer=1,
        n_head=1,
        n_positions=8192,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        for norm in (model.transformer.ln_f, model.transformer.h[0].ln_1, model.transformer.h[0].ln_2):
            norm.weight.fill_(1.0)
        for sequence in chain:
            for piece, following in zip(sequence, [*sequence[1:], None], strict=True):
                index = pieces.index(piece)
                direction = torch.zeros(hidden)
                direction[2 * index], direction[2 * index + 1] = 1.0, -1.0  # mean 0: layer norm keeps its direction
                model.transformer.wte.weight[tokenizer.convert_tokens_to_ids(piece)] = direction
                next_id = tokenizer.eos_token_id if following is None else tokenizer.convert_tokens_to_ids(following)
                model.lm_head.weight[next_id] += 10 * direction
    model.generation_config.pad_token_id = tokenizer.eos_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serving_extras() -> None:
    """Skip, saying what is missing, without `transformers serve`'s extras."""
    missing = [name for name in ("fastapi", "uvicorn", "accelerate") if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"`transformers serve` needs {', '.join(missing)} (pip install -r requirements-dev.txt)")


@pytest.fixture(scope="module")
def transformers_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, model name) of `transformers serve` on loopback, serving the tiny chat model on the CPU."""
    serving_extras()
    folder = str(bigram_chat_model(tmp_path_factory.mktemp("chat") / "bigram"))
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", folder]
    command += ["--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--log-level", "warning"]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.perf_counter() + SERVE_START_S
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.perf_counter() > deadline:
                pytest.fail(f"`transformers serve` did not start within {SERVE_START_S:.0f} s:\n{log.read_text()}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1", folder
    finally:
        stop_process(process)


def open_with_endpoint(monkeypatch: pytest.MonkeyPatch, url: str, model: str, neuron: str = "7"):
    monkeypatch.setenv("XRAY_LLM_BASE_URL", url)
    monkeypatch.setenv("XRAY_LLM_MODEL", model)
    monkeypatch.delenv("XRAY_LLM_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    app = run_page(NEURONS, layer="1", **{"neurons.neuron": neuron}, **SENSES)
    return app.button_group(key="neurons.explainer").set_value(LANGUAGE_MODEL).run()


def simulated_values(app) -> list[float]:
    """The simulated activations drawn in the page's true-and-simulated charts."""
    values = []
    for chart in app.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:  # Streamlit sends a chart's data as Arrow
            frame = pyarrow.ipc.open_stream(dataset.data.data).read_pandas()
            if {"kind", "activation"} <= set(frame.columns):
                values += frame.loc[frame["kind"] == "simulated", "activation"].tolist()
    return values


def test_transformers_serve_explains_simulates_and_scores_on_the_page(transformers_serve, monkeypatch):
    url, model = transformers_serve
    run_page(NEURONS, layer="1", **{"neurons.neuron": "7"}, **SENSES)  # records and the baseline: not timed here
    started = time.perf_counter()
    app = open_with_endpoint(monkeypatch, url, model)
    seconds = time.perf_counter() - started
    assert_clean(app)
    assert seconds < PAGE_WITH_SERVER_S, f"the page took {seconds:.1f} s against `transformers serve`"

    explainers = [markdown.value for markdown in app.markdown if markdown.value.startswith("**")]
    assert explainers[-1] == f"**{model}**"
    assert any(markdown.value.endswith("find_ river banks.") for markdown in app.markdown)
    scores = [metric.value for metric in app.metric if metric.label == "Score (top and random)"]
    assert len(scores) == 2 and -1 <= float(scores[1]) <= 1  # the 1, 5, 1, … it wrote vary: a score
    drawn = simulated_values(app)
    assert drawn and set(drawn) <= set(SIMULATED)  # the written numbers: `transformers serve` sends no logprobs


@pytest.fixture
def loopback_server() -> Iterator[Callable[[Callable[[dict], tuple[int, dict]]], str]]:
    """Start a chat-completions server on loopback whose answer to each request body is ``answer(body)``
    (status, JSON body); gives its base URL."""
    with ExitStack() as servers:
        yield lambda answer: servers.enter_context(json_server(lambda body, _headers: answer(body)))


def chat_completion(content: str, logprobs: list[dict] | None = None) -> dict:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    choice["logprobs"] = None if logprobs is None else {"content": logprobs}
    return {"id": "1", "object": "chat.completion", "created": 0, "model": "m", "choices": [choice]}


def position(token: str, top: dict[str, float]) -> dict:
    entries = [{"token": name, "logprob": math.log(p), "bytes": None} for name, p in top.items()]
    return {"token": token, "logprob": entries[0]["logprob"], "bytes": None, "top_logprobs": entries}


def expected_value_answer(body: dict) -> tuple[int, dict]:
    """Explains "river banks."; simulates every token as "3", with the logprobs of a model unsure between 3 and 9:
    3 at 75% on even positions, 25% on odd ones, so the expected values are 4.5 and 7.5 (the written 3s alone
    would be constant, and give no score)."""
    prompt = body["messages"][-1]["content"]
    if "\tunknown" not in prompt:
        return 200, chat_completion("river banks.")
    assert body.get("logprobs") is True and body.get("top_logprobs")
    tokens = [line.removesuffix("\tunknown") for line in prompt.splitlines() if line.endswith("\tunknown")]
    pieces = [position("<start>\n", {"<start>\n": 1.0})]
    for index, token in enumerate(tokens):
        certain = 0.75 if index % 2 == 0 else 0.25
        pieces += [position(f"{token}\t", {f"{token}\t": 1.0}), position("3", {"3": certain, "9": 1 - certain})]
        pieces.append(position("\n", {"\n": 1.0}))
    pieces.append(position("<end>", {"<end>": 1.0}))
    return 200, chat_completion("".join(piece["token"] for piece in pieces), pieces)


def test_a_server_with_logprobs_gives_the_expected_values_on_the_page(loopback_server, monkeypatch):
    url = loopback_server(expected_value_answer)
    app = open_with_endpoint(monkeypatch, url, "logprob-model")
    assert_clean(app)
    scores = [metric.value for metric in app.metric if metric.label == "Score (top and random)"]
    assert len(scores) == 2 and -1 <= float(scores[1]) <= 1
    drawn = simulated_values(app)
    assert drawn and set(drawn) == {4.5, 7.5}


def test_a_language_model_error_shows_in_its_column_and_the_baseline_stays(loopback_server, monkeypatch):
    url = loopback_server(lambda body: (400, {"detail": f"Server is pinned to 'other'; requested {body['model']!r}."}))
    app = open_with_endpoint(monkeypatch, url, "fastapi-model", neuron="11")
    assert not app.exception
    (error,) = app.error
    assert "rejected the request (400): Server is pinned to 'other'; requested 'fastapi-model'." in error.value
    (language_model,) = [column for column in app.columns if column.error]  # the error sits in one column
    assert not language_model.metric and not language_model.markdown
    assert [metric.label for metric in app.metric] == ["Score (top and random)", "Score (random only)"]  # baseline
    assert simulated_values(app)  # the baseline's scored texts and charts are still on the page
    assert app.subheader and "Every neuron of layer 1" in [subheader.value for subheader in app.subheader]


def test_a_garbage_answer_is_one_short_error_and_not_cached_so_the_page_succeeds_once_the_server_recovers(
    loopback_server, monkeypatch
):
    broken = [True]

    def answer(body: dict) -> tuple[int, dict | bytes]:
        return (200, b'{"id": "1", "choices": [{"message": ') if broken[0] else expected_value_answer(body)

    app = open_with_endpoint(monkeypatch, loopback_server(answer), "flaky-model", neuron="13")
    assert not app.exception
    (error,) = app.error
    assert "answered with JSON that cannot be read (cut off or malformed), so nothing was kept" in error.value
    broken[0] = False
    app = app.run()  # the same page, the same inputs: a cached failure would show the error again
    assert_clean(app)
    scores = [metric.value for metric in app.metric if metric.label == "Score (top and random)"]
    assert len(scores) == 2 and set(simulated_values(app)) >= {4.5, 7.5}  # the language model's answer, drawn


def test_the_layer_estimate_is_timed_on_a_sample(monkeypatch):
    from components.neuron_explanations import cached_layer_estimate
    from xray.techniques.neuron_explanations import BaselineSimulator

    simulate = BaselineSimulator.simulate
    pause_s = 0.01  # 15 simulated texts per active neuron: at least 0.15 s, three times the old constant

    def slow(self, explanation: str, tokens: list[str]):
        time.sleep(pause_s)
        return simulate(self, explanation, tokens)

    monkeypatch.setattr(BaselineSimulator, "simulate", slow)
    cached_layer_estimate.clear()
    app = run_page(NEURONS, layer="4", **{"neurons.neuron": "3"}, **SENSES)
    assert_clean(app)
    label = app.button(key="neurons.layer").label
    seconds = float(label.split("(about ")[1].split(" s")[0].replace(",", ""))
    # at least half the sampled neurons are active (a neuron that never is costs no simulation): still well above
    # the old constant's 1,536 x 0.05 s = 77 s
    assert seconds >= 1536 * 15 * pause_s / 2, label
    assert any("(timed on 6)" in caption.value and "timed on 256" in caption.value for caption in app.caption)
    cached_layer_estimate.clear()
