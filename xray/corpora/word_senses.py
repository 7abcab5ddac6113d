"""Word senses: short English sentences in which an ambiguous word is used in one marked sense.

The set was written for this project (it is not copied from any dataset) and is shipped with the repository
under the same license. Each row of ``data/word_senses.csv`` holds a word (``bank``), a short sense name
(``river`` or ``money``), one sentence using the word in that sense, and the character span ``start:end`` of the
one occurrence of the word in that sentence (an inflected form such as ``banks`` or a capitalised ``Bank``).
Every word has at least two clearly distinct senses with ten sentences each, so a technique can ask whether a
model's vectors for the same word form separate by meaning.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from xray.corpora.corpus import TEXT, Corpus

WORD_SENSES_FILE = Path(__file__).parent / "data" / "word_senses.csv"
FILE_COLUMNS = ("word", "sense", "text", "start", "end")
LABEL = "sense_label"
MIN_SENSES = 2
MIN_SENTENCES = 8
DESCRIPTION = (
    "Sentences written for Transformer X-Ray in which an ambiguous word (bank, bat, pitch, ...) "
    "is used in one of two or three senses; start:end marks the word in each sentence."
)


def _read(path: Path) -> pd.DataFrame:
    """The CSV as a table of the file's columns, offsets as ints; ValueError when a column is missing or bad."""
    table = pd.read_csv(path, dtype={"word": str, "sense": str, "text": str}, keep_default_na=False)
    missing = [column for column in FILE_COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(f"{path.name} lacks the columns {missing}; it needs {list(FILE_COLUMNS)}.")
    try:
        table[["start", "end"]] = table[["start", "end"]].astype(int)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path.name}: 'start' and 'end' must be whole numbers ({error}).") from error
    return table[list(FILE_COLUMNS)]


def _check_spans(table: pd.DataFrame, path: Path) -> None:
    """Raise ValueError naming the first rows whose text[start:end] is not a form of their word."""
    bad = []
    for row, (word, text, start, end) in enumerate(table[["word", "text", "start", "end"]].itertuples(index=False)):
        span = text[start:end] if 0 <= start < end <= len(text) else ""
        if not span.lower().startswith(word):
            bad.append(f"row {row + 2}: text[{start}:{end}] = {span!r} is not a form of {word!r}")
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ValueError(f"{path.name} has spans that do not mark their word: {shown}.")


def _check_counts(table: pd.DataFrame, path: Path) -> None:
    """Raise ValueError when a word has fewer than two senses or a sense fewer than eight sentences."""
    per_sense = table.groupby(["word", "sense"]).size()
    thin = [f"{word} ({sense}): {count}" for (word, sense), count in per_sense.items() if count < MIN_SENTENCES]
    if thin:
        raise ValueError(f"{path.name}: each sense needs at least {MIN_SENTENCES} sentences; {', '.join(thin)}.")
    senses = per_sense.groupby(level="word").size()
    lonely = sorted(senses[senses < MIN_SENSES].index)
    if lonely:
        names = ", ".join(lonely)
        raise ValueError(f"{path.name}: each word needs at least {MIN_SENSES} senses; only one for {names}.")


def load_word_senses(path: Path = WORD_SENSES_FILE) -> Corpus:
    """The word-sense sentences as a Corpus labelled by ``sense_label`` ("bank (river)").

    Columns: text, word, sense, sense_label, start, end (start/end: the target word's character span in text).
    Raises ValueError when the file is malformed: a missing column, a span that does not mark a form of its word,
    a word with a single sense or a sense with fewer than eight sentences.
    """
    table = _read(path)
    _check_spans(table, path)
    _check_counts(table, path)
    table[LABEL] = table["word"] + " (" + table["sense"] + ")"
    table = table[[TEXT, "word", "sense", LABEL, "start", "end"]].reset_index(drop=True)
    return Corpus(name="Word senses", table=table, label_column=LABEL, description=DESCRIPTION)


def senses_of(corpus: Corpus, word: str) -> list[str]:
    """The sorted sense labels of ``word`` in a word-sense corpus ([] when the word is not in it)."""
    rows = corpus.table[corpus.table["word"] == word]
    return sorted(rows[LABEL].unique().tolist())
