"""Uploads: one test per rule of xray.corpora.uploads (limits, encodings, parsing, columns, labels, cleaning)."""

from __future__ import annotations

import pytest

from xray.corpora.corpus import Corpus
from xray.corpora.uploads import (
    MAX_ROWS,
    MAX_TEXT_CHARS,
    MAX_UPLOAD_BYTES,
    UploadedTable,
    corpus_from_upload,
    read_upload,
)

REVIEWS = (
    "review,sentiment,stars,city\n"
    '"Great food, friendly staff",pos,5,Paris\n'
    "Cold soup and a long wait,neg,1,Lyon\n"
    "Would come back again,pos,4,Nice\n"
)


def _csv(text: str, name: str = "reviews.csv") -> UploadedTable:
    return read_upload(text.encode("utf-8"), name)


def test_happy_path_builds_a_labelled_corpus_with_metadata():
    uploaded = _csv(REVIEWS)
    assert uploaded.kind == "csv" and uploaded.notices == ()
    assert uploaded.text_columns == ("review", "sentiment", "city")
    corpus, notices = corpus_from_upload(uploaded, "review", "sentiment")
    assert isinstance(corpus, Corpus) and notices == ()
    assert corpus.name == "upload: reviews.csv"
    assert corpus.texts == ["Great food, friendly staff", "Cold soup and a long wait", "Would come back again"]
    assert corpus.label_column == "sentiment" and corpus.labels == ["pos", "neg", "pos"]
    assert list(corpus.table.columns) == ["text", "sentiment", "stars", "city"]
    assert corpus.table["stars"].tolist() == [5, 1, 4] and corpus.table["city"].tolist() == ["Paris", "Lyon", "Nice"]
    assert "'review'" in corpus.description


def test_fingerprint_changes_when_one_text_changes():
    first, _ = corpus_from_upload(_csv(REVIEWS), "review", "sentiment")
    again, _ = corpus_from_upload(_csv(REVIEWS), "review", "sentiment")
    changed, _ = corpus_from_upload(_csv(REVIEWS.replace("long wait", "short wait")), "review", "sentiment")
    assert first.fingerprint == again.fingerprint
    assert first.fingerprint != changed.fingerprint


def test_no_label_column_gives_an_unlabelled_corpus():
    corpus, _ = corpus_from_upload(_csv(REVIEWS), "review")
    assert corpus.label_column is None and corpus.labels is None
    assert list(corpus.table.columns) == ["text", "sentiment", "stars", "city"]


def test_empty_file_is_refused():
    with pytest.raises(ValueError, match=r"notes\.txt is empty"):
        read_upload(b"", "notes.txt")


def test_blank_file_is_refused():
    with pytest.raises(ValueError, match="only blank space"):
        read_upload(b" \n\n\t\n", "notes.txt")


def test_file_over_the_limit_is_refused_with_size_and_limit():
    data = b"a" * (MAX_UPLOAD_BYTES + 1)
    with pytest.raises(ValueError, match=r"is 5,000,001 bytes .*the limit is 5,000,000 bytes"):
        read_upload(data, "big.txt")


@pytest.mark.parametrize("name", ["notes.pdf", "table.xlsx", "README", "data.csv.gz"])
def test_other_extensions_are_refused(name):
    with pytest.raises(ValueError, match=r"upload a \.txt file .* or a \.csv file"):
        read_upload(b"hello", name)


def test_extension_is_case_insensitive():
    assert read_upload(b"hello\n", "NOTES.TXT").kind == "txt"
    assert read_upload(b"text\nhello\n", "Data.CsV").kind == "csv"


@pytest.mark.parametrize("data", [b"PK\x03\x04\x00\x00binary", bytes(range(1, 9)) * 100])
def test_binary_content_is_refused(data):
    with pytest.raises(ValueError, match="looks like a binary file"):
        read_upload(data, "data.csv")


def test_non_utf8_falls_back_to_cp1252_with_a_notice():
    uploaded = read_upload("café au lait\nnaïve “quotes”\n".encode("cp1252"), "menu.txt")
    assert uploaded.table["text"].tolist() == ["café au lait", "naïve “quotes”"]
    assert len(uploaded.notices) == 1
    assert "not valid UTF-8" in uploaded.notices[0] and "cp1252" in uploaded.notices[0]


def test_bytes_undefined_in_cp1252_fall_back_to_latin1_with_a_notice():
    uploaded = read_upload(b"caf\xe9\x81 ok\n", "menu.txt")
    assert "Latin-1" in uploaded.notices[0]
    corpus, notices = corpus_from_upload(uploaded, "text")
    assert corpus.texts == ["café ok"]
    assert notices == ("Removed 1 control character from 1 text.",)


def test_utf8_byte_order_mark_is_dropped_silently():
    uploaded = read_upload("\ufefftext,label\nhéllo,a\nwörld,b\n".encode(), "bom.csv")
    assert list(uploaded.table.columns) == ["text", "label"] and uploaded.notices == ()
    assert uploaded.table["text"].tolist() == ["héllo", "wörld"]
    lines = read_upload("\ufeffhéllo\n".encode(), "bom.txt")
    assert lines.table["text"].tolist() == ["héllo"] and lines.notices == ()


def test_txt_gives_one_stripped_text_per_non_blank_line():
    uploaded = read_upload(b"  first line  \r\n\r\n   \nsecond, with comma\n\n", "lines.txt")
    assert uploaded.kind == "txt" and uploaded.text_columns == ("text",)
    corpus, notices = corpus_from_upload(uploaded, "text")
    assert corpus.texts == ["first line", "second, with comma"] and notices == ()
    assert corpus.description == "One text per line of the uploaded file lines.txt."


def test_csv_semicolon_delimiter_is_sniffed():
    uploaded = _csv("sentence;topic\nHello, world;greeting\nTaxes rise, again;money\n", "semi.csv")
    assert list(uploaded.table.columns) == ["sentence", "topic"]
    assert uploaded.table["sentence"].tolist() == ["Hello, world", "Taxes rise, again"]
    assert uploaded.notices == ("Read semi.csv with columns separated by semicolons.",)


def test_csv_tab_delimiter_is_sniffed():
    uploaded = _csv("text\tlabel\nHello, world\ta\nBye; now\tb\n", "tabs.csv")
    assert uploaded.table["label"].tolist() == ["a", "b"]


def test_one_column_csv_keeps_commas_inside_texts():
    uploaded = _csv("text\nHello, world\nBye\n")
    assert uploaded.table["text"].tolist() == ["Hello, world", "Bye"]


def test_csv_that_fails_to_parse_gives_a_clear_message():
    with pytest.raises(ValueError, match=r"Could not read bad\.csv as CSV .*Expected 2 fields"):
        _csv("a,b\nx,y\n1,2,3,4\n", "bad.csv")


def test_csv_rows_wider_than_the_header_are_refused():
    with pytest.raises(ValueError, match="more fields than the header"):
        _csv("a,b\nx,y,z\n1,2,3\n", "wide.csv")


def test_csv_with_a_header_only_is_refused():
    with pytest.raises(ValueError, match="no data rows"):
        _csv("text,label\n")


def test_csv_without_text_columns_is_refused():
    with pytest.raises(ValueError, match=r"No column of nums\.csv holds text .*'a', 'b'"):
        _csv("a,b\n1,2\n3,4\n", "nums.csv")


def test_likely_text_column_comes_first():
    uploaded = _csv("id,title,body,topic\n1,Short,A much longer body of text,x\n2,Tiny,Another long body here,y\n")
    assert uploaded.text_columns == ("body", "title", "topic")
    assert _csv("note,Text\nlong long long note,hi\n").text_columns == ("Text", "note")


def test_missing_text_column_lists_the_columns():
    with pytest.raises(ValueError, match=r"no column 'comment' .*'review', 'sentiment', 'stars', 'city'"):
        corpus_from_upload(_csv(REVIEWS), "comment")


def test_missing_label_column_lists_the_columns():
    with pytest.raises(ValueError, match=r"no column 'mood' .*'review', 'sentiment'"):
        corpus_from_upload(_csv(REVIEWS), "review", "mood")


def test_numeric_column_is_refused_as_text():
    with pytest.raises(ValueError, match=r"'stars' .* not text; pick one of: 'review', 'sentiment', 'city'"):
        corpus_from_upload(_csv(REVIEWS), "stars")


def test_label_column_equal_to_text_column_is_refused():
    with pytest.raises(ValueError, match="must differ from the text column 'review'"):
        corpus_from_upload(_csv(REVIEWS), "review", "review")


def test_one_class_label_is_refused():
    uploaded = _csv("text,label\nfirst,a\nsecond,a\nthird,\n")
    with pytest.raises(ValueError, match=r"needs at least two classes .*'a': pick another column or none"):
        corpus_from_upload(uploaded, "text", "label")


def test_rows_with_missing_labels_are_dropped_with_a_notice():
    corpus, notices = corpus_from_upload(_csv("text,label\nfirst,a\nsecond,\nthird,b\n"), "text", "label")
    assert corpus.texts == ["first", "third"] and corpus.labels == ["a", "b"]
    assert notices == ("Dropped 1 row with no label in column 'label'.",)


def test_na_words_are_values_not_missing():
    corpus, notices = corpus_from_upload(_csv("text,region\nNone,NA\nnull,EU\n"), "text", "region")
    assert corpus.texts == ["None", "null"] and corpus.labels == ["NA", "EU"] and notices == ()


def test_empty_texts_are_dropped_with_a_notice():
    uploaded = _csv('text,label\nfirst,a\n,b\n"   ",a\n"\x01\x02",b\nlast,b\n')
    corpus, notices = corpus_from_upload(uploaded, "text", "label")
    assert corpus.texts == ["first", "last"] and corpus.labels == ["a", "b"]
    assert notices == ("Dropped 3 rows with no text in column 'text'.",)


def test_too_many_rows_are_refused_with_count_limit_and_command_line():
    data = "\n".join(f"text number {index}" for index in range(MAX_ROWS + 1)).encode()
    uploaded = read_upload(data, "many.txt")
    with pytest.raises(ValueError, match=r"5,001 texts; the app takes at most 5,000\. .*python -m xray index"):
        corpus_from_upload(uploaded, "text")


def test_exactly_max_rows_is_accepted():
    data = "\n".join(f"text number {index}" for index in range(MAX_ROWS)).encode()
    corpus, _ = corpus_from_upload(read_upload(data, "many.txt"), "text")
    assert len(corpus) == MAX_ROWS


def test_long_texts_are_cut_with_a_notice():
    long_text = "word " * 400  # 2,000 characters; 1,999 once stripped
    uploaded = read_upload(f"short\n{long_text}\n{'x' * MAX_TEXT_CHARS}\n".encode(), "long.txt")
    corpus, notices = corpus_from_upload(uploaded, "text")
    assert [len(text) for text in corpus.texts] == [5, 999, MAX_TEXT_CHARS]  # cut at 1,000, trailing space dropped
    assert notices == ("Cut 1 text longer than 1,000 characters to their first 1,000 (the longest had 1,999).",)


def test_control_characters_are_removed_with_a_notice():
    corpus, notices = corpus_from_upload(_csv('text\n"tab\there\x07 bell\x1b"\nplain\n'), "text")
    assert corpus.texts == ["tab\there bell", "plain"]
    assert notices == ("Removed 2 control characters from 1 text.",)


def test_non_string_labels_become_strings():
    corpus, notices = corpus_from_upload(_csv("text,year\none,2020\ntwo,\nthree,2021\nfour,2020\n"), "text", "year")
    assert corpus.labels == ["2020", "2021", "2020"]
    assert corpus.table["year"].tolist() == ["2020", "2021", "2020"]
    assert notices == ("Dropped 1 row with no label in column 'year'.",)
    booleans, _ = corpus_from_upload(_csv("text,spam\none,True\ntwo,False\n"), "text", "spam")
    assert booleans.labels == ["True", "False"]


def test_other_text_column_is_renamed_text_original():
    uploaded = _csv("text,cleaned,label\nRAW one!!,raw one,a\nRAW two!!,raw two,b\n")
    corpus, notices = corpus_from_upload(uploaded, "cleaned", "label")
    assert list(corpus.table.columns) == ["text", "label", "text_original"]
    assert corpus.texts == ["raw one", "raw two"]
    assert corpus.table["text_original"].tolist() == ["RAW one!!", "RAW two!!"]
    assert notices == ("The file's own 'text' column is kept as 'text_original'; the texts come from 'cleaned'.",)


def test_text_original_taken_and_text_as_label():
    uploaded = _csv("text,text_original,body\na,x,first body\nb,y,second body\n")
    corpus, _ = corpus_from_upload(uploaded, "body", "text")
    assert list(corpus.table.columns) == ["text", "text_original_2", "text_original"]
    assert corpus.label_column == "text_original_2" and corpus.labels == ["a", "b"]
