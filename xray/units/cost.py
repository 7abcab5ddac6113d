"""What the same units run costs with a language model: calls and tokens, before anyone starts it.

Per unit the paper's protocol makes one explanation call (the few-shot prompt with the unit's 5 explanation
records) and one simulation call per scoring record (5 top and 10 random: 15). Prompts are built by the
endpoint's own prompt builders (:func:`explanation_prompt`, :func:`simulation_prompt`) on records as long as the
store's median text (pieces drawn at random from it) and counted in characters; tokens are estimated at 4
characters a token (the usual rule for English with OpenAI's tokenizers: the endpoint's own may count otherwise).
Completion tokens are the most each call may write (its ``max_tokens``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xray.neurons.endpoint import (
    EXPLANATION_MAX_TOKENS,
    SIMULATION_BASE_TOKENS,
    SIMULATION_TOKENS_PER_LINE,
    explanation_prompt,
    simulation_prompt,
)
from xray.store.format import ActivationStore
from xray.techniques.neuron_explanations import RANDOM_RECORDS, TOP_EACH
from xray.translation import N_, Message, _

CHARACTERS_PER_TOKEN = 4
SIMULATED = TOP_EACH + RANDOM_RECORDS  # scoring records simulated per unit
TYPICAL_EXPLANATION = "words about rivers and water, such as river, bank, shore and stream, in travel stories"


@dataclass(frozen=True)
class EndpointCost:
    """units: how many units; calls: requests to the endpoint; prompt_tokens: estimated; completion_tokens: at most."""

    units: int
    calls: int
    prompt_tokens: int
    completion_tokens: int

    def summary(self) -> Message:
        """One sentence, English: drawn in the run's language with :func:`~xray.translation.translated`."""
        return Message(
            N_(
                "With a language model the same {units} units take {calls} calls: about {prompt} prompt tokens (at "
                "{characters} characters a token) and at most {completion} completion tokens."
            ),
            units=self.units,
            calls=self.calls,
            prompt=self.prompt_tokens,
            characters=CHARACTERS_PER_TOKEN,
            completion=self.completion_tokens,
        )


def endpoint_cost(store: ActivationStore, units: int) -> EndpointCost:
    """The cost of explaining and simulating ``units`` units with an endpoint, on records of the store's median
    text length (in stored pieces)."""
    if units < 1:
        raise ValueError(_("Count at least one unit, not {units}.").format(units=units))
    lengths = np.bincount(store.tokens["text_id"].to_numpy(), minlength=store.manifest.texts)
    pieces = store.tokens["piece"].astype(str).to_numpy()
    drawn = np.random.default_rng(0).choice(pieces, max(1, int(np.median(lengths))))
    typical = [piece.removeprefix("##") for piece in drawn]
    records = [typical] * TOP_EACH
    explaining = _characters(explanation_prompt(records, [[5] * len(typical)] * TOP_EACH))
    simulating = _characters(simulation_prompt(TYPICAL_EXPLANATION, typical))
    completion = EXPLANATION_MAX_TOKENS + SIMULATED * (
        SIMULATION_BASE_TOKENS + SIMULATION_TOKENS_PER_LINE * len(typical)
    )
    return EndpointCost(
        units=units,
        calls=units * (1 + SIMULATED),
        prompt_tokens=units * (explaining + SIMULATED * simulating) // CHARACTERS_PER_TOKEN,
        completion_tokens=units * completion,
    )


def _characters(messages: list[dict]) -> int:
    return sum(len(message["content"]) for message in messages)
