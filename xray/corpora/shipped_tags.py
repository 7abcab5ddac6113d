"""spaCy's word tags of the built-in corpora, shipped with the package so that no visitor waits for spaCy on them.

Tags depend on a text alone (spaCy tags every text of ``nlp.pipe`` on its own), not on the model or on the
corpus around it, so :data:`SHIPPED_TAGS` holds the words of every distinct text of the built-in corpora, keyed by
a digest of the text (:func:`text_digest`). :func:`known_tags` answers the texts it holds; the store tags only the
others. The file records the spaCy pipeline that tagged it and is used only under that same pipeline.

Rebuild it with ``python -m xray tags`` after a built-in corpus or the pipeline changes (about 20 s here);
``tests/test_linguistics.py`` checks it against spaCy on a sample of its texts.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xray.cache import write_atomically
from xray.corpora.linguistics import PIPELINE_PACKAGE, TAG_COLUMNS, WordTags, tag_texts
from xray.progress import Progress

SHIPPED_TAGS = Path(__file__).parent / "data" / "builtin_tags.parquet"
PIPELINE_KEY = b"spacy_pipeline"


def text_digest(text: str) -> str:
    """16 hex digits naming a text's exact characters."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_shipped_tags(texts: Iterable[str], path: Path = SHIPPED_TAGS, progress: Progress | None = None) -> int:
    """Tag every distinct text of ``texts`` with spaCy and write the table to ``path``; returns the texts tagged.

    Columns: digest (of the text), start, end (the word's characters), pos, dep, ent; one row per word, a text's
    words consecutive and in order."""
    distinct = sorted(set(texts))
    tagged = tag_texts(distinct, batch_size=32, progress=progress)
    digests = [text_digest(text) for text, words in zip(distinct, tagged, strict=True) for _ in words]
    words = [word for text_words in tagged for word in text_words]
    table = pa.table(
        {
            "digest": pa.array(digests).dictionary_encode(),
            "start": pa.array([word.start for word in words], pa.int32()),
            "end": pa.array([word.end for word in words], pa.int32()),
            **{name: pa.array([getattr(word, name) for word in words]).dictionary_encode() for name in TAG_COLUMNS},
        }
    ).replace_schema_metadata({PIPELINE_KEY: PIPELINE_PACKAGE.encode()})
    write_atomically(path, lambda temporary: pq.write_table(table, temporary, compression="zstd"))
    return len(distinct)


@functools.cache
def _shipped(path: Path) -> dict[str, list[WordTags]]:
    """The shipped table as {digest: words}; empty when the file is absent or from another spaCy pipeline."""
    if not path.is_file():
        return {}
    table = pq.read_table(path)
    if (table.schema.metadata or {}).get(PIPELINE_KEY) != PIPELINE_PACKAGE.encode():
        return {}
    digests, digest_names = _codes(table.column("digest"))
    columns = [table.column("start").to_pylist(), table.column("end").to_pylist()]
    for name in TAG_COLUMNS:
        codes, names = _codes(table.column(name))
        columns.append([names[code] for code in codes.tolist()])
    words = [WordTags(*values) for values in zip(*columns, strict=True)]
    bounds = (np.flatnonzero(digests[1:] != digests[:-1]) + 1).tolist()
    return {
        digest_names[digests[first]]: words[first:last]
        for first, last in zip([0, *bounds], [*bounds, len(words)], strict=True)
    }


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """A dictionary-encoded column as (codes per row, the dictionary's strings)."""
    combined = column.combine_chunks()
    return combined.indices.to_numpy(), combined.dictionary.to_pylist()


def known_tags(texts: Sequence[str], path: Path = SHIPPED_TAGS) -> list[list[WordTags] | None]:
    """Per text, its shipped words, or None where the shipped table does not hold that exact text."""
    known = _shipped(path)
    return [known.get(text_digest(text)) for text in texts]
