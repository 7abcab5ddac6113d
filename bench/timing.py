"""The median of repeated benchmark runs."""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import TypeVar

Run = TypeVar("Run")


def median_run(runs: list[Run], *timed: str) -> Run:
    """The run of median wall time (``seconds``), with each field named in ``timed`` replaced by its median."""
    middle = sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]
    return replace(middle, **{name: statistics.median(getattr(run, name) for run in runs) for name in timed})
