"""Per-architecture facts in one table, so no page ever branches on a model name.

The key is ``config.model_type`` from the Hugging Face config. A model type that is not in
the table still loads: its kind is then inferred from the config (see :func:`family_facts`)
and ``FamilyFacts.known`` is False, which the app shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["encoder", "decoder", "encoder-decoder"]
SummaryToken = Literal["first", "last"]


@dataclass(frozen=True)
class FamilyFacts:
    """What the app needs to know about one architecture family.

    kind: encoder (bidirectional attention), decoder (causal attention) or encoder-decoder.
    neuron_view: the model type bertviz's neuron view re-implements ("bert", "roberta",
        "gpt2"), or None where bertviz has no neuron view for the family.
    known: False where the facts were inferred from the config, not read from the table.
    """

    kind: Kind
    neuron_view: str | None = None
    known: bool = True

    @property
    def summary_token(self) -> SummaryToken:
        """The token that sees the whole input and so summarises it: the first ([CLS], <s>) where attention
        is bidirectional, the last where it is causal (a decoder's last token is the only one to see every other)."""
        return "last" if self.kind == "decoder" else "first"


FAMILIES: dict[str, FamilyFacts] = {
    "bert": FamilyFacts("encoder", neuron_view="bert"),
    "roberta": FamilyFacts("encoder", neuron_view="roberta"),
    "xlm-roberta": FamilyFacts("encoder"),
    "distilbert": FamilyFacts("encoder"),
    "albert": FamilyFacts("encoder"),
    "electra": FamilyFacts("encoder"),
    "deberta": FamilyFacts("encoder"),
    "deberta-v2": FamilyFacts("encoder"),
    "mpnet": FamilyFacts("encoder"),
    "gpt2": FamilyFacts("decoder", neuron_view="gpt2"),
    "gpt_neo": FamilyFacts("decoder"),
    "gptj": FamilyFacts("decoder"),
    "opt": FamilyFacts("decoder"),
    "llama": FamilyFacts("decoder"),
    "mistral": FamilyFacts("decoder"),
    "qwen2": FamilyFacts("decoder"),
    "qwen3": FamilyFacts("decoder"),
    "gemma": FamilyFacts("decoder"),
    "gemma2": FamilyFacts("decoder"),
    "gemma3_text": FamilyFacts("decoder"),
    "phi": FamilyFacts("decoder"),
    "t5": FamilyFacts("encoder-decoder"),
    "mt5": FamilyFacts("encoder-decoder"),
    "bart": FamilyFacts("encoder-decoder"),
    "mbart": FamilyFacts("encoder-decoder"),
    "marian": FamilyFacts("encoder-decoder"),
    "pegasus": FamilyFacts("encoder-decoder"),
}

_DECODER_ARCHITECTURE_SUFFIXES = ("ForCausalLM", "LMHeadModel")


def family_facts(model_type: str, *, is_encoder_decoder: bool, architectures: list[str]) -> FamilyFacts:
    """Facts for ``model_type``: from the table, else inferred from the config.

    An unknown type is an encoder-decoder when the config says so, a decoder when its
    architecture name is a causal LM, and an encoder otherwise.
    """
    if model_type in FAMILIES:
        return FAMILIES[model_type]
    if is_encoder_decoder:
        return FamilyFacts("encoder-decoder", known=False)
    if any(name.endswith(_DECODER_ARCHITECTURE_SUFFIXES) for name in architectures):
        return FamilyFacts("decoder", known=False)
    return FamilyFacts("encoder", known=False)
