"""The one convention every technique's result follows: plain data that states its verdicts and exports itself.

A result is a frozen dataclass documented with its array shapes. Verdicts are properties or methods
that answer a question in the result's own terms (does SHAP's additivity hold, does LIME's surrogate
fit, which method beats the random order); exports are ``table()`` (one pandas DataFrame a user would
open as CSV) and ``to_json()`` (everything the page shows, as JSON text). Pages only read them.
"""

from __future__ import annotations

import json
import math
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd


@runtime_checkable
class Result(Protocol):
    """What every technique's result offers for display and download."""

    def table(self) -> pd.DataFrame:
        """The result as one table (the page's CSV download)."""
        ...

    def to_json(self) -> str:
        """Everything the page shows, as JSON text (the page's JSON download)."""
        ...


def _plain(value: object) -> object:
    """numpy arrays and scalars as lists and Python numbers; NaN and infinities as None (JSON has neither)."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def json_text(payload: dict, *, indent: int | None = 1) -> str:
    """``payload`` as JSON text: arrays become lists, NaN becomes null, non-ASCII text stays readable."""
    return json.dumps(_plain(payload), ensure_ascii=False, indent=indent, allow_nan=False)
