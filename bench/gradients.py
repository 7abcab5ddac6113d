"""Benchmark the Gradients page's attributions against captum's recipe called with its defaults.

Run from the repository root (the hub is never needed):

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.gradients [--steps 50] [--repeats 5]

On one 25-token news sentence and the BBC topic classifier on the embedded MiniLM, it times, warm (after one
warm-up run each), medians of ``--repeats``:

- ``captum defaults``: ``LayerIntegratedGradients(f, embeddings).attribute(ids, baselines=blank, target=c,
  n_steps=steps, return_convergence_delta=True)`` with ``internal_batch_size=None`` (captum's default: every step
  in one batch), plus ``LayerGradientXActivation`` for gradient × input, as a user writes them;
- ``ours``: :func:`xray.techniques.gradients.explain_gradients` (integrated gradients, gradient × input and the
  gradient norm together, on the embeddings without a hook), at ``internal_batch_size`` None and 10.

Each row gives its speed-up over captum's defaults and the largest |difference| of its integrated gradients from
them. Numbers come from one run on one machine (a shared machine makes them noisy); nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # also runnable as `python bench/gradients.py`
    sys.path.insert(0, str(ROOT))
os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers reads it

import numpy as np  # noqa: E402
import torch  # noqa: E402
from captum.attr import LayerGradientXActivation, LayerIntegratedGradients  # noqa: E402

from xray.models.classifiers import topic_classifier  # noqa: E402
from xray.models.loading import EMBEDDED_MODEL, load_model  # noqa: E402
from xray.techniques.gradients import INTEGRATED_GRADIENTS, encode, explain_gradients  # noqa: E402

TEXT = (
    "The central bank raised interest rates again on Thursday, and shares in the largest lenders fell sharply in "
    "London."
)


def timed(run: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    """Median warm seconds of ``run`` over ``repeats`` runs after one warm-up, and its last output."""
    output = run()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        output = run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    classifier = topic_classifier(load_model(EMBEDDED_MODEL))
    encoded = encode(classifier, TEXT)
    layer = classifier.loaded.model.get_input_embeddings()
    target = int(classifier.predict_proba([TEXT])[0].argmax())

    def through_ids(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.expand(input_ids.shape[0], -1)
        return classifier.differentiable_proba(layer(input_ids).float(), mask)

    def captum_defaults() -> np.ndarray:
        with torch.enable_grad():
            arguments_ = {"target": target, "additional_forward_args": (encoded.attention_mask,)}
            integrated = LayerIntegratedGradients(through_ids, layer).attribute(
                encoded.input_ids,
                baselines=encoded.baseline_ids,
                n_steps=arguments.steps,
                return_convergence_delta=True,
                **arguments_,
            )[0]
            LayerGradientXActivation(through_ids, layer).attribute(encoded.input_ids, **arguments_)
        return integrated.sum(-1)[0].detach().numpy()

    def ours(batch: int | None) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            explanation = explain_gradients(
                classifier, TEXT, class_index=target, steps=arguments.steps, internal_batch_size=batch
            )
            return explanation.values[INTEGRATED_GRADIENTS]

        return run

    print(f"{len(encoded.tokens)} tokens, {arguments.steps} steps, torch threads {torch.get_num_threads()}")
    baseline_seconds, baseline = timed(captum_defaults, arguments.repeats)
    rows = [("captum defaults (LIG + LGxA, internal_batch_size=None)", baseline_seconds, baseline)]
    rows.append(("ours, internal_batch_size=None", *timed(ours(None), arguments.repeats)))
    rows.append(("ours, internal_batch_size=10", *timed(ours(10), arguments.repeats)))
    print(f"{'run':<58}{'seconds':>9}{'speed-up':>10}{'max |IG diff|':>15}")
    for name, seconds, values in rows:
        difference = float(np.abs(values - baseline).max())
        print(f"{name:<58}{seconds:>9.3f}{baseline_seconds / seconds:>9.2f}x{difference:>15.2e}")


if __name__ == "__main__":
    main()
