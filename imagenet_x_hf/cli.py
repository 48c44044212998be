"""The ``imagenet-x`` command: one subcommand per job, each a thin layer over the library.

Every subcommand has ``--help``; those that report results take ``--json`` for
machine-readable output on stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from imagenet_x_hf import __version__
from imagenet_x_hf.commands import COMMANDS
from imagenet_x_hf.errors import ImageNetXError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagenet-x",
        description=(
            "ImageNet-X for the Hugging Face ecosystem: explain an ImageNet classifier's "
            "mistakes by 16 human-annotated factors of variation (pose, background, "
            "lighting, ...). Run 'imagenet-x COMMAND --help' for each command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ImageNetXError as err:
        print(f"imagenet-x {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
