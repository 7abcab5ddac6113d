"""Run a model over many texts fast: unique texts only, sorted by length, padded per batch.

SHAP and LIME send thousands of perturbed texts in one call, many of them repeated; this
module tokenizes each distinct text once, groups texts of similar length so little padding
is computed, and scatters the outputs back to the caller's order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from xray.models.loading import LoadedModel
from xray.progress import Progress


@dataclass(frozen=True)
class InferenceSettings:
    """How to run a batch job.

    batch_size: texts per forward pass.
    bf16: run under bfloat16 autocast (faster on CPUs with AVX-512 BF16/AMX and on recent GPUs;
        probabilities then differ slightly from float32, see bench/explainers.py).
    max_length: tokens per text at most (longer texts are truncated); never more than the model's maximum.
    """

    batch_size: int = 64
    bf16: bool = False
    max_length: int | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}.")
        if self.max_length is not None and self.max_length < 2:
            raise ValueError(f"max_length must be at least 2 tokens, got {self.max_length}.")


def bf16_is_fast(device: torch.device) -> bool:
    """True where bfloat16 matmuls run natively: AVX-512 BF16 or AMX CPUs, GPUs with bf16 support."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def pad_batch(sequences: list[list[int]], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids`` and ``attention_mask``, (batch, longest)."""
    longest = max(len(ids) for ids in sequences)
    input_ids = torch.full((len(sequences), longest), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), longest), dtype=torch.long)
    for row, ids in enumerate(sequences):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        attention_mask[row, : len(ids)] = 1
    return {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}


def hidden_states(loaded: LoadedModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Per level (batch, sequence, hidden), embeddings first: the encoder's for encoder-decoder models, else the
    model's."""
    if loaded.family == "encoder-decoder":
        return loaded.model.get_encoder()(**batch, output_hidden_states=True).hidden_states
    return loaded.model(**batch, output_hidden_states=True).hidden_states


def run_batched(
    loaded: LoadedModel,
    texts: Sequence[str],
    forward: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    settings: InferenceSettings | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """``forward`` applied to every text, as float32 rows in the order of ``texts``: (n, ...).

    forward: takes a right-padded batch (input_ids, attention_mask on the model's device) and
        returns one row per text, e.g. (batch, classes) probabilities.
    """
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of strings, not one string.")
    if len(texts) == 0:
        raise ValueError("No texts to run.")
    settings = settings or InferenceSettings()
    unique = list(dict.fromkeys(texts))
    max_length = min(settings.max_length or loaded.max_length, loaded.max_length)
    encodings = loaded.tokenizer(list(unique), truncation=True, max_length=max_length)
    lengths = np.array([len(ids) for ids in encodings["input_ids"]])
    order = np.argsort(lengths, kind="stable")
    rows: list[np.ndarray | None] = [None] * len(unique)
    pad_id = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else 0
    autocast = torch.autocast(loaded.device.type, dtype=torch.bfloat16, enabled=settings.bf16)
    with torch.inference_mode(), autocast:
        for start in range(0, len(order), settings.batch_size):
            chunk = order[start : start + settings.batch_size]
            batch = pad_batch([encodings["input_ids"][index] for index in chunk], pad_id, loaded.device)
            output = forward(batch)
            for index, row in zip(chunk, output.float().cpu().numpy(), strict=True):
                rows[index] = row
            if progress is not None:
                progress(min(start + settings.batch_size, len(order)), len(order))
    position = {text: index for index, text in enumerate(unique)}
    return np.stack(rows)[[position[text] for text in texts]]
