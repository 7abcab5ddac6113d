"""One type for every text collection the store reads: built-in corpora and uploads alike.

A :class:`Corpus` is a table with one row per text: a ``text`` column plus any metadata columns
(a label, a word sense, a held-out flag, the character span of a target word, columns of an uploaded CSV).
Its :attr:`fingerprint` names its content, so a store built from it is found again after a restart.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xray.cache import write_atomically

TEXT = "text"
_METADATA_KEY = b"transformer-xray.corpus"


@dataclass(frozen=True, eq=False)
class Corpus:
    """name: what the user sees ("Word senses", "BBC News sentences", "upload: reviews.csv").
    table: one row per text; column ``text`` (str, non-empty) plus metadata columns.
    label_column: the column that labels each text (a topic, a sense), or None.
    description: one sentence on where the texts come from.
    """

    name: str
    table: pd.DataFrame
    label_column: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if TEXT not in self.table.columns:
            raise ValueError(f"A corpus needs a '{TEXT}' column; got {list(self.table.columns)}.")
        if self.table.empty:
            raise ValueError(f"The corpus '{self.name}' has no texts.")
        if self.label_column is not None and self.label_column not in self.table.columns:
            raise ValueError(f"The label column '{self.label_column}' is not in {list(self.table.columns)}.")
        if (self.table[TEXT].astype(str).str.strip() == "").any():
            raise ValueError(f"The corpus '{self.name}' has empty texts; drop them first.")

    def __len__(self) -> int:
        return len(self.table)

    @property
    def texts(self) -> list[str]:
        return self.table[TEXT].astype(str).tolist()

    @property
    def labels(self) -> list[str] | None:
        """Each text's label as a string, or None where the corpus has no label column."""
        if self.label_column is None:
            return None
        return self.table[self.label_column].astype(str).tolist()

    @property
    def fingerprint(self) -> str:
        """16 hex digits that change whenever a text, a metadata value or the label column changes."""
        digest = hashlib.sha256()
        digest.update(repr((self.label_column, list(self.table.columns))).encode())
        digest.update(pd.util.hash_pandas_object(self.table.astype(str), index=False).to_numpy().tobytes())
        return digest.hexdigest()[:16]

    def save(self, path: Path) -> None:
        """Write the corpus (table, name, label column, description) to one Parquet file, atomically."""
        table = pa.Table.from_pandas(self.table, preserve_index=False)
        about = {"name": self.name, "label_column": self.label_column, "description": self.description}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), _METADATA_KEY: json.dumps(about)})
        write_atomically(path, lambda temporary: pq.write_table(table, temporary))


def load_corpus(path: Path) -> Corpus:
    """A corpus written by :meth:`Corpus.save`; raises ValueError for any other file."""
    table = pq.read_table(path)
    about = (table.schema.metadata or {}).get(_METADATA_KEY)
    if about is None:
        raise ValueError(f"{path} is not a corpus written by Transformer X-Ray.")
    return Corpus(table=table.to_pandas(), **json.loads(about))
