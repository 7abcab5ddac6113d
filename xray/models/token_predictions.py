"""What the model itself predicts at one token, beside its neighbours (as exBERT shows): the masked-token
prediction of a masked-LM head, the next-token prediction of a causal LM, or a plain reason why neither exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
import torch

from xray.models.loading import LoadedModel
from xray.results import json_text
from xray.text import pretty_token
from xray.translation import _

PredictionKind = Literal["masked", "next"]
MASKED_LM_EXAMPLE = "bert-base-uncased"


@dataclass(frozen=True)
class TokenPredictions:
    """kind: "masked" (the token replaced by the mask and predicted back) or "next" (the token after it).
    position: the token's index in the model's input; token: the token there.
    candidates: token, probability; the ``k`` most likely, best first.
    """

    kind: PredictionKind
    position: int
    token: str
    candidates: pd.DataFrame

    @property
    def rank_of_original(self) -> int | None:
        """For masked predictions, the 1-based rank of the original token among the candidates, else None."""
        if self.kind != "masked":
            return None
        matches = (self.candidates["token"] == pretty_token(self.token)).to_numpy().nonzero()[0]
        return int(matches[0]) + 1 if len(matches) else None

    def table(self) -> pd.DataFrame:
        return self.candidates.copy()

    def to_json(self) -> str:
        return json_text(
            {
                "kind": self.kind,
                "position": self.position,
                "token": self.token,
                "candidates": self.candidates.to_dict(orient="records"),
            }
        )


def prediction_support(loaded: LoadedModel) -> str | None:
    """None where :func:`predict_token` works for ``loaded``, else one plain sentence saying why not, in the run's
    language."""
    if loaded.task_head in ("masked-lm", "causal-lm"):
        return None
    return _(
        "'{model}' has no language-model head (it was loaded with {head}), so it cannot say which token it expects "
        "here. A model with a masked-LM head, such as {example}, can."
    ).format(model=loaded.name, head=repr(loaded.task_head), example=MASKED_LM_EXAMPLE)


def predict_token(loaded: LoadedModel, text: str, position: int, k: int = 10) -> TokenPredictions:
    """The ``k`` most likely tokens at ``position`` of ``text`` (masked LM) or after it (causal LM).

    Positions count the model's input tokens, special tokens included, as the Attention page shows them.
    Raises ValueError when the model has no language-model head or the position is out of range.
    """
    reason = prediction_support(loaded)
    if reason is not None:
        raise ValueError(reason)
    encoding = loaded.tokenizer(text, truncation=True, max_length=loaded.max_length, return_tensors="pt")
    input_ids = encoding["input_ids"].clone()
    if not 0 <= position < input_ids.shape[1]:
        raise ValueError(
            _("Token {position} is out of range: the text has {count} tokens.").format(
                position=position, count=input_ids.shape[1]
            )
        )
    original = loaded.tokenizer.convert_ids_to_tokens(int(input_ids[0, position]))
    kind: PredictionKind = "masked" if loaded.task_head == "masked-lm" else "next"
    if kind == "masked":
        input_ids[0, position] = loaded.tokenizer.mask_token_id
    with torch.inference_mode():
        logits = loaded.model(
            input_ids=input_ids.to(loaded.device), attention_mask=encoding["attention_mask"].to(loaded.device)
        ).logits
    probabilities = torch.softmax(logits[0, position].float(), dim=-1)
    top = torch.topk(probabilities, min(k, probabilities.numel()))
    candidates = pd.DataFrame(
        {
            "token": [pretty_token(token) for token in loaded.tokenizer.convert_ids_to_tokens(top.indices.tolist())],
            "probability": top.values.cpu().numpy().round(4),
        }
    )
    return TokenPredictions(kind, position, original, candidates)
