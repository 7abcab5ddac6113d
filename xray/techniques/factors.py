"""Transformer factors (Yun, Chen, Olshausen & LeCun 2021, "Transformer visualization via dictionary learning"):
every hidden state, at every level, written as a sparse non-negative mix of one dictionary shared by all levels.

- :func:`sparse_coding`: non-negative sparse coding by FISTA, ``min_c ½‖x − cΦ‖² + λ‖c‖₁, c ≥ 0``, in torch, at
  step 1/L, each row stopping once its objective settles (a relative change of at most :data:`FISTA_TOLERANCE`),
  with the steps it took.
- :func:`learn_dictionary`: mini-batch dictionary learning over samples of every level. Codes by FISTA, then
  the dictionary by the online method of Mairal et al. (2009): running sums ``A = Σ cᵀc`` and ``B = Σ cᵀx`` and
  a projected gradient step on them, atoms kept at unit norm. Seeded, with progress, resumable from a
  checkpoint after every epoch.
- :class:`FactorDictionary`: the learned atoms with their quality (relative reconstruction error per level,
  non-zeros per token, dead factors) and each factor's importance per level (the paper's score: the mean of
  its top-n coefficients at that level), saved as one small ``.npz``.

Shapes: hidden states ``(n, hidden)``, dictionary ``(factors, hidden)``, codes ``(n, factors)``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from xray.cache import slug, write_atomically
from xray.models.loading import EMBEDDED_MODEL
from xray.results import json_text
from xray.store.format import ActivationStore
from xray.store.rows import describe_rows

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` in mini-batches over all epochs."""
StageProgress = Callable[[int, int, str], None]
"""Called as ``progress(done, total, stage)``, as the activation store's builder calls it."""
LEARNING = "learning the dictionary"
CONTEXTS = "finding each factor's top contexts"
FISTA_MAX_STEPS = 500  # Yun et al.'s code runs 500 steps at 1/L; here a row stops earlier once it has settled
FISTA_TOLERANCE = 1e-8  # a step that changes a row's objective by at most this share of it ends that row
# (on MiniLM, median ~200 steps; 0.4-0.8% of active factors differ from 500 steps, against 1.6-2.9% after 100)
LEARNING_STEPS = 60  # fewer (30) learn 2x faster but atoms that give ~7% denser codes at the same error
POWER_STEPS = 30
TOP_N = 500
SHIPPED_DICTIONARY = Path(__file__).parent / "data" / "minilm_factors.npz"
"""The dictionary shipped for the embedded MiniLM; ``python -m xray factors`` (defaults) writes it again."""
EVALUATION_ROWS = 2_000  # held-out rows per level the quality is measured on
IMPORTANCE_ROWS = 10_000  # rows per level the importance (the mean of a factor's top 500 codes) is taken over
CONTEXT_PIECES = 10_000  # pieces of the corpus searched for each factor's top contexts
CONTEXT_TOP = 10
CONTEXT_CHUNK = 2_048


@dataclass(frozen=True)
class FactorSettings:
    """factors: atoms in the dictionary. sparsity: λ, the weight of the L1 penalty on codes of unit-norm inputs.
    epochs: passes over the samples. batch_size: samples per dictionary update. seed: for sampling and init.
    """

    factors: int = 1_000
    sparsity: float = 0.1
    epochs: int = 2
    batch_size: int = 1_024
    seed: int = 0

    def __post_init__(self) -> None:
        if self.factors < 2:
            raise ValueError(f"A dictionary needs at least 2 factors, got {self.factors}.")
        if self.sparsity <= 0:
            raise ValueError(f"sparsity (λ) must be positive, got {self.sparsity}.")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be at least 1, got {self.epochs} and {self.batch_size}.")


def check_finite(states: np.ndarray | torch.Tensor, what: str = "The hidden states") -> None:
    """Raise ValueError if ``states`` hold NaN or infinity (a model in float16 can overflow)."""
    values = torch.as_tensor(states)
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f"{what} contain NaN or infinite values; load the model in float32 and try again.")


def lipschitz(dictionary: torch.Tensor) -> float:
    """L, the largest eigenvalue of ΦΦᵀ (the squared largest singular value of Φ): FISTA's step is 1/L, as in
    Yun et al.'s code."""
    return float(torch.linalg.matrix_norm(dictionary.double(), ord=2)) ** 2


def learning_bound(dictionary: torch.Tensor) -> float:
    """The step bound dictionary learning codes with: L by power iteration, times 1.01 (it approaches L from
    below). The shipped dictionary was learned with it, so learning keeps it."""
    gram = dictionary @ dictionary.T
    vector = torch.ones(gram.shape[0], dtype=gram.dtype, device=gram.device) / gram.shape[0] ** 0.5
    for _ in range(POWER_STEPS):
        vector = gram @ vector
        vector = vector / vector.norm().clamp_min(1e-12)
    return float(vector @ gram @ vector) * 1.01


@dataclass(frozen=True, eq=False)
class SparseCoding:
    """FISTA's result. codes: (n, factors), non-negative; steps: (n,) the steps each row took before its
    objective settled (or the step limit); objective: (n,) ½‖x − cΦ‖² + λ‖c‖₁ of each row at its codes."""

    codes: torch.Tensor
    steps: torch.Tensor
    objective: torch.Tensor


def _objective(product: torch.Tensor, inputs: torch.Tensor, codes: torch.Tensor, sparsity: float) -> torch.Tensor:
    """(n,) ½‖x − cΦ‖² + λ‖c‖₁ per row, given the product cΦ (n, hidden), summed in float64 (a tolerance finer than
    float32's rounding of the sum must still be measurable)."""
    return 0.5 * (product - inputs).double().square().sum(dim=1) + sparsity * codes.double().sum(dim=1)


def sparse_coding(
    dictionary: torch.Tensor,
    inputs: torch.Tensor,
    sparsity: float,
    *,
    max_steps: int = FISTA_MAX_STEPS,
    tolerance: float = FISTA_TOLERANCE,
    bound: float | None = None,
) -> SparseCoding:
    """Non-negative sparse codes of ``inputs`` (n, hidden) over ``dictionary`` (factors, hidden) by FISTA (Beck &
    Teboulle 2009) at step 1/L with a non-negative soft threshold. Each row stops on its own once its objective
    changes by at most ``tolerance`` of itself in one step, or after ``max_steps``; so a row's codes do not depend
    on the rows coded with it. bound: :func:`lipschitz` of the dictionary, when already known."""
    if max_steps < 1 or tolerance < 0:
        raise ValueError(f"max_steps must be at least 1 and tolerance non-negative, got {max_steps} and {tolerance}.")
    step = 1.0 / (bound if bound is not None else lipschitz(dictionary))
    n, hidden = inputs.shape
    codes = torch.zeros(n, len(dictionary), dtype=inputs.dtype, device=inputs.device)
    product = torch.zeros(n, hidden, dtype=inputs.dtype, device=inputs.device)  # codes @ dictionary
    point, point_product = codes.clone(), product.clone()  # the momentum point and its product
    objective = _objective(product, inputs, codes, sparsity)
    steps = torch.zeros(n, dtype=torch.int64, device=inputs.device)
    active = torch.arange(n, device=inputs.device)
    momentum = 1.0
    for _ in range(max_steps):
        if len(active) == 0:
            break
        every = len(active) == n
        rows = inputs if every else inputs[active]
        at, at_product = (point, point_product) if every else (point[active], point_product[active])
        # Through the hidden width, (yΦ − x)Φᵀ costs n·factors·hidden, less than y·ΦΦᵀ's n·factors²; the
        # momentum point's product is carried along (it is linear in the codes), so a step costs two products.
        updated = torch.relu(at - step * ((at_product - rows) @ dictionary.T + sparsity))
        updated_product = updated @ dictionary
        next_momentum = (1 + (1 + 4 * momentum**2) ** 0.5) / 2
        weight = (momentum - 1) / next_momentum
        before, before_product = (codes, product) if every else (codes[active], product[active])
        new_objective = _objective(updated_product, rows, updated, sparsity)
        settled = (objective[active] - new_objective).abs() <= tolerance * objective[active]
        point[active] = updated + weight * (updated - before)
        point_product[active] = updated_product + weight * (updated_product - before_product)
        codes[active], product[active], objective[active] = updated, updated_product, new_objective
        steps[active] += 1
        active, momentum = active[~settled], next_momentum
    return SparseCoding(codes, steps, objective)


def sparse_codes(
    dictionary: torch.Tensor,
    inputs: torch.Tensor,
    sparsity: float,
    steps: int | None = None,
    bound: float | None = None,
) -> torch.Tensor:
    """(n, factors) codes of ``inputs``: :func:`sparse_coding`'s, or, given ``steps``, those of exactly that many
    FISTA steps at ``bound`` (default :func:`learning_bound`), as dictionary learning codes its batches."""
    if steps is None:
        return sparse_coding(dictionary, inputs, sparsity, bound=bound).codes
    step = 1.0 / (bound if bound is not None else learning_bound(dictionary))
    codes = torch.zeros(len(inputs), len(dictionary), dtype=inputs.dtype, device=inputs.device)
    momentum_point, momentum = codes, 1.0
    for _ in range(steps):
        gradient = (momentum_point @ dictionary - inputs) @ dictionary.T
        updated = torch.relu(momentum_point - step * (gradient + sparsity))
        next_momentum = (1 + (1 + 4 * momentum**2) ** 0.5) / 2
        momentum_point = updated + ((momentum - 1) / next_momentum) * (updated - codes)
        codes, momentum = updated, next_momentum
    return codes


def _normalised(rows: torch.Tensor) -> torch.Tensor:
    return rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-12)


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
            raise ValueError(f"Factor {factor} does not exist: this dictionary has factors 0 to {self.factors - 1}.")

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
                f"This dictionary was learned on vectors of width {self.hidden_size} ({self.model}); the model gives "
                f"{states.shape[-1]}. Learn a dictionary for this model first."
            )
        inputs = _normalised(torch.as_tensor(states, dtype=torch.float32))
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


BANDS = ("low", "mid", "high")


def band(level: int, levels: int) -> str:
    """ "low", "mid" or "high": which third of the levels ``level`` lies in (the paper's three kinds of factor:
    word sense low, sentence patterns in the middle, long-range structure high)."""
    return BANDS[min(2, 3 * level // max(levels, 1))]


def dictionary_path(model_name: str, cache_root: Path) -> Path:
    """Where the dictionary of ``model_name`` lives: the shipped file for the embedded model, else the cache."""
    if model_name == EMBEDDED_MODEL:
        return SHIPPED_DICTIONARY
    return cache_root / "factors" / f"{slug(model_name, 80)}.npz"


@dataclass(frozen=True)
class SentenceFactors:
    """The sidebar sentence's factor codes.

    tokens: the input tokens; codes: (levels, tokens, factors), non-negative; level 0 is the embeddings.
    steps: (levels, tokens) the FISTA steps each code took to settle.
    """

    tokens: list[str]
    codes: np.ndarray
    steps: np.ndarray | None = None

    def strongest(self, level: int, count: int) -> np.ndarray:
        """The ``count`` factors with the largest code on any token at ``level``, strongest first."""
        return np.argsort(-self.codes[level].max(axis=0), kind="stable")[:count]

    def token_factors(self, token: int, count: int) -> pd.DataFrame:
        """For one token: level, factor, code, the ``count`` strongest factors at every level."""
        records = []
        for level, codes in enumerate(self.codes[:, token]):
            for factor in np.argsort(-codes, kind="stable")[:count]:
                if codes[factor] > 0:
                    records.append({"level": level, "factor": int(factor), "code": round(float(codes[factor]), 4)})
        return pd.DataFrame(records, columns=["level", "factor", "code"])

    def table(self) -> pd.DataFrame:
        """Long form of the non-zero codes: level, position, token, factor, code."""
        levels, positions, factors = np.nonzero(self.codes)
        return pd.DataFrame(
            {
                "level": levels,
                "position": positions,
                "token": np.asarray(self.tokens)[positions],
                "factor": factors,
                "code": self.codes[levels, positions, factors].round(4),
            }
        )

    def to_json(self) -> str:
        return json_text({"tokens": self.tokens, "codes": self.table().to_dict(orient="records")}, indent=None)


def sentence_factors(dictionary: FactorDictionary, tokens: list[str], states: np.ndarray) -> SentenceFactors:
    """Codes of every token at every level: ``states`` (levels, tokens, hidden), e.g. the Attention page's."""
    levels, count, hidden = states.shape
    if levels != dictionary.importance.shape[0]:
        raise ValueError(
            f"This dictionary was learned on a model with {dictionary.importance.shape[0]} levels; this one has "
            f"{levels}. Learn a dictionary for this model first."
        )
    codes, steps = dictionary.coding(states.reshape(levels * count, hidden))
    return SentenceFactors(tokens, codes.reshape(levels, count, -1), steps.reshape(levels, count))


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
        raise ValueError(f"{path} is not a factor dictionary written by Transformer X-Ray.") from error
    quality = about["quality"]
    return FactorDictionary(
        atoms=_normalised(torch.from_numpy(atoms)).numpy(),
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


def sample_weights(piece_ids: np.ndarray) -> np.ndarray:
    """(n,) sampling weights that down-weight frequent pieces: 1 / sqrt(count of the piece), summing to 1."""
    _, inverse, counts = np.unique(piece_ids, return_inverse=True, return_counts=True)
    weights = 1.0 / np.sqrt(counts[inverse])
    return weights / weights.sum()


def _initial_atoms(samples: torch.Tensor, factors: int, generator: torch.Generator) -> torch.Tensor:
    """Atoms started on randomly chosen samples (unit norm), so every atom begins where the data lies."""
    if len(samples) < factors:
        raise ValueError(
            f"The corpus gives {len(samples):,} samples, fewer than the {factors:,} factors asked for: use fewer "
            "factors or a bigger corpus."
        )
    chosen = torch.randperm(len(samples), generator=generator)[:factors]
    return _normalised(samples[chosen].clone())


@dataclass
class _State:
    """What a checkpoint keeps: the atoms, the running sums and the epochs done."""

    atoms: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    epochs_done: int


def _checkpoint_path(folder: Path | None) -> Path | None:
    return folder / "factors.checkpoint.pt" if folder is not None else None


def _load_state(path: Path | None, settings: FactorSettings, samples: int) -> _State | None:
    if path is None or not path.is_file():
        return None
    saved = torch.load(path, weights_only=True)
    if saved["settings"] != asdict(settings) or saved["samples"] != samples:
        return None
    return _State(saved["atoms"], saved["a"], saved["b"], int(saved["epochs_done"]))


def _save_state(path: Path | None, state: _State, settings: FactorSettings, samples: int) -> None:
    if path is None:
        return
    content = asdict(state) | {"settings": asdict(settings), "samples": samples}
    write_atomically(path, lambda temporary: torch.save(content, temporary))


def learn_atoms(
    samples: np.ndarray,
    settings: FactorSettings,
    *,
    device: torch.device | str = "cpu",
    checkpoint_folder: Path | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """(factors, hidden) unit-norm atoms learned on ``samples`` (n, hidden), normalised first.

    checkpoint_folder: where to keep a checkpoint after every epoch; a run with the same settings and samples
    resumes from it (it is removed once the run ends).
    """
    check_finite(samples, "The samples")
    generator = torch.Generator().manual_seed(settings.seed)
    data = _normalised(torch.as_tensor(samples, dtype=torch.float32)).to(device)
    path = _checkpoint_path(checkpoint_folder)
    atoms = _initial_atoms(data.cpu(), settings.factors, generator).to(device)  # drawn on a resume too: same seed
    state = _load_state(path, settings, len(data))
    if state is None:
        zeros = torch.zeros(settings.factors, settings.factors, device=device)
        state = _State(atoms, zeros, torch.zeros_like(atoms), 0)
    else:
        state = _State(state.atoms.to(device), state.a.to(device), state.b.to(device), state.epochs_done)
    batches = (len(data) + settings.batch_size - 1) // settings.batch_size
    for epoch in range(settings.epochs):
        order = torch.randperm(len(data), generator=generator)  # drawn every epoch, so a resume stays seeded
        if epoch < state.epochs_done:
            continue
        for number, start in enumerate(range(0, len(data), settings.batch_size)):
            batch = data[order[start : start + settings.batch_size].to(device)]
            codes = sparse_codes(state.atoms, batch, settings.sparsity, LEARNING_STEPS)
            keep = _forgetting(epoch * batches + number, settings.batch_size)
            state.a = keep * state.a + codes.T @ codes / len(batch)
            state.b = keep * state.b + codes.T @ batch / len(batch)
            state.atoms = _dictionary_step(state.atoms, state.a, state.b)
            if progress is not None:
                progress(epoch * batches + number + 1, settings.epochs * batches)
        state.epochs_done = epoch + 1
        _save_state(path, state, settings, len(data))
    if path is not None:
        path.unlink(missing_ok=True)
    return state.atoms.cpu().numpy()


def _dictionary_step(atoms: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """One sweep of block coordinate descent over the atoms (Mairal et al. 2009, algorithm 2) on the running
    surrogate ½ tr(ΦᵀAΦ) − tr(ΦᵀB), each atom then put back on the unit sphere; unused atoms stay where they are."""
    atoms = atoms.clone()
    usage = torch.diagonal(a)
    for index in torch.nonzero(usage > 1e-10).flatten().tolist():
        updated = atoms[index] + (b[index] - a[index] @ atoms) / usage[index]
        atoms[index] = updated / updated.norm().clamp_min(1e-12)
    return atoms


def _forgetting(batches_seen: int, batch_size: int) -> float:
    """How much of the running sums to keep before adding a batch, as scikit-learn's mini-batch dictionary
    learning weighs them: early batches, coded with a poor dictionary, fade out."""
    if batches_seen < batch_size - 1:
        theta = (batches_seen + 1) * batch_size
    else:
        theta = batch_size**2 + batches_seen + 1 - batch_size
    return (theta + 1 - batch_size) / (theta + 1)


def evaluate(
    atoms: np.ndarray, levels: list[np.ndarray], sparsity: float, top_n: int = TOP_N
) -> tuple[FactorQuality, np.ndarray]:
    """Quality and importance of ``atoms`` on samples of every level: ``levels[l]`` is (n_l, hidden).

    Returns the quality and (levels, factors) importance over the same samples (:func:`factor_importance`).
    """
    dictionary = torch.from_numpy(atoms)
    bound = lipschitz(dictionary)
    errors, importance, active, nonzeros, tokens, steps = [], [], torch.zeros(len(atoms), dtype=torch.bool), 0.0, 0, 0
    for states in levels:
        inputs = _normalised(torch.as_tensor(states, dtype=torch.float32))
        coded = sparse_coding(dictionary, inputs, sparsity, bound=bound)
        codes = coded.codes
        residual = (inputs - codes @ dictionary).norm(dim=1)
        errors.append(float(residual.mean()))
        importance.append(_top_mean(codes, top_n))
        active |= (codes > 0).any(dim=0)
        nonzeros += float((codes > 0).sum())
        tokens += len(codes)
        steps += int(coded.steps.sum())
    shares = nonzeros / max(tokens, 1), 1.0 - float(active.float().mean()), steps / max(tokens, 1)
    return FactorQuality(tuple(errors), *shares), np.stack(importance)


def _top_mean(codes: torch.Tensor, top_n: int) -> np.ndarray:
    """(factors,) the mean of each column's ``top_n`` largest codes (all of them where there are fewer rows)."""
    return codes.topk(min(top_n, len(codes)), dim=0).values.mean(dim=0).numpy()


def factor_importance(atoms: np.ndarray, levels: list[np.ndarray], sparsity: float, top_n: int = TOP_N) -> np.ndarray:
    """(levels, factors) Yun et al.'s importance: the mean of each factor's ``top_n`` largest codes among the rows
    of each level (``levels[l]``: (n_l, hidden), coded in chunks)."""
    dictionary = torch.from_numpy(atoms)
    bound = lipschitz(dictionary)
    importance = []
    for states in levels:
        codes = torch.cat(
            [
                sparse_coding(
                    dictionary,
                    _normalised(
                        torch.as_tensor(np.asarray(states[start : start + CONTEXT_CHUNK]), dtype=torch.float32)
                    ),
                    sparsity,
                    bound=bound,
                ).codes
                for start in range(0, len(states), CONTEXT_CHUNK)
            ]
        )
        importance.append(_top_mean(codes, top_n))
    return np.stack(importance)


def learn_dictionary(
    levels: list[np.ndarray],
    weights: np.ndarray | None,
    settings: FactorSettings,
    *,
    model: str,
    revision: str,
    samples: int = 100_000,
    device: torch.device | str = "cpu",
    checkpoint_folder: Path | None = None,
    progress: Progress | None = None,
) -> FactorDictionary:
    """One dictionary for every level: learned on ``samples`` vectors drawn from all levels alike, with
    ``weights`` (over one level's rows, e.g. :func:`sample_weights`) down-weighting frequent pieces, then scored
    on held-out rows of every level.

    levels: per level (n, hidden), the same n rows (tokens) at every level.
    Raises ValueError when every code comes out zero (the sparsity is too high for these vectors).
    """
    started = time.perf_counter()
    rows = len(levels[0])
    rng = np.random.default_rng(settings.seed)
    held_out = rng.choice(rows, size=min(EVALUATION_ROWS, rows // 5), replace=False)  # as _held_out draws them
    training = np.setdiff1d(np.arange(rows), held_out)
    probabilities = weights[training] / weights[training].sum() if weights is not None else None
    per_level = max(1, samples // len(levels))
    picked = [rng.choice(training, size=per_level, p=probabilities) for _ in levels]
    training_samples = np.concatenate([np.asarray(level[chosen]) for level, chosen in zip(levels, picked, strict=True)])
    atoms = learn_atoms(
        training_samples, settings, device=device, checkpoint_folder=checkpoint_folder, progress=progress
    )
    quality, importance = _figures(atoms, levels, settings)
    return FactorDictionary(atoms, importance, settings, quality, model, revision, time.perf_counter() - started)


def _held_out(rows: int, seed: int) -> np.ndarray:
    """The rows :func:`learn_dictionary` holds out of learning, to measure the quality on (drawn first)."""
    return np.random.default_rng(seed).choice(rows, size=min(EVALUATION_ROWS, rows // 5), replace=False)


def _importance_rows(rows: int, seed: int) -> np.ndarray:
    """The rows, sorted, the importance is taken over: :data:`IMPORTANCE_ROWS` (or every row), drawn apart from
    learning's draws, so the number does not change what is learned."""
    return np.sort(np.random.default_rng([seed, 1]).choice(rows, size=min(IMPORTANCE_ROWS, rows), replace=False))


def _figures(atoms: np.ndarray, levels: list[np.ndarray], settings: FactorSettings) -> tuple[FactorQuality, np.ndarray]:
    """Quality on the held-out rows and importance over :func:`_importance_rows` of every level."""
    rows = len(levels[0])
    held_out = np.sort(_held_out(rows, settings.seed))
    quality, _ = evaluate(atoms, [np.asarray(level[held_out]) for level in levels], settings.sparsity)
    if quality.nonzeros == 0:
        raise ValueError(
            f"With sparsity {settings.sparsity} every code is zero: no factor explains any token. Lower the sparsity."
        )
    chosen = _importance_rows(rows, settings.seed)
    return quality, factor_importance(atoms, [level[chosen] for level in levels], settings.sparsity)


def rescore_from_store(dictionary: FactorDictionary, store: ActivationStore) -> FactorDictionary:
    """``dictionary`` with its figures (quality, importance, top contexts) measured again on ``store``, the store
    it was learned on, by today's coder; the atoms are kept as they are (nothing is learned)."""
    levels = [store.vectors(level) for level in range(store.levels)]
    quality, importance = _figures(dictionary.atoms, levels, dictionary.settings)
    contexts = find_top_contexts(dictionary.atoms, store, dictionary.settings.sparsity, seed=dictionary.settings.seed)
    return replace(dictionary, quality=quality, importance=importance, contexts=contexts)


def find_top_contexts(
    atoms: np.ndarray,
    store: ActivationStore,
    sparsity: float,
    *,
    pieces: int = CONTEXT_PIECES,
    top: int = CONTEXT_TOP,
    seed: int = 0,
    progress: Progress | None = None,
) -> TopContexts:
    """Each factor's ``top`` strongest pieces at each level among ``pieces`` pieces of the store, drawn at random."""
    rows = np.sort(
        np.random.default_rng(seed).choice(store.manifest.pieces, min(pieces, store.manifest.pieces), replace=False)
    )
    dictionary = torch.from_numpy(atoms)
    bound = lipschitz(dictionary)
    best_rows = np.zeros((store.levels, len(atoms), top), dtype=np.int64)
    best_codes = np.zeros((store.levels, len(atoms), top), dtype=np.float32)
    chunks = range(0, len(rows), CONTEXT_CHUNK)
    for level in range(store.levels):
        vectors = store.vectors(level)
        codes = torch.cat(
            [
                sparse_coding(
                    dictionary,
                    _normalised(
                        torch.from_numpy(np.asarray(vectors[rows[start : start + CONTEXT_CHUNK]], dtype=np.float32))
                    ),
                    sparsity,
                    bound=bound,
                ).codes
                for start in chunks
            ]
        )  # (pieces, factors)
        values, indices = codes.topk(min(top, len(rows)), dim=0)  # (top, factors)
        best_codes[level, :, : values.shape[0]] = values.T.numpy()
        best_rows[level, :, : values.shape[0]] = rows[indices.T.numpy()]
        if progress is not None:
            progress(level + 1, store.levels)
    return TopContexts(best_rows, best_codes, store.folder.name, store.manifest.corpus_name, store.layout)


def factor_summaries(dictionary: FactorDictionary, store: ActivationStore, words: int = 3) -> list[str]:
    """Per factor, one line from its top contexts at the level where it peaks: its most frequent words there
    (e.g. "bank, river, shore"), or "" where the dictionary has no contexts for it."""
    contexts = dictionary.contexts
    if contexts is None:
        return [""] * dictionary.factors
    peaks = dictionary.peak_level()
    rows = contexts.rows[peaks, np.arange(dictionary.factors)]  # (factors, top)
    used = contexts.codes[peaks, np.arange(dictionary.factors)] > 0
    described = describe_rows(store, rows[used])["word"].str.lower().to_numpy()
    owners = np.repeat(np.arange(dictionary.factors), used.sum(axis=1))
    summaries = []
    for factor in range(dictionary.factors):
        counts = pd.Series(described[owners == factor]).value_counts()
        summaries.append(", ".join(counts.index[:words]))
    return summaries


def sense_factors(dictionary: FactorDictionary, store: ActivationStore, word: str, top: int = 3) -> pd.DataFrame:
    """The factors whose codes best tell the senses of ``word`` apart, per level, on the word-sense sentences of
    ``store`` (texts with ``word``, ``sense_label`` and ``start`` columns; the target's first piece is coded).

    Returns level, factor, separation (Fisher's ratio: the variance of the senses' mean codes over the mean
    variance within a sense), and one ``mean <sense>`` column per sense; the ``top`` factors per level, best first.
    """
    texts = store.texts
    if not {"word", "sense_label", "start"} <= set(texts.columns):
        raise ValueError(f"The corpus '{store.manifest.corpus_name}' has no word-sense sentences.")
    chosen = texts[texts["word"] == word].reset_index(names="text_id")
    if chosen["sense_label"].nunique() < 2:
        raise ValueError(f"'{word}' is not a word of the word-sense set; pick one of its words.")
    pieces = store.tokens[["text_id", "start"]].reset_index(names="row")
    targets = chosen[["text_id", "start", "sense_label"]].astype({"start": int}).merge(pieces, on=["text_id", "start"])
    senses = sorted(targets["sense_label"].unique())
    records = []
    for level in range(store.levels):
        codes = dictionary.codes(np.asarray(store.vectors(level)[targets["row"].to_numpy()], dtype=np.float32))
        means = np.stack([codes[(targets["sense_label"] == sense).to_numpy()].mean(axis=0) for sense in senses])
        within = np.stack([codes[(targets["sense_label"] == sense).to_numpy()].var(axis=0) for sense in senses])
        separation = means.var(axis=0) / (within.mean(axis=0) + 1e-6)
        for factor in np.argsort(-separation, kind="stable")[:top]:
            record = {"level": level, "factor": int(factor), "separation": round(float(separation[factor]), 3)}
            records.append(
                record | {f"mean {sense}": round(float(means[i, factor]), 4) for i, sense in enumerate(senses)}
            )
    return pd.DataFrame(records)


def learn_from_store(
    store: ActivationStore,
    settings: FactorSettings,
    *,
    samples: int = 100_000,
    device: torch.device | str = "cpu",
    checkpoint_folder: Path | None = None,
    progress: StageProgress | None = None,
) -> FactorDictionary:
    """:func:`learn_dictionary` over every level of an activation store, frequent pieces down-weighted, then each
    factor's top contexts in the store. progress: called as ``progress(done, total, stage)``, stage
    :data:`LEARNING` then :data:`CONTEXTS`."""

    def staged(stage: str) -> Progress | None:
        return None if progress is None else lambda done, total: progress(done, total, stage)

    levels = [store.vectors(level) for level in range(store.levels)]
    learned = learn_dictionary(
        levels,
        sample_weights(store.tokens["piece"].to_numpy()),
        settings,
        model=store.manifest.model,
        revision=store.manifest.revision,
        samples=samples,
        device=device,
        checkpoint_folder=checkpoint_folder,
        progress=staged(LEARNING),
    )
    contexts = find_top_contexts(learned.atoms, store, settings.sparsity, seed=settings.seed, progress=staged(CONTEXTS))
    return replace(learned, contexts=contexts)
