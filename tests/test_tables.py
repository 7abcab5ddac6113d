"""Tables with one column per level."""

from __future__ import annotations

import pandas as pd
import pytest

from xray.rendering.tables import one_column_per_level


def test_rows_that_repeat_the_level_become_one_column_per_level_in_rank_order():
    long = pd.DataFrame({"level": [0, 0, 1, 2, 2], "factor": [7, 3, 9, 1, 4], "code": [0.9, 0.5, 0.8, 0.7, 0.2]})
    wide = one_column_per_level(long, lambda row: f"{row['factor']} ({row['code']:.1f})")
    assert list(wide.columns) == ["rank", "embeddings", "layer 0", "layer 1"]
    assert wide["rank"].tolist() == [1, 2]
    assert wide["embeddings"].tolist() == ["7 (0.9)", "3 (0.5)"]
    assert wide["layer 0"].tolist() == ["9 (0.8)", ""]
    assert wide["layer 1"].tolist() == ["1 (0.7)", "4 (0.2)"]


def test_a_table_without_levels_is_refused():
    with pytest.raises(ValueError, match="'level' column"):
        one_column_per_level(pd.DataFrame({"factor": [1]}), str)
