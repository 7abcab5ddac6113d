"""Attention weights and hidden states of one input, for any family (encoder, decoder, encoder-decoder)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from xray.loading import LoadedModel
from xray.text import prepare_text


class NoAttentionError(ValueError):
    """The model returned no attention weights (e.g. it was loaded with SDPA or flash attention)."""


@dataclass(frozen=True)
class AttentionBlock:
    """One attention stack.

    name: "self" for encoder-only and decoder-only models; "encoder", "decoder" and
        "cross" for encoder-decoder models.
    attentions: (layers, heads, query, key), each query row sums to 1.
    key_special_mask: (key,) True at special key tokens ([CLS], [SEP], <s>, </s>, ...).
    causal: True where a query never attends to later keys.
    """

    name: str
    query_tokens: list[str]
    key_tokens: list[str]
    attentions: np.ndarray
    key_special_mask: np.ndarray
    causal: bool

    @property
    def is_self_attention(self) -> bool:
        return self.name != "cross"


@dataclass(frozen=True)
class AttentionResult:
    """Everything the Attention page shows for one input.

    tokens: the input tokens as the model saw them (the encoder's, for encoder-decoder models).
    blocks: attention stacks by name, the main one first ("self" or "encoder").
    hidden_states: (layers + 1, tokens, hidden), embeddings first, of the same stack as ``tokens``.
    sentence_b_start: index of the first token of the second sentence in a pair input, else None.
    token_count: tokens before truncation; truncated: True when the model's maximum cut the input.
    notices: short sentences for the user (truncation, removed characters, unknown tokens).
    """

    tokens: list[str]
    blocks: dict[str, AttentionBlock]
    hidden_states: np.ndarray
    sentence_b_start: int | None
    token_count: int
    truncated: bool
    notices: tuple[str, ...] = field(default=())

    @property
    def main(self) -> AttentionBlock:
        return next(iter(self.blocks.values()))


def _stack(attentions: tuple[torch.Tensor, ...] | None) -> np.ndarray:
    """(layers, heads, query, key) float32 from the per-layer (1, heads, query, key) tensors."""
    if not attentions or any(layer is None for layer in attentions):
        raise NoAttentionError(
            "This model returned no attention weights. Transformer X-Ray loads models with eager attention; "
            "a model built with SDPA or flash attention cannot show them."
        )
    return torch.stack([layer[0] for layer in attentions]).float().cpu().numpy()


def _encode(loaded: LoadedModel, text: str, text_b: str | None) -> tuple[dict, int, bool]:
    """Tokenize with truncation to the model maximum; returns (encoding, tokens before truncation, truncated)."""
    tokenizer = loaded.tokenizer
    full = tokenizer(text, text_b, truncation=False)
    token_count = len(full["input_ids"])
    encoding = tokenizer(
        text, text_b, truncation="longest_first" if text_b else True, max_length=loaded.max_length, return_tensors="pt"
    )
    return encoding, token_count, token_count > encoding["input_ids"].shape[1]


def _unknown_notice(loaded: LoadedModel, input_ids: torch.Tensor, what: str) -> list[str]:
    unk = loaded.tokenizer.unk_token_id
    count = int((input_ids == unk).sum()) if unk is not None else 0
    if not count:
        return []
    pieces = f"{count} pieces of the {what} are" if count > 1 else f"1 piece of the {what} is"
    return [
        f"{pieces} unknown to this tokenizer and read as {loaded.tokenizer.unk_token} "
        "(emoji or scripts outside its vocabulary)."
    ]


def _special_mask(loaded: LoadedModel, input_ids: torch.Tensor) -> np.ndarray:
    special = set(loaded.tokenizer.all_special_ids) - {loaded.tokenizer.unk_token_id}
    return np.array([int(token_id) in special for token_id in input_ids], dtype=bool)


def compute_attention(loaded: LoadedModel, text: str, text_b: str | None = None) -> AttentionResult:
    """Run ``loaded`` once on ``text`` and return its attention weights and hidden states.

    text_b: for encoder and decoder models, the second sentence of a pair input; for
        encoder-decoder models, the decoder's input (e.g. a translation), defaulting to ``text``.
    Input longer than the model maximum is truncated and the result says so.
    Raises ValueError for empty text and :class:`NoAttentionError` when the model gives no weights.
    """
    prepared = prepare_text(text)
    prepared_b = prepare_text(text_b, what="second text") if text_b and text_b.strip() else None
    notices = list(prepared.notices) + (list(prepared_b.notices) if prepared_b else [])
    if loaded.family == "encoder-decoder":
        return _encoder_decoder_attention(loaded, prepared.text, prepared_b.text if prepared_b else None, notices)
    encoding, token_count, truncated = _encode(loaded, prepared.text, prepared_b.text if prepared_b else None)
    input_ids = encoding["input_ids"][0]
    if truncated:
        notices.append(
            f"The input has {token_count} tokens; this model reads at most {loaded.max_length}, "
            f"so the last {token_count - len(input_ids)} were dropped."
        )
    notices += _unknown_notice(loaded, input_ids, "input")
    with torch.inference_mode():
        outputs = loaded.model(
            **{key: value.to(loaded.device) for key, value in encoding.items()},
            output_attentions=True,
            output_hidden_states=True,
        )
    tokens = loaded.tokenizer.convert_ids_to_tokens(input_ids.tolist())
    sentence_ids = encoding.sequence_ids(0) if prepared_b else []
    sentence_b_start = sentence_ids.index(1) if 1 in sentence_ids else None
    block = AttentionBlock(
        "self",
        tokens,
        tokens,
        _stack(outputs.attentions),
        _special_mask(loaded, input_ids),
        causal=loaded.family == "decoder",
    )
    return AttentionResult(
        tokens=tokens,
        blocks={"self": block},
        hidden_states=torch.stack([state[0] for state in outputs.hidden_states]).float().cpu().numpy(),
        sentence_b_start=sentence_b_start,
        token_count=token_count,
        truncated=truncated,
        notices=tuple(notices),
    )


def _encoder_decoder_attention(
    loaded: LoadedModel, text: str, decoder_text: str | None, notices: list[str]
) -> AttentionResult:
    start = loaded.model.config.decoder_start_token_id
    if start is None:
        raise ValueError(f"'{loaded.name}' does not say which token starts its decoder; it cannot be shown.")
    encoding, token_count, truncated = _encode(loaded, text, None)
    decoder_encoding, _, decoder_truncated = _encode(loaded, decoder_text or text, None)
    input_ids = encoding["input_ids"][0]
    decoder_ids = torch.cat([torch.tensor([start]), decoder_encoding["input_ids"][0]])[: loaded.max_length]
    if truncated or decoder_truncated:
        notices.append(f"The input was cut to this model's maximum of {loaded.max_length} tokens.")
    notices += _unknown_notice(loaded, input_ids, "input")
    with torch.inference_mode():
        outputs = loaded.model(
            input_ids=input_ids[None].to(loaded.device),
            attention_mask=encoding["attention_mask"].to(loaded.device),
            decoder_input_ids=decoder_ids[None].to(loaded.device),
            output_attentions=True,
            output_hidden_states=True,
        )
    tokens = loaded.tokenizer.convert_ids_to_tokens(input_ids.tolist())
    decoder_tokens = loaded.tokenizer.convert_ids_to_tokens(decoder_ids.tolist())
    encoder_mask, decoder_mask = _special_mask(loaded, input_ids), _special_mask(loaded, decoder_ids)
    blocks = {
        "encoder": AttentionBlock(
            "encoder", tokens, tokens, _stack(outputs.encoder_attentions), encoder_mask, causal=False
        ),
        "decoder": AttentionBlock(
            "decoder", decoder_tokens, decoder_tokens, _stack(outputs.decoder_attentions), decoder_mask, causal=True
        ),
        "cross": AttentionBlock(
            "cross", decoder_tokens, tokens, _stack(outputs.cross_attentions), encoder_mask, causal=False
        ),
    }
    return AttentionResult(
        tokens=tokens,
        blocks=blocks,
        hidden_states=torch.stack([state[0] for state in outputs.encoder_hidden_states]).float().cpu().numpy(),
        sentence_b_start=None,
        token_count=token_count,
        truncated=truncated,
        notices=tuple(notices),
    )
