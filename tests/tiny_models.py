"""Tiny random models built from configs in code, saved as local folders that ``load_model`` reads.

No weights or tokenizers are downloaded: each tokenizer is built here from a small word list.
"""

from __future__ import annotations

import string
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
    BertTokenizer,
    DistilBertConfig,
    DistilBertModel,
    GPT2Config,
    GPT2LMHeadModel,
    GPT2TokenizerFast,
    PreTrainedModel,
    RobertaConfig,
    RobertaModel,
    T5Config,
    T5ForConditionalGeneration,
)

WORDS = [
    "the",
    "a",
    "an",
    "animal",
    "street",
    "cross",
    "didn",
    "'",
    "t",
    "because",
    "it",
    "was",
    "too",
    "tired",
    "bank",
    "river",
    "money",
    "she",
    "he",
    "sat",
    "on",
    "and",
    "read",
    "letter",
    "from",
    "her",
    "about",
    "loan",
    "trophy",
    "fit",
    "in",
    "suitcase",
    "big",
    "keys",
    "to",
    "cabinet",
    "are",
    "table",
    "film",
    "not",
    "good",
    "but",
    "music",
    "bad",
    "at",
    "all",
    "of",
    "is",
    ",",
    ".",
    "!",
    "?",
    "hello",
    "world",
]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SIZES = {"hidden": 32, "layers": 2, "heads": 4, "intermediate": 37, "positions": 64}


def _wordpiece_tokenizer() -> BertTokenizer:
    """A BERT tokenizer over WORDS plus single characters, so most English splits into known pieces."""
    pieces = list(string.ascii_lowercase + string.digits) + [f"##{char}" for char in string.ascii_lowercase]
    vocab = SPECIAL + sorted(set(WORDS)) + [piece for piece in pieces if piece not in WORDS]
    return BertTokenizer(vocab={piece: index for index, piece in enumerate(vocab)}, model_max_length=SIZES["positions"])


def _byte_level_tokenizer() -> GPT2TokenizerFast:
    """A GPT-2 style byte-level BPE tokenizer trained on WORDS."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator([" ".join(WORDS)] * 4, trainer=trainer)
    return GPT2TokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        model_max_length=SIZES["positions"],
    )


def _save(model: PreTrainedModel, tokenizer, folder: Path) -> Path:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _bert_like_sizes(vocab_size: int) -> dict:
    return {
        "vocab_size": vocab_size,
        "hidden_size": SIZES["hidden"],
        "num_hidden_layers": SIZES["layers"],
        "num_attention_heads": SIZES["heads"],
        "intermediate_size": SIZES["intermediate"],
        "max_position_embeddings": SIZES["positions"],
    }


def tiny_bert(folder: Path) -> Path:
    torch.manual_seed(0)
    tokenizer = _wordpiece_tokenizer()
    return _save(BertModel(BertConfig(**_bert_like_sizes(len(tokenizer)))), tokenizer, folder)


def tiny_roberta(folder: Path) -> Path:
    torch.manual_seed(0)
    tokenizer = _wordpiece_tokenizer()
    sizes = _bert_like_sizes(len(tokenizer)) | {"max_position_embeddings": SIZES["positions"] + 2, "pad_token_id": 0}
    return _save(RobertaModel(RobertaConfig(**sizes)), tokenizer, folder)


def tiny_distilbert(folder: Path) -> Path:
    torch.manual_seed(0)
    tokenizer = _wordpiece_tokenizer()
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=SIZES["hidden"],
        n_layers=SIZES["layers"],
        n_heads=SIZES["heads"],
        hidden_dim=SIZES["intermediate"],
        max_position_embeddings=SIZES["positions"],
    )
    return _save(DistilBertModel(config), tokenizer, folder)


def tiny_gpt2(folder: Path, layers: int = SIZES["layers"]) -> Path:
    torch.manual_seed(0)
    tokenizer = _byte_level_tokenizer()
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=SIZES["hidden"],
        n_layer=layers,
        n_head=SIZES["heads"],
        n_positions=SIZES["positions"],
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return _save(GPT2LMHeadModel(config), tokenizer, folder)


def tiny_t5(folder: Path) -> Path:
    torch.manual_seed(0)
    tokenizer = _wordpiece_tokenizer()
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=SIZES["hidden"],
        d_kv=8,
        d_ff=SIZES["intermediate"],
        num_layers=SIZES["layers"],
        num_heads=SIZES["heads"],
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=3,
    )
    return _save(T5ForConditionalGeneration(config), tokenizer, folder)


def tiny_bart(folder: Path) -> Path:
    torch.manual_seed(0)
    tokenizer = _wordpiece_tokenizer()
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=SIZES["hidden"],
        encoder_layers=SIZES["layers"],
        decoder_layers=SIZES["layers"],
        encoder_attention_heads=SIZES["heads"],
        decoder_attention_heads=SIZES["heads"],
        encoder_ffn_dim=SIZES["intermediate"],
        decoder_ffn_dim=SIZES["intermediate"],
        max_position_embeddings=SIZES["positions"],
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
        decoder_start_token_id=3,
    )
    return _save(BartForConditionalGeneration(config), tokenizer, folder)


BUILDERS = {
    "bert": tiny_bert,
    "roberta": tiny_roberta,
    "distilbert": tiny_distilbert,
    "gpt2": tiny_gpt2,
    "t5": tiny_t5,
    "bart": tiny_bart,
}


def tiny_bert_classifier(folder: Path, labels: tuple[str, ...] = ("negative", "positive")) -> Path:
    """A tiny BERT with a sequence-classification head, as a hub classifier would be saved."""
    torch.manual_seed(0)
    tokenizer = _wordpiece_tokenizer()
    config = BertConfig(
        **_bert_like_sizes(len(tokenizer)),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
    )
    return _save(BertForSequenceClassification(config), tokenizer, folder)


def tiny_bert_mlm(folder: Path) -> Path:
    """A tiny BERT with a masked-LM head (random weights: its predictions are a distribution, not sense)."""
    torch.manual_seed(0)
    tokenizer = _wordpiece_tokenizer()
    return _save(BertForMaskedLM(BertConfig(**_bert_like_sizes(len(tokenizer)))), tokenizer, folder)
