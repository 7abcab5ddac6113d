"""A language model behind an OpenAI-compatible chat-completions endpoint as the explainer and the simulator of
Bills et al. (2023), "Language models can explain neurons in language models".

The explainer reads a neuron's activation records in the paper's ``token<TAB>activation`` format (activations
0-10) and writes one sentence about what the neuron looks for (:func:`explain`). The simulator reads only that
sentence and predicts the activation of every token of other texts (:func:`simulate`), from the probabilities
of the numbers "0".."10" where the endpoint returns logprobs (the paper's expected-value simulator), else from
the numbers it wrote. Scoring the simulation is :mod:`xray.neurons.scoring`'s job.

Any server that speaks chat completions works: OpenAI, Ollama, vLLM, llama.cpp's server. Every failure raises
:class:`EndpointError` with a message that says what to do. The API key goes only into the request's
Authorization header: never into a message, a log record, an exception (none is chained) or a repr.

The prompts are the model's input and stay in English whatever the page's language; the errors a user reads are in
the run's language.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
import time
from dataclasses import dataclass, field, fields
from itertools import accumulate
from urllib.parse import urlparse

import numpy as np
import openai
from openai.types.chat import ChatCompletion, ChatCompletionTokenLogprob
from openai.types.chat.chat_completion import Choice

from xray.neurons.few_shot import FEW_SHOT_EXAMPLES, FewShotExample
from xray.translation import _, number

log = logging.getLogger(__name__)

SCALE = 10
EXPLANATION_MAX_TOKENS = 60
SIMULATION_BASE_TOKENS = 32
SIMULATION_TOKENS_PER_LINE = 10  # a token's text, a tab, its number and a line break, with room to spare
TOP_LOGPROBS = 10
NO_KEY = "no-key"
"""Sent as the key when the endpoint needs none (Ollama, vLLM, llama.cpp): the client refuses an empty key, and
without one it would send the OPENAI_API_KEY of the environment to whatever server the base URL names."""
SERVER_MESSAGE_CHARS = 200
RETRY_PAUSE_S = 0.5
REASON_KEYS = ("message", "detail", "error", "msg", "reason", "description")
"""Where an error body keeps its reason: OpenAI's ``message``, FastAPI's ``detail`` (``msg`` in its validation
errors), and the usual others."""
LOGPROBS_METHOD = "expected value from logprobs"
WRITTEN_METHOD = "written by the model"
START, END = "<start>", "<end>"
EXPLANATION_LEAD = "the main thing this neuron does is find"
ZEROS_FILTERED = "Same activations, but with all zeros filtered out:"
REPEAT_BELOW = 0.2  # the reference repeats a neuron's records without zeros when fewer than this share is non-zero
_NUMBER_TOKENS = frozenset(str(number) for number in range(SCALE + 1))  # the only candidates the simulator counts

EXPLANATION_SYSTEM = (
    "We're studying neurons in a neural network. Each neuron looks for some particular thing in a short document. "
    "Look at the parts of the document the neuron activates for and summarize in a single sentence what the neuron "
    "is looking for. Don't list examples of words.\n\n"
    "The activation format is token<tab>activation. Activation values range from 0 to 10. A neuron finding what "
    "it's looking for is represented by a non-zero activation value. The higher the activation value, the stronger "
    "the match."
)
SIMULATION_SYSTEM = (
    "We're studying neurons in a neural network. Each neuron looks for some particular thing in a short document. "
    "Look at an explanation of what the neuron does, and try to predict its activations on each token.\n\n"
    'The activation format is token<tab>activation, activations go from 0 to 10, "unknown" indicates an unknown '
    "activation. Most activations will be 0."
)
SIMULATION_REQUEST = (
    'Rewrite the block with each "unknown" replaced by the activation (an integer from 0 to 10), one token per '
    "line, nothing else."
)

_ESCAPES = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})
_REPEATED_LEAD = re.compile(
    rf"^(?:explanation of neuron \d+ behavior:\s*)?(?:{re.escape(EXPLANATION_LEAD)}\b\s*)?", re.IGNORECASE
)
_NUMBERED_LINE = re.compile(r"(?:(?P<label>.*)[\t:])?[ \t]*(?P<number>\d+(?:\.\d+)?)[ \t]*")


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible chat-completions endpoint and the model to ask there.

    base_url: the API root, e.g. ``https://api.openai.com/v1`` or Ollama's ``http://localhost:11434/v1``.
    model: the model name the server knows (``gpt-4o-mini``, ``llama3.1:8b``).
    api_key: empty for servers that need none; never shown by repr, :meth:`describe` or :meth:`cache_key`.
    timeout_s: seconds to wait for each request; max_retries: retries after a 429, a 5xx answer or a failed
        connection (a request that timed out is never sent again).
    """

    base_url: str
    model: str
    api_key: str = field(default="", repr=False)
    timeout_s: float = 30.0
    max_retries: int = 2

    def __post_init__(self) -> None:
        address = urlparse(self.base_url)
        if address.scheme not in ("http", "https") or not address.hostname or any(c.isspace() for c in self.base_url):
            raise ValueError(
                _(
                    "base_url must be an http:// or https:// address such as https://api.openai.com/v1 or "
                    "http://localhost:11434/v1 (Ollama)."
                )
            )
        if address.username or address.password:
            raise ValueError(_("base_url must not hold a user name or password: put the key in api_key."))
        if not self.model.strip():
            raise ValueError(_("model must name a model the endpoint serves, e.g. gpt-4o-mini or llama3.1:8b."))
        if not all("!" <= character <= "~" for character in self.api_key):
            raise ValueError(
                _("api_key must be the key alone: it holds a space, a line break or a non-ASCII character.")
            )
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ValueError(
                _("timeout_s must be a positive number of seconds, got {value}.").format(value=self.timeout_s)
            )
        if self.max_retries < 0:
            raise ValueError(_("max_retries must be 0 or more, got {value}.").format(value=self.max_retries))

    def describe(self) -> str:
        """The model and where it is served, in the run's language, e.g. "gpt-4o-mini at https://api.openai.com/v1"."""
        return _("{model} at {url}").format(model=self.model, url=self.base_url)

    def cache_key(self) -> tuple:
        """Every field but the key, to cache results by."""
        return tuple(getattr(self, item.name) for item in fields(self) if item.name != "api_key")


class EndpointError(ValueError):
    """A request to an :class:`Endpoint` failed, or its answer could not be read; the message says what to do.

    status: the HTTP status the server answered, None where it gave none (timeout, unreachable, unreadable answer).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Simulation:
    """The simulator's predictions for one text.

    values: (tokens,) predicted activations, floats in 0..10.
    method: :data:`LOGPROBS_METHOD` (each value is the expected value of the numbers "0".."10" under the model's
        probabilities where it wrote the number) or :data:`WRITTEN_METHOD` (the numbers it wrote).
    unparsed: tokens whose value could not be read and were set to 0 (at most half of them).
    """

    values: np.ndarray
    method: str
    unparsed: int


@dataclass(frozen=True)
class _Line:
    """One line of a simulator's answer: label, the token text written before the number (None where there is
    none); numbered, whether the line ends in a number; value, that number when it is within 0..10; number_at,
    (start, end) of the number in the answer."""

    label: str | None
    numbered: bool
    value: float | None
    number_at: tuple[int, int]


def _shown(token: str) -> str:
    """A token as the prompts show it: tabs and line breaks escaped, so that each token keeps one line."""
    return token.translate(_ESCAPES)


def explanation_prompt(
    tokens: list[list[str]],
    activations: list[list[int]],
    *,
    examples: tuple[FewShotExample, ...] = FEW_SHOT_EXAMPLES,
) -> list[dict]:
    """The paper's explainer prompt as chat messages, for records given as tokens and their activations 0-10.

    As the reference builds it: the system message; for each few-shot example, a user message with its records
    ("Neuron 1", "Neuron 2", …) and an assistant message with its explanation; then a user message with these
    records as the next neuron, ending "the main thing this neuron does is find". In every neuron's message, where
    under 20% of its activations are non-zero (:data:`REPEAT_BELOW`), its records follow once more "with all zeros
    filtered out" (only the tokens whose activation is not 0).

    Tokens are shown as given (callers remove word-piece markers such as ``##``); tabs and line breaks are escaped.
    Raises ValueError without records, when tokens and activations differ in length, or for activations outside 0-10.
    """
    if not tokens:
        raise ValueError(_("The explainer needs at least one activation record."))
    if len(tokens) != len(activations):
        raise ValueError(
            _("Got {tokens} token records but {activations} activation records.").format(
                tokens=len(tokens), activations=len(activations)
            )
        )
    messages = [{"role": "system", "content": EXPLANATION_SYSTEM}]
    for place, example in enumerate(examples, start=1):
        shown = [list(record) for record in example.tokens], [list(values) for values in example.activations]
        messages.append({"role": "user", "content": _neuron_message(place, *shown)})
        messages.append({"role": "assistant", "content": f" {example.explanation}."})
    messages.append({"role": "user", "content": _neuron_message(len(examples) + 1, tokens, activations)})
    return messages


def _neuron_message(number: int, tokens: list[list[str]], activations: list[list[int]]) -> str:
    """One neuron's records in the explainer prompt, repeated without zeros where under 20% are non-zero."""
    blocks = [_record_block(record, values) for record, values in zip(tokens, activations, strict=True)]
    message = f"Neuron {number}\nActivations:\n" + "".join(blocks)
    if non_zero_share(activations) < REPEAT_BELOW:
        kept = [
            ([token for token, value in zip(record, values, strict=True) if value != 0], [v for v in values if v != 0])
            for record, values in zip(tokens, activations, strict=True)
        ]
        message += f"\n{ZEROS_FILTERED}\n" + "".join(_record_block(record, values) for record, values in kept)
    return message + f"\n\nExplanation of neuron {number} behavior: {EXPLANATION_LEAD}"


def non_zero_share(activations: list[list[int]]) -> float:
    """The share of the activations (0-10) that are not 0, over every token of every record; 1.0 without tokens
    (nothing to repeat)."""
    total = sum(len(values) for values in activations)
    return 1.0 if total == 0 else sum(value != 0 for values in activations for value in values) / total


def _record_block(tokens: list[str], activations: list[int]) -> str:
    if len(tokens) != len(activations):
        raise ValueError(
            _("A record has {tokens} tokens but {activations} activations.").format(
                tokens=len(tokens), activations=len(activations)
            )
        )
    if any(not 0 <= value <= SCALE or value != int(value) for value in activations):
        raise ValueError(
            _("Activations must be integers from 0 to {scale} (normalise them first).").format(scale=SCALE)
        )
    lines = "".join(f"{_shown(token)}\t{int(value)}\n" for token, value in zip(tokens, activations, strict=True))
    return f"{START}\n{lines}{END}\n"


def simulation_prompt(explanation: str, tokens: list[str]) -> list[dict]:
    """The paper's simulator prompt as chat messages: the explanation, then every token with an unknown activation.

    Raises ValueError for an empty explanation or no tokens.
    """
    if not explanation.strip():
        raise ValueError(_("The simulator needs an explanation to work from."))
    if not tokens:
        raise ValueError(_("The simulator needs at least one token to predict."))
    lines = "".join(f"{_shown(token)}\tunknown\n" for token in tokens)
    user = (
        f"Neuron 1\nExplanation of neuron 1 behavior: {EXPLANATION_LEAD} {explanation}\nActivations:\n"
        f"{START}\n{lines}{END}\n\n{SIMULATION_REQUEST}"
    )
    return [{"role": "system", "content": SIMULATION_SYSTEM}, {"role": "user", "content": user}]


def explain(endpoint: Endpoint, tokens: list[list[str]], activations: list[list[int]]) -> str:
    """The endpoint's one-sentence explanation of a neuron from its records (see :func:`explanation_prompt`).

    Returns the first non-empty line of the answer, stripped, without "the main thing this neuron does is find"
    where the model repeats it. Raises EndpointError when the request fails, and before anything is simulated from
    an answer that is no explanation (see :func:`_not_an_explanation`).
    """
    messages = explanation_prompt(tokens, activations)
    completion = _complete(endpoint, messages, max_tokens=EXPLANATION_MAX_TOKENS)
    content = _first_choice(endpoint, completion).message.content or ""
    first_line = next((line.strip() for line in content.splitlines() if line.strip()), "")
    explanation = _REPEATED_LEAD.sub("", first_line).strip()
    if not explanation:
        raise EndpointError(
            _("{endpoint} answered with an empty explanation: try again or another model.").format(
                endpoint=endpoint.describe()
            )
        )
    why = _not_an_explanation(
        explanation, messages, getattr(getattr(completion, "usage", None), "completion_tokens", None)
    )
    if why:
        raise EndpointError(
            _(
                "{endpoint} answered {answer}, which {why}: it is no explanation, so nothing was simulated. Try again, "
                "or a larger, instruction-tuned model."
            ).format(endpoint=endpoint.describe(), answer=repr(explanation[:SERVER_MESSAGE_CHARS]), why=why)
        )
    return explanation


def _not_an_explanation(explanation: str, messages: list[dict], answer_tokens: int | None) -> str:
    """Why ``explanation`` (stripped, not empty) cannot be one, "" where it can: a line of the prompt echoed back
    (``<start>``, a ``token<TAB>activation`` line), an answer of a single token (as the server counted them in its
    usage), or no letter at all (a number, punctuation), in the run's language. The few-shot examples' explanations
    (assistant messages) are not the prompt's lines: a neuron may well do what an example does."""
    prompt_lines = {
        line.strip()
        for message in messages
        if message["role"] != "assistant"
        for line in message["content"].splitlines()
        if line.strip()
    }
    if explanation in prompt_lines or explanation.rstrip(".") in prompt_lines:
        return _("repeats a line of the prompt")
    if answer_tokens is not None and answer_tokens <= 1:
        return _("is a single token")
    if not any(character.isalpha() for character in explanation):
        return _("holds no word")
    return ""


def simulate(endpoint: Endpoint, explanation: str, tokens: list[str]) -> Simulation:
    """The endpoint's predicted activation (0-10) of each token from the explanation alone.

    The request asks for the top 10 logprobs of every answer token; a server that rejects them (400) is asked
    once more without. The answer is read line by line:

    - Only the lines between a ``<start>`` line and the next ``<end>`` line count; where ``<start>`` is missing
      from the top, where ``<end>`` is missing to the bottom. Blank lines are skipped.
    - A line is ``token<TAB>N``, ``token: N`` or ``N`` alone, N a number from 0 to 10 (larger numbers count as
      unreadable); the token part is its label.
    - Lines match tokens in order. A line whose label equals (both stripped) a token at or after the next
      unmatched one matches that token, and the tokens it skips stay unread. A line without a label, or whose
      label matches no token, matches the next token when it ends in a number, and is skipped otherwise
      (a preamble, a code fence). Lines after the last token are ignored.

    With logprobs whose tokens spell out the answer, each read token's value is the expected value over the
    candidates among the top logprobs where the model wrote its number that are exactly "0".."10" (their
    probabilities normalised to sum to 1; " 3" with a space, and the written token where it is not in the top
    list, do not count). When a number spans several answer tokens (a tokenizer that splits "10") or its
    position has no numeric candidate, every value is the written one instead. Unread tokens get 0.
    Raises EndpointError when the request fails or more than half of the tokens are unread.
    """
    messages = simulation_prompt(explanation, tokens)
    max_tokens = SIMULATION_BASE_TOKENS + SIMULATION_TOKENS_PER_LINE * len(tokens)
    try:
        completion = _complete(endpoint, messages, max_tokens=max_tokens, logprobs=True, top_logprobs=TOP_LOGPROBS)
    except EndpointError as error:
        if error.status != 400:
            raise
        log.debug("%s rejected the logprobs request (400); asking again without logprobs", endpoint.describe())
        completion = _complete(endpoint, messages, max_tokens=max_tokens)
    return _read_simulation(endpoint, _first_choice(endpoint, completion), tokens)


def _read_simulation(endpoint: Endpoint, choice: Choice, tokens: list[str]) -> Simulation:
    content = choice.message.content or ""
    positions = _logprob_positions(choice, content)
    matched = _match_lines(_answer_lines(content), tokens)
    unparsed = sum(line is None or line.value is None for line in matched)
    if 2 * unparsed > len(tokens):
        raise EndpointError(
            _(
                "{endpoint} answered, but {unparsed} of {tokens} tokens had no readable activation: the model does "
                "not follow the token<tab>activation format; try a larger or instruction-tuned model."
            ).format(endpoint=endpoint.describe(), unparsed=unparsed, tokens=len(tokens))
        )
    expected = _expected_values(matched, positions) if positions else None
    if expected is not None:
        return Simulation(values=expected, method=LOGPROBS_METHOD, unparsed=unparsed)
    written = [line.value if line is not None and line.value is not None else 0.0 for line in matched]
    return Simulation(values=np.array(written, dtype=np.float64), method=WRITTEN_METHOD, unparsed=unparsed)


def _logprob_positions(choice: Choice, content: str) -> list[ChatCompletionTokenLogprob] | None:
    """The answer's tokens with their top logprobs, when the server sent them and they spell out the answer."""
    positions = getattr(getattr(choice, "logprobs", None), "content", None)
    if not positions or "".join(position.token for position in positions) != content:
        return None
    return positions


def _answer_lines(answer: str) -> list[_Line]:
    """The non-blank lines of the answer's block (see :func:`simulate`), read as labels and numbers."""
    lines, offset = [], 0
    for text in answer.split("\n"):
        lines.append((offset, text.rstrip("\r")))
        offset += len(text) + 1
    marks = [text.strip() for _, text in lines]
    first = marks.index(START) + 1 if START in marks else 0
    last = marks.index(END, first) if END in marks[first:] else len(lines)
    return [_read_line(text, offset) for offset, text in lines[first:last] if text.strip()]


def _read_line(text: str, offset: int) -> _Line:
    numbered = _NUMBERED_LINE.fullmatch(text)
    if numbered is None:
        label = text.rsplit("\t", 1)[0].strip()
        return _Line(label=label or None, numbered=False, value=None, number_at=(offset, offset))
    number = float(numbered["number"])
    label = (numbered["label"] or "").strip()
    return _Line(
        label=label or None,
        numbered=True,
        value=number if number <= SCALE else None,
        number_at=(offset + numbered.start("number"), offset + numbered.end("number")),
    )


def _match_lines(lines: list[_Line], tokens: list[str]) -> list[_Line | None]:
    """(tokens,) the line matched to each token, None where none was (the rules are in :func:`simulate`)."""
    labels = [_shown(token).strip() for token in tokens]
    matched: list[_Line | None] = [None] * len(tokens)
    following = 0
    for line in lines:
        labelled = line.label is not None and line.label in labels[following:]
        if not (labelled or line.numbered):
            continue
        index = labels.index(line.label, following) if labelled else following
        if index >= len(tokens):
            break
        matched[index] = line
        following = index + 1
    return matched


def _expected_values(matched: list[_Line | None], positions: list[ChatCompletionTokenLogprob]) -> np.ndarray | None:
    """(tokens,) expected values of the numbers under the logprobs at each read number, 0 for unread tokens;
    None when a number spans several answer tokens or its position has no numeric candidate."""
    starts = list(accumulate((len(position.token) for position in positions), initial=0))
    values = np.zeros(len(matched), dtype=np.float64)
    for index, line in enumerate(matched):
        if line is None or line.value is None:
            continue
        start, end = line.number_at
        position = bisect.bisect_right(starts, start) - 1
        if end > starts[position + 1]:
            return None
        expected = _expected_number(positions[position])
        if expected is None:
            return None
        values[index] = expected
    return values


def _expected_number(position: ChatCompletionTokenLogprob) -> float | None:
    """Expected value over the candidates among a position's top logprobs that are exactly one of "0".."10", as
    the reference's ``parse_top_logprobs`` counts them: not " 3" with a space, not "07", and not the sampled token
    where it is missing from the top list. None where no candidate counts."""
    candidates = {top.token: top.logprob for top in position.top_logprobs or []}
    weights = np.zeros(SCALE + 1)
    for token, logprob in candidates.items():
        if token in _NUMBER_TOKENS:
            weights[int(token)] += math.exp(logprob)
    if weights.sum() <= 0:
        return None
    return float(weights @ np.arange(SCALE + 1) / weights.sum())


def _complete(endpoint: Endpoint, messages: list[dict], **options: object) -> ChatCompletion:
    """One chat completion at temperature 0; every failure becomes an EndpointError.

    A 429 (other than no quota), a 5xx answer or a failed connection is tried again, up to ``max_retries`` times
    after a pause of RETRY_PAUSE_S doubling each time. A request that timed out is never sent again: a busy server
    would only get busier, and the wait would be several timeouts long.
    """
    started = time.perf_counter()
    try:
        with _client(endpoint) as client:
            for attempt in range(endpoint.max_retries + 1):
                try:
                    return client.chat.completions.create(
                        model=endpoint.model, messages=messages, temperature=0, **options
                    )
                except openai.OpenAIError as error:
                    failure = _endpoint_error(endpoint, error, time.perf_counter() - started)
                    if attempt == endpoint.max_retries or not _worth_retrying(error):
                        break
                except ValueError:  # the client's json.loads of a body cut off or malformed: not sent again
                    failure = EndpointError(_unreadable_json(endpoint))
                    break
                log.debug(
                    "%s: %s; trying again (%d of %d)", endpoint.describe(), failure, attempt + 1, endpoint.max_retries
                )
                time.sleep(RETRY_PAUSE_S * 2**attempt)
    finally:
        prompt_chars = sum(len(message["content"]) for message in messages)
        seconds = time.perf_counter() - started
        log.debug("chat completion by %s: %d prompt characters, %.2f s", endpoint.describe(), prompt_chars, seconds)
    # Raised outside the except block, so no chained exception (whose request holds the key) travels with it.
    raise failure


def _worth_retrying(error: openai.OpenAIError) -> bool:
    """A rate limit, a server error or a failed connection; never a timeout (see :func:`_complete`)."""
    if isinstance(error, openai.APITimeoutError):
        return False
    if isinstance(error, openai.APIConnectionError):
        return True
    if isinstance(error, openai.APIStatusError):
        return (error.status_code == 429 and error.code != "insufficient_quota") or error.status_code >= 500
    return False


def _client(endpoint: Endpoint) -> openai.OpenAI:
    """The official client, retrying nothing itself: :func:`_complete` decides what is sent again."""
    return openai.OpenAI(
        base_url=endpoint.base_url, api_key=endpoint.api_key or NO_KEY, timeout=endpoint.timeout_s, max_retries=0
    )


def _first_choice(endpoint: Endpoint, completion: object) -> Choice:
    """The answer's first choice; EndpointError unless it is one with a message whose content is text (or none)."""
    choices = getattr(completion, "choices", None)
    message = getattr(choices[0], "message", None) if isinstance(choices, list) and choices else None
    if message is None or not isinstance(getattr(message, "content", None), str | None):
        raise EndpointError(_not_a_completion(endpoint))
    return choices[0]


def _unreadable_json(endpoint: Endpoint) -> str:
    return _(
        "{endpoint} answered with JSON that cannot be read (cut off or malformed), so nothing was kept from it: try "
        "again, or see the server's log."
    ).format(endpoint=endpoint.describe())


def _not_a_completion(endpoint: Endpoint) -> str:
    return _(
        "{endpoint} gave an answer that is not a chat completion: is the base URL right? it usually ends in /v1."
    ).format(endpoint=endpoint.describe())


def _endpoint_error(endpoint: Endpoint, error: openai.OpenAIError, seconds: float) -> EndpointError:
    """The error to show for ``error``, ``seconds`` after the first attempt was sent."""
    where = endpoint.describe()
    if isinstance(error, openai.APITimeoutError):
        return EndpointError(
            _(
                "{endpoint} gave no answer in {seconds} s (the timeout is {timeout} s; a request that timed out is "
                "not sent again): the server may be busy or still loading the model; try again, or allow a longer "
                "timeout."
            ).format(endpoint=where, seconds=number(seconds, 1), timeout=f"{endpoint.timeout_s:g}")
        )
    if isinstance(error, openai.APIConnectionError):
        return EndpointError(
            _(
                "Could not connect to {url}: the host is unreachable or refused the connection. Is the server "
                "running, and is the address right?"
            ).format(url=endpoint.base_url)
        )
    if isinstance(error, openai.APIStatusError):
        return EndpointError(_status_message(endpoint, error), status=error.status_code)
    return EndpointError(_not_a_completion(endpoint))


def _status_message(endpoint: Endpoint, error: openai.APIStatusError) -> str:
    where, status, said = endpoint.describe(), error.status_code, _server_message(endpoint, error)
    if status in (401, 403):
        return _(
            "{endpoint} refused the API key ({status}): check the key, and that it is a key for this server."
        ).format(endpoint=where, status=status)
    if status == 429 and error.code == "insufficient_quota":
        return _("{endpoint} says the account has no quota left (429): check the plan and billing of this key.").format(
            endpoint=where
        )
    if status == 429:
        return _(
            "{endpoint} is limiting the request rate (429), still after {retries} retries: wait a minute and try "
            "again, or allow more retries."
        ).format(endpoint=where, retries=endpoint.max_retries)
    if status == 404 and (error.code == "model_not_found" or "model" in said.lower()):
        return _(
            "{endpoint}: the endpoint does not know the model {model} (404: {said}). Check its name ({url}/models "
            "lists them; with Ollama, pull the model first)."
        ).format(endpoint=where, model=repr(endpoint.model), said=said, url=endpoint.base_url)
    if status == 404:
        return _("{endpoint} has no chat completions (404): is the base URL right? it usually ends in /v1.").format(
            endpoint=where
        )
    if status >= 500:
        return _("{endpoint} had a server error ({status}): try again later; on a local server, read its log.").format(
            endpoint=where, status=status
        )
    reason = said.rstrip(".") or _("no reason given")
    return _("{endpoint} rejected the request ({status}): {reason}.").format(
        endpoint=where, status=status, reason=reason
    )


def _server_message(endpoint: Endpoint, error: openai.APIStatusError) -> str:
    """The server's own error message, on one line, shortened, with the key (should a server echo it) hidden."""
    text = " ".join(_reason(error.body).split())
    hidden = text.replace(endpoint.api_key, "[key]") if endpoint.api_key else text
    return hidden[:SERVER_MESSAGE_CHARS]


def _reason(body: object) -> str:
    """The reason an error body gives, whatever its shape: OpenAI's ``{"message": ...}``, FastAPI's
    ``{"detail": ...}`` (a string, or a list of ``{"msg": ...}`` for a validation error), ``{"error": "..."}``;
    else the body's first text value; "" where it gives none."""
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        return "; ".join(reason for reason in map(_reason, body) if reason)
    if not isinstance(body, dict):
        return ""
    for key in REASON_KEYS:
        if body.get(key):
            return _reason(body[key])
    return next((_reason(value) for value in body.values() if isinstance(value, str | list | dict) and value), "")
