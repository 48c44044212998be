"""The scoring options every command that computes error ratios shares, generated from ``ScoringOptions``."""

from __future__ import annotations

import argparse

from imagenet_x_hf.settings import ScoringOptions, add_arguments, from_namespace


def add_scoring_arguments(
    parser: argparse.ArgumentParser,
    title: str,
    *,
    split: bool = True,
    confidence: bool = True,
) -> None:
    """Add the ``ScoringOptions`` fields to ``parser`` as an argument group named ``title``.

    ``split=False`` leaves out ``--split`` (for commands that declare it with their data);
    ``confidence=False`` leaves out ``--confidence-level``.
    """
    exclude = tuple(name for name, keep in (("split", split), ("confidence_level", confidence)) if not keep)
    add_arguments(parser, ScoringOptions, title, exclude=exclude)


def scoring_settings(args: argparse.Namespace) -> ScoringOptions:
    """The validated ``ScoringOptions`` that the parsed options give (defaults for those not declared)."""
    return from_namespace(ScoringOptions, args)
