"""Tables a class can read: one column per level where a long table repeats the level on every row."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from xray.levels import level_name


def one_column_per_level(table: pd.DataFrame, cell: Callable[[dict], str]) -> pd.DataFrame:
    """``table`` (a ``level`` column, rows best first within a level) as rank × level: row ``rank`` (1, 2, ...)
    holds, under each level's name, ``cell(row)`` (the row as a dict) for that level's rank-th row ("" where a
    level has fewer)."""
    if "level" not in table.columns:
        raise ValueError(f"The table needs a 'level' column; it has {', '.join(map(str, table.columns))}.")
    if table.empty:
        return pd.DataFrame({"rank": []})
    ranked = table.assign(
        rank=table.groupby("level").cumcount() + 1, cell=[cell(row) for row in table.to_dict("records")]
    )
    wide = ranked.pivot(index="rank", columns="level", values="cell").fillna("")
    wide.columns = [level_name(int(level)) for level in wide.columns]
    return wide.reset_index()
