"""``--examples``: the authors' four released prediction files as inputs of any command.

One helper for every command that reads prediction files (score, compare, rank, card):
the files are fetched through :mod:`imagenet_x_hf.zoo` (a local copy named by
``IMAGENET_X_ZOO``, the cache, or a pinned, hashed download), so the README's main job
works outside this repository.
"""

from __future__ import annotations

import argparse

EXAMPLE_NAMES = ("DINO", "ResNet50", "SimCLR", "ViT")
_HELP = (
    "add the authors' released predictions of four published models (DINO, ResNet50, SimCLR, ViT), "
    "downloaded once and checked by sha256, or read from $IMAGENET_X_ZOO (default: off)"
)


def add_examples_option(parser, *, single: bool = False) -> None:
    """Add ``--examples`` (all four files) or, with ``single``, ``--example NAME`` (one of them)."""
    if single:
        parser.add_argument(
            "--example",
            choices=EXAMPLE_NAMES,
            metavar="NAME",
            help=f"score one of the authors' released prediction files, {', '.join(EXAMPLE_NAMES)} "
            "(downloaded once, or read from $IMAGENET_X_ZOO) (default: none)",
        )
    else:
        parser.add_argument("--examples", action="store_true", help=_HELP)


def with_examples(inputs: list[str] | None, args: argparse.Namespace, *, what: str = "FILE") -> list[str]:
    """``inputs`` plus the example files when ``--examples`` (or ``--example``) was given; never empty."""
    from imagenet_x_hf.errors import ImageNetXError
    from imagenet_x_hf.zoo import example_predictions

    inputs = list(inputs or [])
    names = list(EXAMPLE_NAMES) if getattr(args, "examples", False) else []
    if getattr(args, "example", None):
        names = [args.example]
    if names:
        inputs += [str(p) for p in example_predictions(names, zoo_dir=getattr(args, "zoo_dir", None))]
    if not inputs:
        raise ImageNetXError(
            f"no input given; pass one or more {what} or --examples (the authors' released predictions)"
        )
    return inputs
