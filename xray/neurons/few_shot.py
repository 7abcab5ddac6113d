"""Few-shot examples for the explainer prompt of Bills et al. (2023), in the reference code's format
(openai/automated-interpretability, ``few_shot_examples.py``): a neuron's activation records, then its explanation.

These are this project's own, from MiniLM (``sentence-transformers/all-MiniLM-L6-v2``, the embedded model): its
records over the "Word senses" corpus, activations normalised 0-10 against the largest over the example's own
records (as the reference normalises each example). Their behaviour was checked beyond the records: on sentences
outside the corpus, layer 4 neuron 135 fires on "up" in "gave up" and "looked it up" (10), "picked up" (8), "cut
out" (6) and "went off" (5), and stays at 0 on "out of the house" and on "back"; layer 4 neuron 1443 fires on "one"
(7) and "single" (4) in "Only one single ticket" and on nothing else there. ``tests/test_endpoint.py`` recomputes
them on MiniLM.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FewShotExample:
    """One neuron shown to the explainer with its answer.

    layer, neuron: where it is in MiniLM; tokens, activations: per record, its tokens and their activations 0-10;
    explanation: what completes "the main thing this neuron does is find" (without the final period).
    """

    layer: int
    neuron: int
    tokens: tuple[tuple[str, ...], ...]
    activations: tuple[tuple[int, ...], ...]
    explanation: str


def _pieces(text: str) -> tuple[str, ...]:
    """A record's tokens written with a space between each (MiniLM's pieces of these texts hold no space)."""
    return tuple(text.split(" "))


FEW_SHOT_EXAMPLES: tuple[FewShotExample, ...] = (
    FewShotExample(
        layer=4,
        neuron=135,
        tokens=(
            _pieces("Scientists study how an elephant can pick up a single peanut with its trunk ."),
            _pieces("Players warmed up on the edge of the pitch before kick - off ."),
            _pieces("Both teams walked out onto the pitch to loud applause ."),
        ),
        activations=(
            (0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0),
            (0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0),
            (0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0),
        ),
        explanation="the adverb particle that completes a phrasal verb after a verb of motion or action",
    ),
    FewShotExample(
        layer=4,
        neuron=1443,
        tokens=(
            _pieces("A one - act play about grief won the drama festival this year ."),
            _pieces("The street lights flickered on one by one at dusk ."),
            _pieces("Scientists study how an elephant can pick up a single peanut with its trunk ."),
        ),
        activations=(
            (0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            (0, 0, 0, 0, 0, 7, 0, 8, 0, 0, 0),
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0),
        ),
        explanation="the number one and other words for a single thing",
    ),
)
