"""Every unit explained so far, kept on disk so that the table survives a restart and is shared by the page and the
command line; the latest row per unit, explainer and simulator wins.

Two tables of the same form: neurons beside their records (``explanations.jsonl``, keyed by layer and neuron),
and units of every kind beside the activation store they were read from (``unit_scores.jsonl``, keyed by kind,
level and unit; :mod:`xray.units`)."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pandas as pd

EXPLANATIONS = "explanations.jsonl"
KEY = ["layer", "neuron", "explainer", "simulator"]
UNIT_SCORES = "unit_scores.jsonl"
UNIT_KEY = ["kind", "level", "unit", "explainer", "simulator"]
SCORES = ["explanation", "top_and_random", "random_only"]


def save_explanations(folder: Path, rows: list[dict]) -> None:
    """Append neuron rows (:meth:`NeuronExplanation.summary_row` dicts) to the folder's table (:func:`save_rows`)."""
    save_rows(folder / EXPLANATIONS, rows, KEY)


def saved_explanations(folder: Path) -> pd.DataFrame:
    """The folder's neuron table, one row per neuron, explainer and simulator (the latest), by layer and neuron."""
    return saved_rows(folder / EXPLANATIONS, KEY)


def save_unit_scores(folder: Path, rows: list[dict]) -> None:
    """Append unit rows (:func:`xray.units.compare.unit_row` dicts) to a store folder's table (:func:`save_rows`)."""
    save_rows(folder / UNIT_SCORES, rows, UNIT_KEY)


def saved_unit_scores(folder: Path) -> pd.DataFrame:
    """A store folder's unit table, one row per kind, level, unit, explainer and simulator (the latest)."""
    return saved_rows(folder / UNIT_SCORES, UNIT_KEY)


def save_rows(path: Path, rows: list[dict], key: list[str]) -> None:
    """Append ``rows`` to the table at ``path``, under a file lock; a row equal to the latest saved for its ``key``
    is not written again, so saving the same result on every page run leaves the table as it is."""
    with path.open("a+", encoding="utf-8") as table:
        fcntl.flock(table, fcntl.LOCK_EX)
        table.seek(0)
        latest = {}
        for line in table.read().splitlines():
            if line.strip():
                saved = json.loads(line)
                latest[tuple(saved[name] for name in key)] = line
        lines = [json.dumps(row, allow_nan=True) for row in rows]
        fresh = [
            line for row, line in zip(rows, lines, strict=True) if latest.get(tuple(row[name] for name in key)) != line
        ]
        table.seek(0, 2)
        table.write("".join(line + "\n" for line in fresh))


def saved_rows(path: Path, key: list[str]) -> pd.DataFrame:
    """The table at ``path``, the latest row per ``key``, sorted by it."""
    if not path.is_file():
        return pd.DataFrame(columns=[*key, *SCORES])
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    table = pd.DataFrame(rows).drop_duplicates(subset=key, keep="last")
    return table.sort_values(key).reset_index(drop=True)
