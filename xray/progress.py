"""The one way long work reports how far it has got."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Called as ``progress(done, total, stage)``: ``done`` of ``total`` units of work (texts, batches, neurons,
    levels) finished so far in the named ``stage``. Work with one stage may leave the stage out ("" then); work
    with several names each (e.g. the activation store: tagging words, then computing hidden states), so a
    progress bar can say what it counts and estimate each stage's time apart. Whatever it raises stops the work
    there (e.g. a page's Stop)."""

    def __call__(self, done: int, total: int, stage: str = "") -> None: ...


def in_stage(progress: Progress, stage: str) -> Progress:
    """``progress`` with every report put under ``stage``: for a one-stage step (e.g. tagging) inside work of
    several."""

    def report(done: int, total: int, _stage: str = "") -> None:
        progress(done, total, stage)

    return report
