"""The solver behind transformer factors (Yun et al. 2021), with no model or store in it: non-negative sparse
coding by FISTA, and mini-batch dictionary learning with checkpoints.

- :func:`sparse_coding`: ``min_c ½‖x − cΦ‖² + λ‖c‖₁, c ≥ 0`` in torch, at step 1/L, each row stopping once its
  objective settles (a relative change of at most :data:`FISTA_TOLERANCE`), with the steps it took;
  :func:`chunked_codes` codes many rows a chunk at a time.
- :func:`learn_atoms`: codes by FISTA, then the dictionary by the online method of Mairal et al. (2009): running
  sums ``A = Σ cᵀc`` and ``B = Σ cᵀx`` and a block-coordinate step on them, atoms kept at unit norm. Seeded, with
  progress, resumable from a checkpoint after every epoch.

Shapes: inputs ``(n, hidden)``, dictionary ``(factors, hidden)``, codes ``(n, factors)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from xray.cache import write_atomically
from xray.progress import Progress
from xray.translation import N_, _

LEARNING = N_("learning the dictionary")
FISTA_MAX_STEPS = 500  # Yun et al.'s code runs 500 steps at 1/L; here a row stops earlier once it has settled
FISTA_TOLERANCE = 1e-8  # a step that changes a row's objective by at most this share of it ends that row
# (on MiniLM, median ~200 steps; 0.4-0.8% of active factors differ from 500 steps, against 1.6-2.9% after 100)
LEARNING_STEPS = 60  # fewer (30) learn 2x faster but atoms that give ~7% denser codes at the same error
POWER_STEPS = 30
CODING_CHUNK = 2_048  # rows coded at once by chunked_codes


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


def check_finite(states: np.ndarray | torch.Tensor, what: str = N_("The hidden states")) -> None:
    """Raise ValueError if ``states`` hold NaN or infinity (a model in float16 can overflow). what: their name,
    marked with :func:`~xray.translation.N_`."""
    values = torch.as_tensor(states)
    if not bool(torch.isfinite(values).all()):
        message = _("{what} contain NaN or infinite values; load the model in float32 and try again.")
        raise ValueError(message.format(what=_(what)))


def lipschitz(dictionary: torch.Tensor) -> float:
    """L, the largest eigenvalue of ΦΦᵀ (the squared largest singular value of Φ): FISTA's step is 1/L, as in
    Yun et al.'s code."""
    return float(torch.linalg.matrix_norm(dictionary.double(), ord=2)) ** 2


def learning_bound(dictionary: torch.Tensor) -> float:
    """The step bound dictionary learning codes with: L by power iteration, times 1.01 (it approaches L from
    below). The shipped dictionary was learned with it, so learning keeps it."""
    gram = dictionary @ dictionary.T
    vector = torch.ones(gram.shape[0], dtype=gram.dtype, device=gram.device) / gram.shape[0] ** 0.5
    for _step in range(POWER_STEPS):
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
    for _step in range(max_steps):
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
    for _step in range(steps):
        gradient = (momentum_point @ dictionary - inputs) @ dictionary.T
        updated = torch.relu(momentum_point - step * (gradient + sparsity))
        next_momentum = (1 + (1 + 4 * momentum**2) ** 0.5) / 2
        momentum_point = updated + ((momentum - 1) / next_momentum) * (updated - codes)
        codes, momentum = updated, next_momentum
    return codes


def chunked_codes(
    dictionary: torch.Tensor,
    vectors: np.ndarray,
    sparsity: float,
    *,
    rows: np.ndarray | None = None,
    bound: float | None = None,
    columns: np.ndarray | None = None,
) -> torch.Tensor:
    """(n, factors) :func:`sparse_coding` codes of ``vectors`` (any array-like (N, hidden), e.g. a memory-mapped
    store level), normalised first: of its ``rows`` (n,) where given, else of every row, read and coded
    :data:`CODING_CHUNK` rows at a time. columns: keep only these factors' codes, (n, len(columns)) (every
    factor still takes part in the coding)."""
    bound = bound if bound is not None else lipschitz(dictionary)
    count = len(vectors) if rows is None else len(rows)
    kept = slice(None) if columns is None else torch.as_tensor(np.asarray(columns, dtype=np.int64))
    chunks = []
    for start in range(0, count, CODING_CHUNK):
        picked = slice(start, start + CODING_CHUNK) if rows is None else rows[start : start + CODING_CHUNK]
        inputs = normalised(torch.as_tensor(np.asarray(vectors[picked], dtype=np.float32)))
        chunks.append(sparse_coding(dictionary, inputs, sparsity, bound=bound).codes[:, kept])
    width = len(dictionary) if columns is None else len(columns)
    return torch.cat(chunks) if chunks else torch.zeros(0, width)


def normalised(rows: torch.Tensor) -> torch.Tensor:
    """``rows`` (n, hidden) scaled to unit length (rows of zeros stay zero): what every factor codes."""
    return rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _initial_atoms(samples: torch.Tensor, factors: int, generator: torch.Generator) -> torch.Tensor:
    """Atoms started on randomly chosen samples (unit norm), so every atom begins where the data lies."""
    if len(samples) < factors:
        raise ValueError(
            f"The corpus gives {len(samples):,} samples, fewer than the {factors:,} factors asked for: use fewer "
            "factors or a bigger corpus."
        )
    chosen = torch.randperm(len(samples), generator=generator)[:factors]
    return normalised(samples[chosen].clone())


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
    check_finite(samples, N_("The samples"))
    generator = torch.Generator().manual_seed(settings.seed)
    data = normalised(torch.as_tensor(samples, dtype=torch.float32)).to(device)
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
                progress(epoch * batches + number + 1, settings.epochs * batches, LEARNING)
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
