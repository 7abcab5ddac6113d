"""Attention of one input, for any family (encoder, decoder, encoder-decoder): the weights and hidden states
(:func:`compute_attention`), per-head summary statistics (:func:`head_statistics`) and attention rollout
(Abnar & Zuidema 2020; :func:`rollout`)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from xray.models.loading import LoadedModel
from xray.results import json_text
from xray.text import SECOND_TEXT, prepare_text
from xray.translation import N_, Message, _, counted

JSON_DECIMALS = 5
STATISTICS: dict[str, str] = {
    "entropy": N_("Entropy of a query's attention, in bits, averaged over queries (0 = one key only)."),
    "to_first": N_("Attention to the first token ([CLS] or BOS), averaged over queries."),
    "to_special": N_("Attention to all special tokens ([CLS], [SEP], <s>, </s>, ...), averaged over queries."),
    "to_self": N_("Attention of each token to itself, averaged over tokens."),
    "to_previous": N_("Attention to the previous token, averaged over tokens that have one."),
    "to_next": N_("Attention to the next token, averaged over tokens that have one."),
}
"""Each statistic's description, in English (drawn with ``_``)."""


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

    def top_key(self, layer: int, head: int, query: int) -> tuple[int, float]:
        """The key that ``query`` reads most in (``layer``, ``head``), special tokens (and, in self-attention,
        the query itself) left out, with its weight; (-1, 0.0) where no key is left."""
        weights = self.attentions[layer, head, query].copy()
        weights[self.key_special_mask] = -1.0
        if self.is_self_attention and query < len(weights):
            weights[query] = -1.0
        key = int(weights.argmax())
        return (key, float(weights[key])) if weights[key] >= 0 else (-1, 0.0)


@dataclass(frozen=True)
class AttentionResult:
    """Everything the Attention page shows for one input.

    model_name: the model that read it.
    tokens: the input tokens as the model saw them (the encoder's, for encoder-decoder models).
    blocks: attention stacks by name, the main one first ("self" or "encoder").
    hidden_states: (layers + 1, tokens, hidden), embeddings first, of the same stack as ``tokens``.
    sentence_b_start: index of the first token of the second sentence in a pair input, else None.
    summary_position: index in ``tokens`` of the token that summarises the input for this family
        (the first for encoders, the last for decoders; see ``FamilyFacts.summary_token``).
    token_count: tokens before truncation; truncated: True when the model's maximum cut the input.
    notices: short sentences for the user (truncation, removed characters, unknown tokens), as
        :class:`~xray.translation.Message` (English, drawn in the run's language).
    """

    model_name: str
    tokens: list[str]
    blocks: dict[str, AttentionBlock]
    hidden_states: np.ndarray
    sentence_b_start: int | None
    summary_position: int
    token_count: int
    truncated: bool
    notices: tuple[Message, ...] = field(default=())

    @property
    def main(self) -> AttentionBlock:
        return next(iter(self.blocks.values()))

    @property
    def summary_token(self) -> str:
        return self.tokens[self.summary_position]

    def table(self) -> pd.DataFrame:
        """One row per input token: position, token, special (True for [CLS], [SEP], ...), sentence (A or B)."""
        positions = np.arange(len(self.tokens))
        second = self.sentence_b_start if self.sentence_b_start is not None else len(self.tokens)
        return pd.DataFrame(
            {
                "position": positions,
                "token": self.tokens,
                "special": self.main.key_special_mask,
                "sentence": np.where(positions < second, "A", "B"),
            }
        )

    def to_json(self) -> str:
        """Tokens and every attention block, weights rounded to ``JSON_DECIMALS``."""
        return json_text(
            {
                "model": self.model_name,
                "tokens": self.tokens,
                "sentence_b_start": self.sentence_b_start,
                "truncated": self.truncated,
                "blocks": {
                    name: {
                        "shape": "(layers, heads, query, key)",
                        "query_tokens": block.query_tokens,
                        "key_tokens": block.key_tokens,
                        "attentions": np.round(block.attentions.astype(np.float64), JSON_DECIMALS),
                    }
                    for name, block in self.blocks.items()
                },
            },
            indent=None,
        )

    def to_npz(self) -> bytes:
        """A compressed NPZ: ``tokens``, ``hidden_states``, ``special_mask`` and ``<block>_attentions``
        (layers, heads, query, key)."""
        arrays = {f"{name}_attentions": block.attentions for name, block in self.blocks.items()}
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            tokens=np.array(self.tokens),
            hidden_states=self.hidden_states,
            special_mask=self.main.key_special_mask,
            **arrays,
        )
        return buffer.getvalue()


def _stack(attentions: tuple[torch.Tensor, ...] | None) -> np.ndarray:
    """(layers, heads, query, key) float32 from the per-layer (1, heads, query, key) tensors."""
    if not attentions or any(layer is None for layer in attentions):
        raise NoAttentionError(
            _(
                "This model returned no attention weights. Transformer X-Ray loads models with eager attention; "
                "a model built with SDPA or flash attention cannot show them."
            )
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


def _unknown_notice(loaded: LoadedModel, input_ids: torch.Tensor) -> list[Message]:
    unk = loaded.tokenizer.unk_token_id
    count = int((input_ids == unk).sum()) if unk is not None else 0
    if not count:
        return []
    return [
        counted(
            N_(
                "{count} piece of the input is unknown to this tokenizer and read as {unknown} (emoji or scripts "
                "outside its vocabulary)."
            ),
            N_(
                "{count} pieces of the input are unknown to this tokenizer and read as {unknown} (emoji or scripts "
                "outside its vocabulary)."
            ),
            count,
            unknown=loaded.tokenizer.unk_token,
        )
    ]


def _special_mask(loaded: LoadedModel, input_ids: torch.Tensor) -> np.ndarray:
    special = set(loaded.tokenizer.all_special_ids) - {loaded.tokenizer.unk_token_id}
    return np.array([int(token_id) in special for token_id in input_ids], dtype=bool)


def _summary_position(loaded: LoadedModel, tokens: int) -> int:
    return tokens - 1 if loaded.facts.summary_token == "last" else 0


def compute_attention(loaded: LoadedModel, text: str, text_b: str | None = None) -> AttentionResult:
    """Run ``loaded`` once on ``text`` and return its attention weights and hidden states.

    text_b: for encoder and decoder models, the second sentence of a pair input; for
        encoder-decoder models, the decoder's input (e.g. a translation), defaulting to ``text``.
    Input longer than the model maximum is truncated and the result says so.
    Raises ValueError for empty text and :class:`NoAttentionError` when the model gives no weights.
    """
    prepared = prepare_text(text)
    prepared_b = prepare_text(text_b, what=SECOND_TEXT) if text_b and text_b.strip() else None
    notices = list(prepared.notices) + (list(prepared_b.notices) if prepared_b else [])
    if loaded.family == "encoder-decoder":
        return _encoder_decoder_attention(loaded, prepared.text, prepared_b.text if prepared_b else None, notices)
    encoding, token_count, truncated = _encode(loaded, prepared.text, prepared_b.text if prepared_b else None)
    input_ids = encoding["input_ids"][0]
    if truncated:
        notices.append(
            Message(
                N_(
                    "The input has {count} tokens; this model reads at most {limit}, so the last {dropped} were "
                    "dropped."
                ),
                count=token_count,
                limit=loaded.max_length,
                dropped=token_count - len(input_ids),
            )
        )
    notices += _unknown_notice(loaded, input_ids)
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
        model_name=loaded.name,
        tokens=tokens,
        blocks={"self": block},
        hidden_states=torch.stack([state[0] for state in outputs.hidden_states]).float().cpu().numpy(),
        sentence_b_start=sentence_b_start,
        summary_position=_summary_position(loaded, len(tokens)),
        token_count=token_count,
        truncated=truncated,
        notices=tuple(notices),
    )


def _encoder_decoder_attention(
    loaded: LoadedModel, text: str, decoder_text: str | None, notices: list[Message]
) -> AttentionResult:
    start = loaded.model.config.decoder_start_token_id
    if start is None:
        raise ValueError(
            _("'{model}' does not say which token starts its decoder; it cannot be shown.").format(model=loaded.name)
        )
    encoding, token_count, truncated = _encode(loaded, text, None)
    decoder_encoding, _decoder_count, decoder_truncated = _encode(loaded, decoder_text or text, None)
    input_ids = encoding["input_ids"][0]
    decoder_ids = torch.cat([torch.tensor([start]), decoder_encoding["input_ids"][0]])[: loaded.max_length]
    if truncated or decoder_truncated:
        cut = N_("The input was cut to this model's maximum of {limit} tokens.")
        notices.append(Message(cut, limit=loaded.max_length))
    notices += _unknown_notice(loaded, input_ids)
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
        model_name=loaded.name,
        tokens=tokens,
        blocks=blocks,
        hidden_states=torch.stack([state[0] for state in outputs.encoder_hidden_states]).float().cpu().numpy(),
        sentence_b_start=None,
        summary_position=_summary_position(loaded, len(tokens)),
        token_count=token_count,
        truncated=truncated,
        notices=tuple(notices),
    )


@dataclass(frozen=True)
class HeadStatistics:
    """One (layers, heads) array per statistic named in :data:`STATISTICS`.

    to_previous and to_next are NaN for a one-token input, which has no neighbours.
    """

    entropy: np.ndarray
    to_first: np.ndarray
    to_special: np.ndarray
    to_self: np.ndarray
    to_previous: np.ndarray
    to_next: np.ndarray

    def table(self) -> pd.DataFrame:
        """One row per (layer, head), one column per statistic."""
        layers, heads = np.indices(self.entropy.shape)
        return pd.DataFrame(
            {"layer": layers.ravel(), "head": heads.ravel(), **{name: self.get(name).ravel() for name in STATISTICS}}
        )

    def to_json(self) -> str:
        """Each statistic as a (layers, heads) nested list, with its description; NaN as null."""
        return json_text({name: {"description": STATISTICS[name], "values": self.get(name)} for name in STATISTICS})

    def get(self, name: str) -> np.ndarray:
        if name not in STATISTICS:
            raise ValueError(f"Unknown statistic {name!r}; choose one of {', '.join(STATISTICS)}.")
        return getattr(self, name)


def _check_self_attention(attentions: np.ndarray) -> None:
    if attentions.ndim != 4 or attentions.shape[2] != attentions.shape[3]:
        raise ValueError(f"Expected self-attention of shape (layers, heads, tokens, tokens), got {attentions.shape}.")


def head_statistics(attentions: np.ndarray, special_mask: np.ndarray) -> HeadStatistics:
    """Summaries of ``attentions`` (layers, heads, tokens, tokens) per head.

    special_mask: (tokens,) True at special tokens.
    """
    _check_self_attention(attentions)
    tokens = attentions.shape[-1]
    if special_mask.shape != (tokens,):
        raise ValueError(f"special_mask must have shape ({tokens},), got {special_mask.shape}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(attentions > 0, attentions * np.log2(attentions), 0.0)
    diagonal = np.diagonal(attentions, axis1=2, axis2=3)
    previous = np.diagonal(attentions, offset=-1, axis1=2, axis2=3)
    following = np.diagonal(attentions, offset=1, axis1=2, axis2=3)
    nan = np.full(attentions.shape[:2], np.nan)
    return HeadStatistics(
        entropy=-plogp.sum(-1).mean(-1),
        to_first=attentions[..., 0].mean(-1),
        to_special=attentions[..., special_mask].sum(-1).mean(-1),
        to_self=diagonal.mean(-1),
        to_previous=previous.mean(-1) if tokens > 1 else nan,
        to_next=following.mean(-1) if tokens > 1 else nan,
    )


def attention_rollout(attentions: np.ndarray, residual_weight: float = 0.5) -> np.ndarray:
    """Attention rollout: how much each token's representation at a layer draws on each input token.

    Per layer the heads are averaged, the residual stream is added as
    ``residual_weight * I + (1 - residual_weight) * A`` and rows renormalised; the layers are
    then multiplied from the bottom up (Abnar & Zuidema 2020).

    attentions: (layers, heads, tokens, tokens). Returns (layers, tokens, tokens): entry
    ``[l, i, j]`` is the share of input token j in token i after layer l; rows sum to 1.
    """
    _check_self_attention(attentions)
    if not 0.0 <= residual_weight <= 1.0:
        raise ValueError(f"residual_weight must lie in [0, 1], got {residual_weight}.")
    tokens = attentions.shape[-1]
    mixed = residual_weight * np.eye(tokens) + (1.0 - residual_weight) * attentions.mean(axis=1, dtype=np.float64)
    mixed /= mixed.sum(axis=-1, keepdims=True)
    rollout = np.empty_like(mixed)
    running = np.eye(tokens)
    for layer, layer_matrix in enumerate(mixed):
        running = layer_matrix @ running
        rollout[layer] = running
    return rollout


@dataclass(frozen=True)
class Rollout:
    """Attention rollout of one input.

    tokens: (tokens,) the input tokens; shares: (layers, tokens, tokens), entry ``[l, i, j]`` the share of
    input token j in token i after layer l (rows sum to 1); source: the summary token's position, the row
    the page reads first.
    """

    tokens: list[str]
    shares: np.ndarray
    source: int

    def from_source(self, layer: int) -> np.ndarray:
        """(tokens,) how much of each input token the summary token holds after ``layer``."""
        if not 0 <= layer < self.shares.shape[0]:
            raise ValueError(f"layer must be in 0..{self.shares.shape[0] - 1}, got {layer}.")
        return self.shares[layer, self.source]

    def table(self) -> pd.DataFrame:
        """One row per (layer, input token): the summary token's share of that token after the layer."""
        layers, positions = np.indices(self.shares.shape[:2])
        return pd.DataFrame(
            {
                "layer": layers.ravel(),
                "position": positions.ravel(),
                "token": np.array(self.tokens)[positions.ravel()],
                "share": self.shares[:, self.source, :].ravel(),
            }
        )

    def to_json(self) -> str:
        return json_text(
            {
                "tokens": self.tokens,
                "source": self.source,
                "shape": "(layers, tokens, tokens)",
                "shares": np.round(self.shares, JSON_DECIMALS),
            },
            indent=None,
        )


def rollout(result: AttentionResult) -> Rollout:
    """Attention rollout of the main (self or encoder) stack, read from the summary token."""
    return Rollout(result.tokens, attention_rollout(result.main.attentions), result.summary_position)
