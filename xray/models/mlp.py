"""MLP neuron activations, after the nonlinearity, read by forward hooks on the model's MLP output projections.

A neuron (Bills et al. 2023) is one unit of an MLP's hidden layer: its activation is the input of the MLP's
output projection, act(x·W_in) (for gated MLPs such as Llama's or T5 v1.1's, act(x·W_gate) ⊙ x·W_up). Hooking
the projection's input reads it for every family with one rule per family; for encoder-decoder models only the
encoder is read, as the activation store does.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from xray.models.loading import LoadedModel
from xray.translation import _

OUTPUT_PROJECTIONS = {
    "bert": r"encoder\.layer\.(\d+)\.output\.dense",
    "roberta": r"encoder\.layer\.(\d+)\.output\.dense",
    "xlm-roberta": r"encoder\.layer\.(\d+)\.output\.dense",
    "electra": r"encoder\.layer\.(\d+)\.output\.dense",
    "distilbert": r"transformer\.layer\.(\d+)\.ffn\.lin2",
    "gpt2": r"h\.(\d+)\.mlp\.c_proj",
    "t5": r"encoder\.block\.(\d+)\.layer\.1\.DenseReluDense\.wo",
    "bart": r"encoder\.layers\.(\d+)\.fc2",
    "llama": r"layers\.(\d+)\.mlp\.down_proj",
    "mistral": r"layers\.(\d+)\.mlp\.down_proj",
    "qwen2": r"layers\.(\d+)\.mlp\.down_proj",
    "gemma3_text": r"layers\.(\d+)\.mlp\.down_proj",
}
"""Per model type, the names of the modules whose input is the MLP activation (layer number captured)."""


def mlp_modules(loaded: LoadedModel) -> list[torch.nn.Module]:
    """Per layer, the module whose input is the MLP activation; ValueError where the family cannot be read."""
    pattern = OUTPUT_PROJECTIONS.get(loaded.model_type)
    if pattern is None:
        raise ValueError(
            _(
                "MLP neurons of '{model_type}' models cannot be read here: their MLP is not in the table of supported "
                "families ({families}). Pick a model of one of those."
            ).format(model_type=loaded.model_type, families=", ".join(sorted(OUTPUT_PROJECTIONS)))
        )
    found = {}
    for name, module in loaded.model.named_modules():
        matched = re.search(rf"(?:^|\.){pattern}$", name)
        if matched:
            found[int(matched.group(1))] = module
    if sorted(found) != list(range(len(found))) or not found:
        raise ValueError(
            _("The MLP layers of '{model}' are not where {model_type} models keep them.").format(
                model=loaded.name, model_type=loaded.model_type
            )
        )
    return [found[layer] for layer in range(len(found))]


def mlp_width(loaded: LoadedModel) -> int:
    """Neurons per layer: the input width of the MLP's output projection."""
    module = mlp_modules(loaded)[0]
    weight = module.weight
    return int(weight.shape[0] if type(module).__name__ == "Conv1D" else weight.shape[1])


@contextmanager
def captured_mlp(loaded: LoadedModel, layers: list[int]) -> Iterator[dict[int, torch.Tensor]]:
    """While the block runs, each forward pass of this thread puts the MLP activations of ``layers`` into the
    yielded dict: ``captured[layer]`` is (batch, sequence, neurons). The model is shared by every session, so
    passes run by other threads meanwhile are ignored. The hooks are removed when the block ends."""
    modules = mlp_modules(loaded)
    for layer in layers:
        if not 0 <= layer < len(modules):
            raise ValueError(
                _("Layer {layer} does not exist: this model has layers 0 to {last}.").format(
                    layer=layer, last=len(modules) - 1
                )
            )
    captured: dict[int, torch.Tensor] = {}
    handles = []
    owner = threading.get_ident()
    try:
        for layer in layers:

            def keep(_module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], layer: int = layer) -> None:
                if threading.get_ident() == owner:  # the model is shared: other sessions' passes are not ours
                    captured[layer] = inputs[0]

            handles.append(modules[layer].register_forward_pre_hook(keep))
        yield captured
    finally:
        for handle in handles:
            handle.remove()
