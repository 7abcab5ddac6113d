"""Command line for heavy precomputation: ``python -m xray <command> ...``.

train-head: train the embedded BBC News topic head on MiniLM and write it (default: the shipped file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xray.models.classifiers import HEAD_FILE
from xray.models.loading import EMBEDDED_MODEL, load_model
from xray.models.train_head import train_topic_head


def _train_head(arguments: argparse.Namespace) -> int:
    loaded = load_model(arguments.model)

    def report(done: int, total: int) -> None:
        print(f"\rembedding articles: {done}/{total}", end="", file=sys.stderr, flush=True)

    head, training = train_topic_head(loaded, seed=arguments.seed, bf16=arguments.bf16, progress=report)
    print(file=sys.stderr)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    head.save(arguments.out)
    print(
        f"held-out accuracy {training.held_out_accuracy:.4f} on {training.test_size} articles "
        f"(trained on {training.train_size}) in {training.seconds:.1f} s; wrote {arguments.out}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xray", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train-head", help="train the BBC News topic head on the embedded MiniLM")
    train.add_argument("--model", default=EMBEDDED_MODEL, help="encoder to embed with (default: %(default)s)")
    train.add_argument("--seed", type=int, default=0, help="seed of the stratified 80/20 split (default: 0)")
    train.add_argument("--bf16", action="store_true", help="embed under bfloat16 autocast (faster, not bit-exact)")
    train.add_argument("--out", type=Path, default=HEAD_FILE, help="where to write the head (default: shipped file)")
    train.set_defaults(run=_train_head)
    arguments = parser.parse_args(argv)
    return arguments.run(arguments)


if __name__ == "__main__":
    sys.exit(main())
