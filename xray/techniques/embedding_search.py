"""Embedding search (exBERT, Hoover et al. 2020): which corpus tokens does the model treat like this one, at this
layer? Nearest neighbours of one token's hidden state among an activation store's pieces (cosine similarity),
the neighbours' part of speech / dependency / entity / label summaries, and what exBERT does not draw: how
pure the neighbourhood is at every level, one line per label (does layer L separate "bank" (river) from
"bank" (money)?).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xray.levels import level_name
from xray.results import json_text
from xray.store.format import ActivationStore
from xray.store.rows import LABEL, describe_rows, text_labels
from xray.store.search import LevelIndex, exact_top_k, search
from xray.store.shards import gather_rows
from xray.translation import N_, Message, _, percent, translated

SUMMARY_COLUMNS = ("pos", "dep", "ent", "label")
NONE = N_("(none)")
"""The value :meth:`NeighbourSearch.summary` counts for a neighbour without a tag (English; drawn translated)."""


@dataclass(frozen=True)
class NeighbourSearch:
    """The neighbours of one query token.

    query: the token searched for (as the reader would write it); level: the store level searched (0 =
        embeddings, L + 1 = the output of layer L).
    neighbours: one row per neighbour, best first: rank, cosine, row (in the store), text_id, piece, word,
        text, start, end (the piece's characters in ``text``), label, pos, dep, ent.
    purity: one row per (level, label): share of the top k at that level carrying the label (exact search).
    index_kind, recall_at_10: the index the neighbours came from, and its measured recall (1.0 when exact).
    engine_note: which engine searched the index and how fast each candidate was (:attr:`LevelIndex.engine_note`,
        a :class:`~xray.translation.Message`: English, drawn translated).
    """

    query: str
    level: int
    k: int
    neighbours: pd.DataFrame
    purity: pd.DataFrame
    index_kind: str
    recall_at_10: float
    engine_note: Message

    def summary(self, column: str) -> pd.DataFrame:
        """Counts of ``column`` (pos, dep, ent or label) among the neighbours: value, count; most common first."""
        if column not in SUMMARY_COLUMNS:
            raise ValueError(f"Unknown summary column {column!r}; pick one of {SUMMARY_COLUMNS}.")
        values = self.neighbours[column].replace("", NONE)
        return values.value_counts().rename_axis("value").reset_index(name="count")

    def best_level(self, label: str) -> int:
        """The level whose top k holds the largest share of ``label`` (the earliest on ties)."""
        rows = self.purity[self.purity[LABEL] == label]
        if rows.empty:
            raise ValueError(f"No neighbour at any level has the label {label!r}.")
        return int(rows.sort_values(["share", "level"], ascending=[False, True]).iloc[0]["level"])

    def leading_label(self) -> str | None:
        """The label most common among the neighbours at the searched level, or None without labels."""
        labels = self.neighbours[LABEL].replace("", np.nan).dropna()
        return None if labels.empty else str(labels.value_counts().index[0])

    def leading_labels(self, count: int) -> list[str]:
        """The ``count`` labels with the largest share at any level, largest first (ties by name): the labels the
        purity chart draws, and the only ones :meth:`verdict` names."""
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}.")
        peaks = self.purity.groupby(LABEL)["share"].max().reset_index()
        return peaks.sort_values(["share", LABEL], ascending=[False, True])[LABEL].head(count).tolist()

    def _nearest_ranks(self) -> dict[str, int]:
        """Each label's best (smallest) rank among the neighbours."""
        if self.neighbours.empty:
            return {}
        labelled = self.neighbours[self.neighbours[LABEL] != ""]
        return {str(label): int(rank) for label, rank in labelled.groupby(LABEL)["rank"].min().items()}

    def verdict(self, shown: int) -> str:
        """One sentence about the label that holds most of the top k at the searched level among the ``shown``
        labels of :meth:`leading_labels` (so it names only what the purity chart draws; on a tie, the label of the
        nearest neighbour): its share here, the level where it peaks, and its share at the embeddings. In the run's
        language: the page calls it as it draws (the result, which a cache keeps, holds no sentence)."""
        labels = self.leading_labels(shown)
        if not labels:
            return _("The corpus has no labels, so the purity of the neighbourhood cannot be measured.")
        here = self.purity[self.purity["level"] == self.level].set_index(LABEL)["share"]
        nearest = self._nearest_ranks()
        # The largest share here; on a tie, the label of the nearer neighbour (then the chart's order).
        label = min(labels, key=lambda name: (-here.get(name, 0.0), nearest.get(name, np.inf)))
        shares = self.purity[self.purity[LABEL] == label].set_index("level")["share"]
        best = self.best_level(label)
        said = {
            "label": label,
            "share": percent(shares.get(self.level, 0.0)),
            "k": self.k,
            "level": translated(level_name(self.level)),
            "embeddings": percent(shares.get(0, 0.0)),
        }
        if best == 0 and self.level == 0:
            said_here = _("'{label}' holds {share} of the top {k} at {level}, already its largest share at any level.")
        elif best == 0:
            said_here = _(
                "'{label}' holds {share} of the top {k} at {level}; its share is strongest already at the embeddings "
                "({embeddings})."
            )
        elif best == self.level:
            said_here = _(
                "'{label}' holds {share} of the top {k} at {level}, its peak, against {embeddings} at the embeddings."
            )
        else:
            said_here = _(
                "'{label}' holds {share} of the top {k} at {level}; its share peaks at {best} ({peak}), against "
                "{embeddings} at the embeddings."
            )
        return said_here.format(**said, best=translated(level_name(best)), peak=percent(shares[best]))

    def table(self) -> pd.DataFrame:
        return self.neighbours.copy()

    def to_json(self) -> str:
        return json_text(
            {
                "query": self.query,
                "level": self.level,
                "level_name": level_name(self.level),
                "k": self.k,
                "index": {"kind": self.index_kind, "recall_at_10": self.recall_at_10, "engine": self.engine_note},
                "neighbours": self.neighbours.to_dict(orient="records"),
                "purity": self.purity.to_dict(orient="records"),
            }
        )


def purity_by_level(
    store: ActivationStore,
    query_states: np.ndarray,
    k: int,
    exclude_row: int | None = None,
    searched: tuple[int, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Share of each label among the exact top ``k`` at every level: level, level_name, label, share.

    query_states: (levels, hidden), the query token's hidden state at every level.
    exclude_row: a stored piece to leave out (the query itself, when it comes from the store).
    searched: (level, rows) where one level's exact top ``k`` (plus one with ``exclude_row``) is known already, best
        first: that level is not read again.
    """
    if query_states.shape[0] != store.levels:
        raise ValueError(f"query_states has {query_states.shape[0]} levels; the store has {store.levels}.")
    records = []
    extra = 1 if exclude_row is not None else 0
    for level in range(store.levels):
        if searched is not None and searched[0] == level:
            rows = searched[1]
        else:
            rows = exact_top_k(store, level, query_states[level], k + extra)[0]
        rows = rows[rows != exclude_row][:k]
        labels = pd.Series(text_labels(store, store.tokens["text_id"].to_numpy()[rows]))
        for label, count in labels[labels != ""].value_counts().items():
            records.append({"level": level, "level_name": level_name(level), LABEL: label, "share": count / len(rows)})
    return pd.DataFrame(records, columns=["level", "level_name", LABEL, "share"])


def search_neighbours(
    store: ActivationStore,
    index: LevelIndex,
    query: str,
    query_states: np.ndarray,
    k: int = 20,
    exclude_row: int | None = None,
) -> NeighbourSearch:
    """The ``k`` nearest stored pieces to a token at ``index.level``, and the purity of its top k at every level.

    query_states: (levels, hidden), the token's hidden state at every level (embeddings first).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    extra = 1 if exclude_row is not None else 0
    rows, scores = search(index, query_states[index.level], k + extra)
    searched = (index.level, rows) if index.kind == "exact" else None  # the very rows purity reads at that level
    keep = rows != exclude_row
    rows, scores = rows[keep][:k], scores[keep][:k]
    neighbours = describe_rows(store, rows)
    neighbours.insert(0, "cosine", np.round(scores.astype(np.float64), 4))
    neighbours.insert(0, "rank", np.arange(1, len(rows) + 1))
    return NeighbourSearch(
        query=query,
        level=index.level,
        k=k,
        neighbours=neighbours,
        purity=purity_by_level(store, query_states, k, exclude_row, searched),
        index_kind=index.kind,
        recall_at_10=index.recall_at_10,
        engine_note=index.engine_note,
    )


def word_occurrences(store: ActivationStore, word: str, limit: int = 200) -> pd.DataFrame:
    """Up to ``limit`` stored pieces that start the whole word ``word`` (case-insensitive) in their text, as
    :func:`describe_rows` describes them; empty when the corpus never uses it."""
    word = word.strip()
    if not word or len(word.split()) > 1:
        raise ValueError(_("Type one word to look for, e.g. bank."))
    pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
    starts = [
        (text_id, match.start())
        for text_id, text in enumerate(store.texts["text"].astype(str))
        for match in pattern.finditer(text)
    ]
    if not starts:
        return describe_rows(store, np.array([], dtype=np.int64))
    wanted = pd.DataFrame(starts, columns=["text_id", "start"])
    pieces = store.tokens[["text_id", "start"]].reset_index(names="row")
    found = wanted.merge(pieces, on=["text_id", "start"]).drop_duplicates(["text_id", "start"])
    return describe_rows(store, found["row"].to_numpy()[:limit])


def stored_states(store: ActivationStore, row: int) -> np.ndarray:
    """(levels, hidden) float32: stored piece ``row``'s vector at every level."""
    if not 0 <= row < store.manifest.pieces:
        raise ValueError(
            _("Row {row} is not in the store (0 to {last}).").format(row=row, last=store.manifest.pieces - 1)
        )
    return np.stack([gather_rows(store.vectors(level), [row])[0] for level in range(store.levels)]).astype(np.float32)
