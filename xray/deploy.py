"""Safe to deploy in public: public mode's model allow-list, errors that never show server paths, and a model
cache bounded by memory rather than by count.

Public mode is one setting, ``XRAY_PUBLIC=1`` (the environment or the same key in Streamlit secrets, read by
:mod:`components.deploy`). It then loads only the models on an allow-list (``XRAY_ALLOWED_MODELS``, comma
separated; default the sidebar's list) within a parameter budget (``XRAY_PUBLIC_MAX_PARAMETERS``; default 150M),
refuses every other name, local folders included, with one short message that never says why (so a link cannot
probe the server's disk), and scrubs server paths from every error it shows.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from xray.models.loading import ModelLoadError

PUBLIC_ENV = "XRAY_PUBLIC"
ALLOWED_ENV = "XRAY_ALLOWED_MODELS"
PUBLIC_PARAMETERS_ENV = "XRAY_PUBLIC_MAX_PARAMETERS"
MODEL_MEMORY_ENV = "XRAY_MODEL_MEMORY_MB"
USER_KEYS_ENV = "XRAY_ALLOW_USER_KEYS"
DEFAULT_PUBLIC_PARAMETERS = 150_000_000
MODEL_MEMORY_SHARE = 0.4  # of the machine's memory, for the weights of every loaded model together
_PATH = re.compile(r"(?<![\w:/.])(?:~|/)(?:[\w.@+-]+/)*[\w.@+-]+/?")
TRUE = {"1", "true", "yes", "on"}


class ModelRefusedError(ModelLoadError):
    """Public mode does not load this model; the message is the same whatever the reason."""


def is_on(value: object) -> bool:
    """True for 1, true, yes or on (any case), as a setting in the environment or secrets may be written."""
    return str(value).strip().lower() in TRUE


@dataclass(frozen=True)
class PublicPolicy:
    """What public mode allows: the model names on the list, and at most ``max_parameters`` parameters each."""

    allowed: tuple[str, ...]
    max_parameters: int

    def refusal(self) -> ModelRefusedError:
        return ModelRefusedError(
            f"This app runs in public mode and loads only the models on its list: {', '.join(self.allowed)}. "
            "Pick one of them in the sidebar."
        )

    def check_model(self, name: str) -> None:
        """ModelRefusedError unless ``name`` is on the list; the name is never looked up on disk or the hub."""
        if name.strip() not in self.allowed:
            raise self.refusal()


def public_policy(settings: dict[str, str], default_models: tuple[str, ...]) -> PublicPolicy | None:
    """The policy ``settings`` ask for (``XRAY_PUBLIC``, ``XRAY_ALLOWED_MODELS``, ``XRAY_PUBLIC_MAX_PARAMETERS``),
    or None outside public mode. ValueError for a budget that is not a positive number."""
    if not is_on(settings.get(PUBLIC_ENV, "")):
        return None
    listed = tuple(name.strip() for name in settings.get(ALLOWED_ENV, "").split(",") if name.strip())
    raw = str(settings.get(PUBLIC_PARAMETERS_ENV, "")).strip()
    try:
        budget = int(float(raw)) if raw else DEFAULT_PUBLIC_PARAMETERS
    except ValueError:
        raise ValueError(f"{PUBLIC_PARAMETERS_ENV} must be a number such as 2e8, not {raw!r}.") from None
    if budget <= 0:
        raise ValueError(f"{PUBLIC_PARAMETERS_ENV} must be positive, not {raw!r}.")
    return PublicPolicy(listed or default_models, budget)


def scrub_paths(message: str) -> str:
    """``message`` with every absolute or home-relative path replaced by "[server path]"."""
    return _PATH.sub("[server path]", message)


def machine_memory_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """The machine's memory (MemTotal), or None where it cannot be read."""
    try:
        found = re.search(r"^MemTotal:\s+(\d+) kB", meminfo.read_text(), flags=re.M)
    except OSError:
        return None
    return int(found.group(1)) * 1024 if found else None


def model_memory_budget(settings: dict[str, str]) -> int:
    """Bytes the weights of all loaded models may take together: ``XRAY_MODEL_MEMORY_MB`` if set, else 40% of the
    machine's memory (4 GB where it cannot be read)."""
    raw = str(settings.get(MODEL_MEMORY_ENV, "")).strip()
    if raw:
        try:
            megabytes = float(raw)
        except ValueError:
            raise ValueError(f"{MODEL_MEMORY_ENV} must be a number of megabytes, not {raw!r}.") from None
        if megabytes <= 0:
            raise ValueError(f"{MODEL_MEMORY_ENV} must be positive, not {raw!r}.")
        return int(megabytes * 1024**2)
    total = machine_memory_bytes()
    return int(total * MODEL_MEMORY_SHARE) if total else 4 * 1024**3


Model = TypeVar("Model")


class MemoryBoundCache(Generic[Model]):
    """Loaded models kept while their estimated sizes fit ``budget`` bytes together; the least recently used
    leave first. Thread-safe: one load at a time (loads are rare and each needs the memory of the last)."""

    def __init__(self, budget: int, load: Callable[[str], Model], size_of: Callable[[str], int]) -> None:
        self.budget = budget
        self._load, self._size_of = load, size_of
        self._entries: OrderedDict[str, tuple[Model, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str) -> tuple[Model, list[str]]:
        """The model ``name`` (loaded if needed) and the names evicted to make room for it.

        Raises ModelLoadError, before evicting anything, when the model alone would not fit the budget."""
        with self._lock:
            if name in self._entries:
                self._entries.move_to_end(name)
                return self._entries[name][0], []
            size = self._size_of(name)
            if size > self.budget:
                raise ModelLoadError(
                    f"'{name}' needs about {size / 1024**2:,.0f} MB for its weights, more than this app's budget "
                    f"for models ({self.budget / 1024**2:,.0f} MB). Pick a smaller model."
                )
            evicted = []
            while self._entries and self.used + size > self.budget:
                gone, _ = self._entries.popitem(last=False)
                evicted.append(gone)
            model = self._load(name)
            self._entries[name] = (model, size)
            return model, evicted

    @property
    def used(self) -> int:
        return sum(size for _, size in self._entries.values())

    def names(self) -> list[str]:
        """Loaded models, least recently used first."""
        return list(self._entries)


def environment_settings() -> dict[str, str]:
    """The deployment settings found in the environment."""
    keys = (PUBLIC_ENV, ALLOWED_ENV, PUBLIC_PARAMETERS_ENV, MODEL_MEMORY_ENV, USER_KEYS_ENV)
    return {key: os.environ[key] for key in keys if key in os.environ}
