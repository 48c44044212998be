"""The ``imagenet-x`` command: one subcommand per job, each a thin layer over the library.

Every subcommand has ``--help``; those that report results take ``--json`` for
machine-readable output on stdout.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from collections.abc import Sequence

from imagenet_x_hf import __version__
from imagenet_x_hf.commands import COMMANDS
from imagenet_x_hf.errors import ImageNetXError


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (the usage it would print first is in ``--help``)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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


def cli_message(message: str, parser: argparse.ArgumentParser) -> str:
    r"""An error message in the command line's words, on one line.

    The library speaks of keyword arguments (``allow_missing=True``); on the command line
    the same setting is a flag (``--allow-missing``).

    >>> p = argparse.ArgumentParser(); _ = p.add_argument("--allow-missing", action="store_true")
    >>> cli_message("pass allow_missing=True to go on\nwith the rest", p)
    'pass --allow-missing to go on with the rest'
    """
    for action in parser._actions:
        if action.option_strings and isinstance(action.const, bool):
            flag = action.option_strings[-1]
            message = re.sub(rf"\b{re.escape(action.dest)}={action.const}\b", flag, message)
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # a warning is one line in the command's name, not Python's two (file:line, then source)
    warnings.formatwarning = lambda message, *_, **__: f"imagenet-x {args.command}: warning: {message}\n"
    try:
        return int(args.func(args) or 0)
    except ImageNetXError as err:
        command = _subparser(parser, args.command)
        print(f"imagenet-x {args.command}: error: {cli_message(str(err), command)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C: what is finished stays (a run's written shards); no traceback
        again = "; run the same command again to resume" if args.command == "evaluate" else ""
        print(f"imagenet-x {args.command}: interrupted{again}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (imagenet-x score ... | head): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    return parser


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
