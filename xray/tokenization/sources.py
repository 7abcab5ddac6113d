"""Where a tokenizer comes from (a loaded model, another model's name, a local folder) and how it works, read from
its own definition (the ``tokenizer.json`` that the tokenizers library writes)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from tokenizers import Tokenizer
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from xray.models.loading import EMBEDDED_MODEL, LoadedModel, embedded_model_path
from xray.translation import N_, Message, _

Origin = Literal["model", "trained", "folder"]
ORIGIN_NAMES = {"model": N_("model"), "trained": N_("trained"), "folder": N_("folder")}
"""Each origin -> its name, drawn translated (the tables keep the English origin)."""
# Any one of these sets of files is enough for transformers to build a tokenizer.
TOKENIZER_FILES = (
    ("tokenizer.json",),
    ("vocab.txt",),
    ("vocab.json", "merges.txt"),
    ("spiece.model",),
    ("sentencepiece.bpe.model",),
    ("tokenizer.model",),
)
# transformers states "no limit" as a huge model_max_length.
NO_LIMIT = 1_000_000
# What each normaliser and pre-tokeniser step does, in words: kept as Messages by the cached facts, drawn translated.
NORMALISER_STEPS = {
    "Lowercase": N_("lower-casing"),
    "StripAccents": N_("accent stripping (é → e)"),
    "NFC": N_("Unicode NFC (é as one character)"),
    "NFD": N_("Unicode NFD (é as e + a combining accent)"),
    "NFKC": N_("Unicode NFKC (compatibility forms folded: ﬁ → fi, ² → 2)"),
    "NFKD": N_("Unicode NFKD (compatibility forms folded, accents split off)"),
    "Strip": N_("spaces stripped at both ends"),
    "Nmt": N_("control characters removed"),
    "Precompiled": N_("SentencePiece's precompiled rules (NFKC-like)"),
}
PRE_TOKENISER_STEPS = {
    "BertPreTokenizer": N_("split at spaces and around every punctuation mark"),
    "ByteLevel": N_("byte-level: every byte becomes a visible character (Ġ for a space), so nothing is unknown"),
    "Metaspace": N_("spaces become ▁, kept at the start of the next piece"),
    "Whitespace": N_("split into runs of letters and digits and runs of punctuation"),
    "WhitespaceSplit": N_("split at spaces"),
    "Punctuation": N_("punctuation split off"),
    "Digits": N_("digits split off"),
    "Split": N_("split by a pattern"),
    "UnicodeScripts": N_("split where the script changes"),
}


@dataclass(frozen=True)
class TokenizerSource:
    """One tokenizer to inspect or compare.

    name: how the page names it; origin: a model's own, trained here, or read from a local folder.
    tokenizer: without padding or truncation; shared by every session, so never mutate it.
    max_length: the most tokens its model reads (None for a trained tokenizer, which has no model).
    fingerprint: a hash of its whole definition, equal for equal tokenizers (a cache key).
    """

    name: str
    origin: Origin
    tokenizer: Tokenizer
    max_length: int | None
    fingerprint: str

    @cached_property
    def definition(self) -> dict:
        """The tokenizer's ``tokenizer.json``, parsed."""
        return json.loads(self.tokenizer.to_str())

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    @property
    def unknown_id(self) -> int | None:
        """Id of the token that stands for what the vocabulary cannot spell, or None (byte-level BPE needs none)."""
        model = self.definition["model"]
        if model["type"] == "Unigram":
            return model.get("unk_id")
        token = model.get("unk_token")
        return self.tokenizer.token_to_id(token) if token else None

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """Tokens the tokenizer adds or reserves itself ([CLS], [SEP], <s>, ...), never split."""
        return tuple(added["content"] for added in self.definition["added_tokens"] if added["special"])

    def to_json(self) -> str:
        """The tokenizer as a ``tokenizer.json`` file (``tokenizers.Tokenizer.from_file`` and transformers read it)."""
        return self.tokenizer.to_str(pretty=True)


def source_from(name: str, origin: Origin, tokenizer: Tokenizer, max_length: int | None) -> TokenizerSource:
    """A source holding a copy of ``tokenizer`` without padding or truncation (``tokenizer`` is left as it is)."""
    copy = Tokenizer.from_str(tokenizer.to_str())
    copy.no_padding()
    copy.no_truncation()
    fingerprint = hashlib.sha1(copy.to_str().encode("utf-8")).hexdigest()
    return TokenizerSource(name, origin, copy, max_length, fingerprint)


def _from_transformers(name: str, origin: Origin, tokenizer: PreTrainedTokenizerBase, max_length: int | None):
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ValueError(
            _(
                "The tokenizer of '{name}' ({kind}) is not built on the tokenizers library, which this page reads; "
                "pick a model with a tokenizer.json."
            ).format(name=name, kind=type(tokenizer).__name__)
        )
    return source_from(name, origin, backend, max_length)


def _stated_limit(tokenizer: PreTrainedTokenizerBase) -> int | None:
    return tokenizer.model_max_length if tokenizer.model_max_length < NO_LIMIT else None


def model_tokenizer(loaded: LoadedModel) -> TokenizerSource:
    """The tokenizer of the loaded model, with the model's maximum length."""
    return _from_transformers(loaded.name, "model", loaded.tokenizer, loaded.max_length)


def named_tokenizer(name: str) -> TokenizerSource:
    """Only the tokenizer of model ``name`` (the embedded default or a hub id): no weights are read."""
    location = str(embedded_model_path()) if name == EMBEDDED_MODEL else name
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=False)
    except OSError as error:
        raise ValueError(
            _(
                "Could not load the tokenizer of '{name}': the Hugging Face hub did not provide it (unknown id, or no "
                "internet). '{embedded}' and local folders work offline."
            ).format(name=name, embedded=EMBEDDED_MODEL)
        ) from error
    return _from_transformers(name, "model", tokenizer, _stated_limit(tokenizer))


def check_tokenizer_folder(folder: Path) -> None:
    """Raise ValueError unless ``folder`` is a folder holding one of the sets of files in :data:`TOKENIZER_FILES`."""
    if not folder.is_dir():
        raise ValueError(
            _("'{folder}' is not a folder on this machine: type the path of a folder holding a tokenizer.").format(
                folder=folder
            )
        )
    if not any(all((folder / name).is_file() for name in names) for names in TOKENIZER_FILES):
        raise ValueError(
            _(
                "'{folder}' holds no tokenizer: it needs tokenizer.json, or vocab.txt (WordPiece), or vocab.json with "
                "merges.txt (BPE), or spiece.model (SentencePiece)."
            ).format(folder=folder)
        )


def folder_tokenizer(path: str) -> TokenizerSource:
    """The tokenizer saved in the local folder ``path``; the hub is never asked. Raises ValueError with what is
    missing."""
    folder = Path(path.strip()).expanduser()
    check_tokenizer_folder(folder)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, trust_remote_code=False)
    except (OSError, ValueError, KeyError, TypeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            _(
                "The tokenizer files in '{folder}' could not be read ({reason}). A folder with only vocab.txt or "
                "vocab.json also needs the tokenizer_config.json that names its tokenizer class."
            ).format(folder=folder, reason=reason)
        ) from error
    return _from_transformers(folder.name or str(folder), "folder", tokenizer, _stated_limit(tokenizer))


def _flattened(node: dict | None, children: str) -> list[dict]:
    """The steps of a normaliser or pre-tokeniser definition, a ``Sequence`` opened into its parts."""
    if node is None:
        return []
    if node["type"] == "Sequence":
        return [step for child in node[children] for step in _flattened(child, children)]
    return [node]


def _bert_normaliser_steps(node: dict) -> list[str]:
    strip_accents = node.get("strip_accents")
    steps = [NORMALISER_STEPS["Nmt"]] if node.get("clean_text") else []
    steps += [N_("spaces around Chinese characters")] if node.get("handle_chinese_chars") else []
    stripped = node.get("lowercase") if strip_accents is None else strip_accents
    steps += [NORMALISER_STEPS["StripAccents"]] if stripped else []
    return steps + ([NORMALISER_STEPS["Lowercase"]] if node.get("lowercase") else [])


def _step(kind: str, names: dict[str, str]) -> str:
    """A step's words as a Message (drawn translated); a step this page does not know keeps its type's name."""
    return Message(names[kind]) if kind in names else kind


def normaliser_steps(source: TokenizerSource) -> tuple[str, ...]:
    """What the normaliser does to text before it is split, in words, in order (empty: the text is kept as is).
    Each step is a :class:`~xray.translation.Message` (English; drawn translated) or, unknown, its type's name."""
    steps: list[str] = []
    for node in _flattened(source.definition.get("normalizer"), "normalizers"):
        kind = node["type"]
        if kind == "BertNormalizer":
            steps += [Message(step) for step in _bert_normaliser_steps(node)]
        elif kind == "Replace":
            replaced = N_("{pattern} replaced by {content}")
            steps.append(Message(replaced, pattern=json.dumps(node["pattern"]), content=repr(node["content"])))
        elif kind == "Prepend":
            steps.append(Message(N_("{prepended} put in front"), prepended=repr(node["prepend"])))
        else:
            steps.append(_step(kind, NORMALISER_STEPS))
    return tuple(steps)


def pre_tokeniser_steps(source: TokenizerSource) -> tuple[str, ...]:
    """How the normalised text is cut into words before the vocabulary splits them, in words (Messages, as
    :func:`normaliser_steps`)."""
    nodes = _flattened(source.definition.get("pre_tokenizer"), "pretokenizers")
    return tuple(_step(node["type"], PRE_TOKENISER_STEPS) for node in nodes)


def is_byte_level(source: TokenizerSource) -> bool:
    nodes = _flattened(source.definition.get("pre_tokenizer"), "pretokenizers")
    return any(node["type"] == "ByteLevel" for node in nodes)


def algorithm(source: TokenizerSource) -> str:
    """WordPiece, BPE, byte-level BPE, Unigram or WordLevel."""
    kind = source.definition["model"]["type"]
    return f"byte-level {kind}" if is_byte_level(source) else kind


def piece_marker(source: TokenizerSource) -> Message:
    """How the pieces themselves show where a word starts or continues, in words (English; drawn translated)."""
    model = source.definition["model"]
    pre_tokenisers = {node["type"] for node in _flattened(source.definition.get("pre_tokenizer"), "pretokenizers")}
    if model.get("continuing_subword_prefix"):
        continuing = N_("a piece that continues a word starts with {mark}")
        return Message(continuing, mark=model["continuing_subword_prefix"])
    if model.get("end_of_word_suffix"):
        return Message(N_("a piece that ends a word ends with {mark}"), mark=model["end_of_word_suffix"])
    if "ByteLevel" in pre_tokenisers:
        return Message(N_("a piece that follows a space starts with Ġ (the space itself)"))
    if "Metaspace" in pre_tokenisers:
        return Message(N_("a piece that starts a word starts with ▁"))
    return Message(N_("none: the pieces carry no mark, so word starts are read from character positions"))
