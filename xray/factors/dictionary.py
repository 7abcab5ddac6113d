"""A learned factor dictionary as an artefact: its atoms, quality, importance per level and top contexts, saved
as one small ``.npz``, and where each model's lives (the shipped file for the embedded model, else the cache).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from xray.cache import slug, write_atomically
from xray.factors.solver import FactorSettings, check_finite, lipschitz, normalised, sparse_coding
from xray.models.loading import EMBEDDED_MODEL
from xray.results import json_text
from xray.translation import N_, _

SHIPPED_DICTIONARY = Path(__file__).parent / "data" / "minilm_factors.npz"
"""The dictionary shipped for the embedded MiniLM; ``python -m xray factors`` (defaults) writes it again."""
BANDS = ("low", "mid", "high")
BAND_NAMES = {"low": N_("low-level"), "mid": N_("mid-level"), "high": N_("high-level")}
"""A band (:func:`band`) -> its name as a page shows it, translated where drawn."""


@dataclass(frozen=True)
class FactorQuality:
    """relative_error: per level, ‖x − cΦ‖ / ‖x‖ averaged over sample tokens; nonzeros: mean active factors per
    token; dead_share: share of factors active on no sample token; steps: mean FISTA steps per sample token (None
    where the file predates it)."""

    relative_error: tuple[float, ...]
    nonzeros: float
    dead_share: float
    steps: float | None = None


@dataclass(frozen=True, eq=False)
class TopContexts:
    """Each factor's strongest pieces of a corpus sample, at each level.

    rows: (levels, factors, top) rows of the activation store ``store`` (its folder name), strongest first;
    codes: (levels, factors, top) their codes (0 where fewer pieces use the factor); corpus: the corpus's name;
    layout: that store's ``ActivationStore.layout``, so rows are never read from a store that orders them otherwise.
    """

    rows: np.ndarray
    codes: np.ndarray
    store: str
    corpus: str
    layout: str

    def used(self, level: int, factor: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, codes) of the factor's strongest pieces at ``level`` that use it at all (code above 0), strongest
        first."""
        codes = self.codes[level, factor]
        kept = codes > 0
        return self.rows[level, factor][kept], codes[kept]


@dataclass(frozen=True, eq=False)
class FactorDictionary:
    """A learned dictionary and what it is for.

    atoms: (factors, hidden) float32, unit-norm rows. importance: (levels, factors), the mean of each factor's
    top-n coefficients at each level (Yun et al.'s importance score). model, revision, hidden_size: the model
    it was learned on; inputs are normalised to unit length before coding. contexts: each factor's strongest
    corpus pieces at each level, when they were searched for (see :func:`find_top_contexts`).
    """

    atoms: np.ndarray
    importance: np.ndarray
    settings: FactorSettings
    quality: FactorQuality
    model: str
    revision: str
    seconds: float
    contexts: TopContexts | None = None

    @property
    def factors(self) -> int:
        return int(self.atoms.shape[0])

    @property
    def hidden_size(self) -> int:
        return int(self.atoms.shape[1])

    def peak_level(self) -> np.ndarray:
        """(factors,) the level where each factor's importance is highest."""
        return self.importance.argmax(axis=0)

    def check_factor(self, factor: int) -> None:
        if not 0 <= factor < self.factors:
            raise ValueError(
                _("Factor {factor} does not exist: this dictionary has factors 0 to {last}.").format(
                    factor=factor, last=self.factors - 1
                )
            )

    def table(self) -> pd.DataFrame:
        """One row per factor: factor, peak_level, band (low, mid or high), peak_importance; by band, then
        importance."""
        peaks = self.peak_level()
        table = pd.DataFrame(
            {
                "factor": np.arange(self.factors),
                "peak_level": peaks,
                "band": [band(int(peak), self.importance.shape[0]) for peak in peaks],
                "peak_importance": self.importance.max(axis=0).round(4),
            }
        )
        return table.sort_values(["peak_level", "peak_importance"], ascending=[True, False]).reset_index(drop=True)

    def to_json(self) -> str:
        return json_text(
            {
                "model": self.model,
                "revision": self.revision,
                "settings": asdict(self.settings),
                "quality": asdict(self.quality),
                "importance": {"shape": "(levels, factors)", "values": self.importance.round(5)},
                "factors": self.table().to_dict(orient="records"),
            },
            indent=None,
        )

    def codes(self, states: np.ndarray) -> np.ndarray:
        """(n, factors) codes of hidden states (n, hidden), normalised first, as in learning."""
        return self.coding(states)[0]

    def coding(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(codes (n, factors), FISTA steps taken (n,)) of hidden states (n, hidden), normalised first."""
        check_finite(states)
        if states.shape[-1] != self.hidden_size:
            raise ValueError(
                _(
                    "This dictionary was learned on vectors of width {width} ({model}); the model gives {given}. "
                    "Learn a dictionary for this model first."
                ).format(width=self.hidden_size, model=self.model, given=states.shape[-1])
            )
        inputs = normalised(torch.as_tensor(states, dtype=torch.float32))
        coded = sparse_coding(self._atoms, inputs, self.settings.sparsity, bound=self._bound)
        return coded.codes.numpy(), coded.steps.numpy()

    @cached_property
    def _atoms(self) -> torch.Tensor:
        return torch.from_numpy(self.atoms)

    @cached_property
    def _bound(self) -> float:
        """FISTA's Lipschitz bound for these atoms, computed once."""
        return lipschitz(self._atoms)

    def save(self, path: Path) -> None:
        """One compressed ``.npz``: atoms (float16), importance, and the metadata as JSON."""
        about = {
            "settings": asdict(self.settings),
            "quality": asdict(self.quality),
            "model": self.model,
            "revision": self.revision,
            "seconds": self.seconds,
            "contexts": None
            if self.contexts is None
            else {"store": self.contexts.store, "corpus": self.contexts.corpus, "layout": self.contexts.layout},
        }
        arrays = {"atoms": self.atoms.astype(np.float16), "importance": self.importance}
        if self.contexts is not None:
            arrays |= {"context_rows": self.contexts.rows, "context_codes": self.contexts.codes.astype(np.float16)}
        write_atomically(
            path, lambda temporary: np.savez_compressed(temporary, about=json.dumps(about), **arrays), ".npz"
        )


def band(level: int, levels: int) -> str:
    """ "low", "mid" or "high": which third of the levels ``level`` lies in (the paper's three kinds of factor:
    word sense low, sentence patterns in the middle, long-range structure high)."""
    return BANDS[min(2, 3 * level // max(levels, 1))]


def dictionary_path(model_name: str, cache_root: Path) -> Path:
    """Where the dictionary of ``model_name`` lives: the shipped file for the embedded model, else the cache."""
    if model_name == EMBEDDED_MODEL:
        return SHIPPED_DICTIONARY
    return cache_root / "factors" / f"{slug(model_name, 80)}.npz"


def find_dictionary(model_name: str, cache_root: Path) -> FactorDictionary | None:
    """The dictionary learned for ``model_name`` (:func:`dictionary_path`), or None where none has been."""
    path = dictionary_path(model_name, cache_root)
    return load_dictionary(path) if path.is_file() else None


def load_dictionary(path: Path) -> FactorDictionary:
    """A dictionary written by :meth:`FactorDictionary.save`; ValueError for any other file."""
    try:
        with np.load(path) as saved:
            about = json.loads(str(saved["about"]))
            atoms, importance = saved["atoms"].astype(np.float32), saved["importance"]
            contexts = None
            if about.get("contexts"):
                rows, codes = saved["context_rows"], saved["context_codes"].astype(np.float32)
                contexts = TopContexts(rows, codes, **about["contexts"])
    except (OSError, KeyError, ValueError) as error:
        raise ValueError(
            _("{path} is not a factor dictionary written by Transformer X-Ray.").format(path=path)
        ) from error
    quality = about["quality"]
    return FactorDictionary(
        atoms=normalised(torch.from_numpy(atoms)).numpy(),
        importance=importance,
        settings=FactorSettings(**about["settings"]),
        quality=FactorQuality(
            tuple(quality["relative_error"]), quality["nonzeros"], quality["dead_share"], quality.get("steps")
        ),
        model=about["model"],
        revision=about["revision"],
        seconds=about["seconds"],
        contexts=contexts,
    )
