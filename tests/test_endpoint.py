"""The chat-completions explainer and simulator against a real local HTTP server with canned answers (unit tier:
no model, no internet)."""

from __future__ import annotations

import json
import logging
import math
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import xray.neurons.endpoint as endpoint_module
from xray.neurons.endpoint import (
    LOGPROBS_METHOD,
    NO_KEY,
    WRITTEN_METHOD,
    Endpoint,
    EndpointError,
    explain,
    explanation_prompt,
    simulate,
    simulation_prompt,
)

KEY = "sk-test-0123456789abcdef"
MODEL = "tiny-explainer"


@dataclass
class Canned:
    """One answer of the fake server: status, a JSON body (dict) or a text body (str), or a hang with no answer."""

    status: int = 200
    body: dict | str = ""
    hang: bool = False
    content_type: str | None = None
    """Sent as Content-Type; default: JSON for a dict body, text for a str one."""


@dataclass
class Received:
    path: str
    authorization: str | None
    body: dict


@dataclass
class FakeServer:
    """Answers POSTs with ``answers`` in order (the last one again once they run out) and records each request."""

    url: str = ""
    answers: list[Canned] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def next_answer(self) -> Canned:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def handler_for(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.requests.append(Received(self.path, self.headers.get("Authorization"), body))
            answer = server.next_answer()
            if answer.hang:
                server.release.wait(timeout=10)
                return
            is_json = isinstance(answer.body, dict)
            data = (json.dumps(answer.body) if is_json else answer.body).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type or ("application/json" if is_json else "text/plain"))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Silent: the tests read the requests from ``server.requests``."""

    return Handler


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(fake))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{httpd.server_port}/v1"
    yield fake
    fake.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def endpoint(server: FakeServer) -> Endpoint:
    return Endpoint(base_url=server.url, model=MODEL, api_key=KEY, timeout_s=5.0, max_retries=0)


def completion(content: str, logprobs: list[dict] | None = None, answer_tokens: int | None = None) -> dict:
    """A chat completion in OpenAI's response shape; with ``answer_tokens``, its usage counts them."""
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": content},
        "finish_reason": "stop",
        "logprobs": None if logprobs is None else {"content": logprobs},
    }
    answer = {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": MODEL, "choices": [choice]}
    if answer_tokens is not None:
        answer["usage"] = {
            "prompt_tokens": 100,
            "completion_tokens": answer_tokens,
            "total_tokens": 100 + answer_tokens,
        }
    return answer


def position(token: str, top: dict[str, float] | None = None) -> dict:
    """One answer token with its top logprobs (given as probabilities); the token itself when none are given."""
    top = top or {token: 1.0}
    return {
        "token": token,
        "logprob": math.log(top.get(token, 1e-6)),
        "bytes": list(token.encode()),
        "top_logprobs": [
            {"token": name, "logprob": math.log(probability), "bytes": list(name.encode())}
            for name, probability in top.items()
        ],
    }


def error_body(message: str, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record, of every library, down to DEBUG."""
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_key_hidden(caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    assert caplog.records, "expected log records to check"
    for record in caplog.records:
        assert KEY not in record.getMessage()
    for text in texts:
        assert KEY not in text


RECORDS_TOKENS = [["The", " river", " bank"], ["a\tb", " bank", "\n"]]
RECORDS_ACTIVATIONS = [[0, 3, 10], [0, 7, 1]]


def test_explanation_prompt_is_the_papers_format() -> None:
    system, user = explanation_prompt(RECORDS_TOKENS, RECORDS_ACTIVATIONS, examples=())
    assert system["role"] == "system"
    assert system["content"].startswith("We're studying neurons in a neural network.")
    assert system["content"].endswith("The higher the activation value, the stronger the match.")
    assert user == {
        "role": "user",
        "content": (
            "Neuron 1\nActivations:\n"
            "<start>\nThe\t0\n river\t3\n bank\t10\n<end>\n"
            "<start>\na\\tb\t0\n bank\t7\n\\n\t1\n<end>\n"
            "\n\nExplanation of neuron 1 behavior: the main thing this neuron does is find"
        ),
    }


def test_explanation_prompt_shows_few_shot_examples_first_and_repeats_sparse_records_without_zeros() -> None:
    from xray.neurons.few_shot import FEW_SHOT_EXAMPLES

    sparse_tokens = [["The", " river", " bank", " was", " wet"], ["a", " bank", " of", " fog"]]
    sparse = [[0, 0, 10, 0, 0], [0, 0, 0, 0]]  # 1 of 9 non-zero: under 20%, so repeated without zeros
    messages = explanation_prompt(sparse_tokens, sparse)
    count = len(FEW_SHOT_EXAMPLES)
    assert count >= 2
    assert [message["role"] for message in messages] == ["system"] + ["user", "assistant"] * count + ["user"]
    for number, example in enumerate(FEW_SHOT_EXAMPLES, start=1):
        shown, answer = messages[2 * number - 1]["content"], messages[2 * number]["content"]
        assert shown.startswith(f"Neuron {number}\nActivations:\n<start>\n{example.tokens[0][0]}\t")
        assert shown.endswith(f"Explanation of neuron {number} behavior: the main thing this neuron does is find")
        assert answer == f" {example.explanation}."
        values = [value for record in example.activations for value in record]
        assert ("with all zeros filtered out" in shown) == (np.count_nonzero(values) / len(values) < 0.2)
    assert messages[-1]["content"] == (
        f"Neuron {count + 1}\nActivations:\n"
        "<start>\nThe\t0\n river\t0\n bank\t10\n was\t0\n wet\t0\n<end>\n"
        "<start>\na\t0\n bank\t0\n of\t0\n fog\t0\n<end>\n"
        "\nSame activations, but with all zeros filtered out:\n"
        "<start>\n bank\t10\n<end>\n<start>\n<end>\n"
        f"\n\nExplanation of neuron {count + 1} behavior: the main thing this neuron does is find"
    )
    # 2 of 10 non-zero is 20%: not under it, so not repeated (the reference's rule: strictly under 0.2).
    dense = explanation_prompt([["a"] * 5, ["b"] * 5], [[0, 0, 0, 0, 3], [0, 0, 0, 0, 4]], examples=())
    assert "zeros filtered out" not in dense[-1]["content"]


def test_simulation_prompt_is_the_papers_format() -> None:
    system, user = simulation_prompt("river banks.", ["The", " bank", "\t"])
    assert system["content"].endswith('"unknown" indicates an unknown activation. Most activations will be 0.')
    assert user["content"] == (
        "Neuron 1\nExplanation of neuron 1 behavior: the main thing this neuron does is find river banks.\n"
        "Activations:\n<start>\nThe\tunknown\n bank\tunknown\n\\t\tunknown\n<end>\n\n"
        'Rewrite the block with each "unknown" replaced by the activation (an integer from 0 to 10), one token per '
        "line, nothing else."
    )


@pytest.mark.parametrize(
    ("tokens", "activations", "message"),
    [
        ([], [], "at least one activation record"),
        ([["a"]], [[1], [2]], "1 token records but 2"),
        ([["a", "b"]], [[1]], "2 tokens but 1 activations"),
        ([["a"]], [[11]], "integers from 0 to 10"),
        ([["a"]], [[2.5]], "integers from 0 to 10"),
    ],
)
def test_explanation_prompt_rejects_bad_records(tokens: list, activations: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        explanation_prompt(tokens, activations)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"base_url": "localhost:11434/v1"}, "http:// or https://"),
        ({"base_url": "ftp://example.org/v1"}, "http:// or https://"),
        ({"base_url": "https://user:secret@example.org/v1"}, "user name or password"),
        ({"model": " "}, "model must name a model"),
        ({"timeout_s": 0.0}, "positive number of seconds"),
        ({"timeout_s": math.nan}, "positive number of seconds"),
        ({"max_retries": -1}, "0 or more"),
        ({"api_key": KEY + "\n"}, "the key alone"),
    ],
)
def test_endpoint_rejects_bad_settings(changes: dict, message: str) -> None:
    settings = {"base_url": "https://api.openai.com/v1", "model": MODEL, "api_key": KEY} | changes
    with pytest.raises(ValueError, match=message) as raised:
        Endpoint(**settings)
    assert KEY not in str(raised.value)


def test_endpoint_never_shows_its_key() -> None:
    endpoint = Endpoint(base_url="https://api.openai.com/v1", model="gpt-4o-mini", api_key=KEY)
    assert endpoint.describe() == "gpt-4o-mini at https://api.openai.com/v1"
    for shown in (repr(endpoint), str(endpoint), endpoint.describe(), str(endpoint.cache_key())):
        assert KEY not in shown
    assert endpoint.cache_key() == Endpoint(base_url=endpoint.base_url, model="gpt-4o-mini").cache_key()
    assert endpoint.cache_key() != Endpoint(base_url=endpoint.base_url, model="gpt-4o").cache_key()


def test_explain_sends_the_prompt_and_reads_one_sentence(
    server: FakeServer, endpoint: Endpoint, debug_logs: pytest.LogCaptureFixture
) -> None:
    server.answers = [Canned(body=completion(" The main thing this neuron does is find river banks.\n\nAlso: ..."))]
    explanation = explain(endpoint, RECORDS_TOKENS, RECORDS_ACTIVATIONS)
    assert explanation == "river banks."
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.authorization == f"Bearer {KEY}"
    assert request.body["model"] == MODEL
    assert request.body["temperature"] == 0
    assert request.body["messages"] == explanation_prompt(RECORDS_TOKENS, RECORDS_ACTIVATIONS)
    assert " river\t3\n" in request.body["messages"][-1]["content"]
    assert any(record.name == "xray.neurons.endpoint" and MODEL in record.getMessage() for record in debug_logs.records)
    assert_key_hidden(debug_logs, explanation)


def test_explain_without_key_sends_a_placeholder_not_the_environments_key(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.answers = [Canned(body=completion("river banks."))]
    explain(Endpoint(base_url=server.url, model=MODEL), RECORDS_TOKENS, RECORDS_ACTIVATIONS)
    assert server.requests[0].authorization == f"Bearer {NO_KEY}"


def test_explain_rejects_an_empty_answer(server: FakeServer, endpoint: Endpoint) -> None:
    server.answers = [Canned(body=completion("the main thing this neuron does is find \n"))]
    with pytest.raises(EndpointError, match="empty explanation"):
        explain(endpoint, RECORDS_TOKENS, RECORDS_ACTIVATIONS)


@pytest.mark.parametrize(
    ("answer", "answer_tokens", "why"),
    [
        ("<start>", 3, "repeats a line of the prompt"),  # seen from `transformers serve` with a small model
        (" river\t3\n bank\t10", 8, "repeats a line of the prompt"),
        ("Neuron 1", 3, "repeats a line of the prompt"),
        ("banks", 1, "is a single token"),
        ("7.", 2, "holds no word"),
        ("... !", None, "holds no word"),
    ],
)
def test_explain_refuses_an_answer_that_is_no_explanation(
    server: FakeServer, endpoint: Endpoint, answer: str, answer_tokens: int | None, why: str
) -> None:
    server.answers = [Canned(body=completion(answer, answer_tokens=answer_tokens))]
    with pytest.raises(EndpointError, match=f"which {why}: it is no explanation, so nothing was simulated"):
        explain(endpoint, RECORDS_TOKENS, RECORDS_ACTIVATIONS)


def test_explain_accepts_a_short_explanation_of_several_tokens(server: FakeServer, endpoint: Endpoint) -> None:
    server.answers = [Canned(body=completion("banks.", answer_tokens=2))]
    assert explain(endpoint, RECORDS_TOKENS, RECORDS_ACTIVATIONS) == "banks."


def test_a_reason_ending_in_a_period_is_shown_with_one(server: FakeServer, endpoint: Endpoint) -> None:
    server.answers = [Canned(status=400, body={"detail": "Server is pinned to 'other'; requested 'tiny'."})]
    with pytest.raises(EndpointError) as raised:
        explain(endpoint, RECORDS_TOKENS, RECORDS_ACTIVATIONS)
    assert str(raised.value).endswith("(400): Server is pinned to 'other'; requested 'tiny'.")


def test_explain_accepts_the_explanation_of_a_few_shot_example(server: FakeServer, endpoint: Endpoint) -> None:
    examples = [
        m["content"] for m in explanation_prompt(RECORDS_TOKENS, RECORDS_ACTIVATIONS) if m["role"] == "assistant"
    ]
    assert examples, "expected the explainer prompt to show few-shot examples"
    server.answers = [Canned(body=completion(examples[0], answer_tokens=12))]
    assert explain(endpoint, RECORDS_TOKENS, RECORDS_ACTIVATIONS) == examples[0].strip()


def test_simulate_reads_written_activations(
    server: FakeServer, endpoint: Endpoint, debug_logs: pytest.LogCaptureFixture
) -> None:
    tokens = ["The", " river", " bank", " flooded", "."]
    answer = "Here is the block:\nThe\t0\n\n river: 6\n 9\n flooded\tunknown\n.\t10\n"  # no <start>, no <end>
    server.answers = [Canned(body=completion(answer))]
    simulation = simulate(endpoint, "river banks.", tokens)
    np.testing.assert_array_equal(simulation.values, [0.0, 6.0, 9.0, 0.0, 10.0])
    assert simulation.method == WRITTEN_METHOD
    assert simulation.unparsed == 1
    (request,) = server.requests
    assert request.body["logprobs"] is True
    assert request.body["top_logprobs"] == 10
    assert request.body["messages"] == simulation_prompt("river banks.", tokens)
    assert_key_hidden(debug_logs, repr(simulation))


def test_simulate_matches_lines_to_tokens_by_their_text(server: FakeServer, endpoint: Endpoint) -> None:
    tokens = ["a", "b", "c", "d", "a"]
    answer = "```\n<start>\na\t1\nc\t3\nd\t4\na\t5\n<end>\nb\t9\n```"  # b skipped; lines after <end> ignored
    server.answers = [Canned(body=completion(answer))]
    simulation = simulate(endpoint, "letters.", tokens)
    np.testing.assert_array_equal(simulation.values, [1.0, 0.0, 3.0, 4.0, 5.0])
    assert simulation.unparsed == 1


def test_simulate_takes_the_expected_value_from_logprobs(server: FakeServer, endpoint: Endpoint) -> None:
    pieces = [
        position("<start>"),
        position("\n"),
        position("The"),
        position("\t"),
        position("0", {"0": 0.5, "10": 0.5}),
        position("\n"),
        position(" bank"),
        position("\t"),
        position("7", {"7": 0.2, "10": 0.2, " bank": 0.6}),
        position("\n<end>"),
    ]
    answer = "".join(piece["token"] for piece in pieces)
    server.answers = [Canned(body=completion(answer, pieces))]
    simulation = simulate(endpoint, "river banks.", ["The", " bank"])
    assert simulation.method == LOGPROBS_METHOD
    np.testing.assert_allclose(simulation.values, [5.0, 8.5])
    assert simulation.unparsed == 0


def test_the_expected_value_counts_only_the_top_candidates_0_to_10_as_written(
    server: FakeServer, endpoint: Endpoint
) -> None:
    first = position("2", {"8": 0.25, " 3": 0.25})
    first["logprob"] = math.log(0.5)  # the written token, likely but missing from the top list: not counted
    second = position("5", {"5": 0.3, " 5": 0.4, "07": 0.1, "10": 0.2})
    pieces = [position("The"), position("\t"), first, position("\n"), position("bank"), position("\t"), second]
    server.answers = [Canned(body=completion("".join(piece["token"] for piece in pieces), pieces))]
    simulation = simulate(endpoint, "river banks.", ["The", "bank"])

    def reference(top: list[dict]) -> float:  # parse_top_logprobs: exactly "0".."10", top candidates only
        counted = {int(c["token"]): math.exp(c["logprob"]) for c in top if c["token"] in [str(i) for i in range(11)]}
        return float(np.dot(list(counted), list(counted.values())) / sum(counted.values()))

    assert simulation.method == LOGPROBS_METHOD
    expected = [reference(first["top_logprobs"]), reference(second["top_logprobs"])]
    np.testing.assert_allclose(simulation.values, expected)
    np.testing.assert_allclose(expected, [8.0, (0.3 * 5 + 0.2 * 10) / 0.5])


def test_simulate_falls_back_to_written_values_when_ten_spans_two_tokens(
    server: FakeServer, endpoint: Endpoint
) -> None:
    pieces = [position("The"), position("\t"), position("1", {"1": 0.9, "0": 0.1}), position("0"), position("\n")]
    pieces += [position("bank"), position("\t"), position("3", {"3": 0.5, "4": 0.5})]
    server.answers = [Canned(body=completion("".join(piece["token"] for piece in pieces), pieces))]
    simulation = simulate(endpoint, "river banks.", ["The", "bank"])
    assert simulation.method == WRITTEN_METHOD
    np.testing.assert_array_equal(simulation.values, [10.0, 3.0])


def test_simulate_asks_again_without_logprobs_after_a_400(server: FakeServer, endpoint: Endpoint) -> None:
    server.answers = [
        Canned(status=400, body=error_body("logprobs is not supported by this model")),
        Canned(body=completion("The\t2\nbank\t8")),
    ]
    simulation = simulate(endpoint, "river banks.", ["The", "bank"])
    assert [("logprobs" in request.body) for request in server.requests] == [True, False]
    assert simulation.method == WRITTEN_METHOD
    np.testing.assert_array_equal(simulation.values, [2.0, 8.0])


def test_simulate_rejects_an_answer_without_activations(server: FakeServer, endpoint: Endpoint) -> None:
    server.answers = [Canned(body=completion("I think the neuron likes rivers.\nThe\tunknown\nbank\t12\n!\t1"))]
    with pytest.raises(EndpointError, match="3 of 4 tokens had no readable activation"):
        simulate(endpoint, "river banks.", ["The", "bank", ".", "!"])


@pytest.mark.parametrize(
    ("canned", "message"),
    [
        (Canned(status=401, body=error_body(f"Incorrect API key provided: {KEY}")), "refused the API key \\(401\\)"),
        (Canned(status=403, body=error_body("forbidden")), "refused the API key \\(403\\)"),
        (Canned(status=429, body=error_body("slow down")), "limiting the request rate \\(429\\), still after 0"),
        (Canned(status=429, body=error_body("quota", "insufficient_quota")), "no quota left"),
        (Canned(status=500, body=error_body("out of memory")), "server error \\(500\\)"),
        (Canned(status=404, body="404 page not found"), "is the base URL right\\? it usually ends in /v1"),
        (
            Canned(status=404, body=error_body(f'model "{MODEL}" not found, try pulling it first')),
            f"does not know the model '{MODEL}'",
        ),
        (Canned(status=400, body=error_body(f"bad request from key {KEY}")), "rejected the request \\(400\\)"),
        (Canned(status=200, body="<html>not an API</html>"), "not a chat completion: is the base URL right"),
        # FastAPI's shapes, as `transformers serve` answers: a string detail, and a validation error's list
        (Canned(status=400, body={"detail": "Model tiny is not loaded"}), "\\(400\\): Model tiny is not loaded\\."),
        (
            Canned(status=422, body={"detail": [{"loc": ["body", "messages"], "msg": "Field required"}]}),
            "\\(422\\): Field required\\.",
        ),
        (Canned(status=400, body={"error": "unsupported option"}), "\\(400\\): unsupported option\\."),
        (Canned(status=400, body={"why": "odd server"}), "\\(400\\): odd server\\."),
    ],
)
def test_failures_say_what_to_do_without_the_key(
    server: FakeServer, endpoint: Endpoint, debug_logs: pytest.LogCaptureFixture, canned: Canned, message: str
) -> None:
    server.answers = [canned]
    with pytest.raises(EndpointError, match=message) as raised:
        explain(endpoint, RECORDS_TOKENS, RECORDS_ACTIVATIONS)
    error = raised.value
    assert error.__cause__ is None and error.__context__ is None
    assert_key_hidden(debug_logs, str(error), repr(error))


def test_a_hanging_server_times_out_quickly(server: FakeServer) -> None:
    server.answers = [Canned(hang=True)]
    endpoint = Endpoint(base_url=server.url, model=MODEL, api_key=KEY, timeout_s=0.5, max_retries=2)
    started = time.perf_counter()
    with pytest.raises(EndpointError, match=r"gave no answer in 0\.[5-9] s \(the timeout is 0\.5 s; a request that ti"):
        simulate(endpoint, "river banks.", ["The"])
    assert time.perf_counter() - started < 1.5
    assert len(server.requests) == 1  # a timed-out request is not sent again, retries or not


def test_a_server_error_is_tried_again_up_to_max_retries(server: FakeServer) -> None:
    server.answers = [Canned(status=503, body={"detail": "loading"}), Canned(body=completion("river banks."))]
    endpoint = Endpoint(base_url=server.url, model=MODEL, api_key=KEY, timeout_s=5.0, max_retries=1)
    assert explain(endpoint, RECORDS_TOKENS, RECORDS_ACTIVATIONS) == "river banks."
    assert len(server.requests) == 2
    server.answers = [Canned(status=503, body={"detail": "loading"})]
    with pytest.raises(EndpointError, match="server error \\(503\\)"):
        explain(endpoint, RECORDS_TOKENS, RECORDS_ACTIVATIONS)
    assert len(server.requests) == 4


def test_a_rate_limit_twice_then_an_answer_is_one_success(server: FakeServer, monkeypatch) -> None:
    monkeypatch.setattr(endpoint_module, "RETRY_PAUSE_S", 0.01)
    slow_down = Canned(status=429, body=error_body("slow down", "rate_limit_exceeded"))
    server.answers = [slow_down, slow_down, Canned(body=completion("river banks."))]
    endpoint = Endpoint(base_url=server.url, model=MODEL, api_key=KEY, timeout_s=5.0, max_retries=2)
    assert explain(endpoint, RECORDS_TOKENS, RECORDS_ACTIVATIONS) == "river banks."
    assert len(server.requests) == 3


GARBAGE = [
    '{"id": "chatcmpl-1", "choices": [{"message": ',  # cut off mid-answer
    "[1, 2, 3]",
    '{"choices": "nonsense"}',
    "null",
    '{"choices": [{"message": {"role": "assistant", "content": 5}}]}',
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_an_answer_of_garbage_json_is_one_short_error_not_sent_again(server: FakeServer, garbage: str) -> None:
    server.answers = [Canned(body=garbage, content_type="application/json")]
    endpoint = Endpoint(base_url=server.url, model=MODEL, api_key=KEY, timeout_s=5.0, max_retries=2)
    with pytest.raises(EndpointError, match=r"JSON that cannot be read|not a chat completion") as raised:
        explain(endpoint, RECORDS_TOKENS, RECORDS_ACTIVATIONS)
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert len(str(raised.value)) < 200 and len(server.requests) == 1


def test_a_closed_port_is_unreachable(debug_logs: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = Endpoint(base_url=f"http://127.0.0.1:{port}/v1", model=MODEL, api_key=KEY, max_retries=0)
    with pytest.raises(EndpointError, match="unreachable") as raised:
        explain(endpoint, RECORDS_TOKENS, RECORDS_ACTIVATIONS)
    assert_key_hidden(debug_logs, str(raised.value))
