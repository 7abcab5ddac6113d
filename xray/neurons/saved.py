"""Every neuron explained so far, kept beside its records (``explanations.jsonl``) so that the table survives a
restart and is shared by the page and the command line; the latest row per neuron, explainer and simulator wins."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pandas as pd

EXPLANATIONS = "explanations.jsonl"
KEY = ["layer", "neuron", "explainer", "simulator"]


def save_explanations(folder: Path, rows: list[dict]) -> None:
    """Append ``rows`` (:meth:`NeuronExplanation.summary_row` dicts) to the folder's table, under a file lock; a row
    equal to the latest saved for its neuron, explainer and simulator is not written again, so saving the same
    result on every page run leaves the table as it is."""
    with (folder / EXPLANATIONS).open("a+", encoding="utf-8") as table:
        fcntl.flock(table, fcntl.LOCK_EX)
        table.seek(0)
        latest = {}
        for line in table.read().splitlines():
            if line.strip():
                saved = json.loads(line)
                latest[tuple(saved[key] for key in KEY)] = line
        lines = [json.dumps(row, allow_nan=True) for row in rows]
        fresh = [
            line for row, line in zip(rows, lines, strict=True) if latest.get(tuple(row[key] for key in KEY)) != line
        ]
        table.seek(0, 2)
        table.write("".join(line + "\n" for line in fresh))


def saved_explanations(folder: Path) -> pd.DataFrame:
    """The folder's table, one row per neuron, explainer and simulator (the latest), by layer and neuron."""
    path = folder / EXPLANATIONS
    if not path.is_file():
        return pd.DataFrame(columns=[*KEY, "explanation", "top_and_random", "random_only"])
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    table = pd.DataFrame(rows).drop_duplicates(subset=KEY, keep="last")
    return table.sort_values(["layer", "neuron", "explainer"]).reset_index(drop=True)
