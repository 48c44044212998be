"""The scoring options every command that computes error ratios shares, declared once."""

from __future__ import annotations

import argparse


def add_scoring_arguments(
    parser: argparse.ArgumentParser,
    title: str,
    *,
    split: bool = True,
    confidence: bool = True,
) -> None:
    """Add the scoring options to ``parser`` as an argument group named ``title``.

    ``split=False`` leaves out ``--split`` (for commands that declare it with their data);
    ``confidence=False`` leaves out ``--confidence-level``.
    """
    g = parser.add_argument_group(title)
    if split:
        g.add_argument(
            "--split",
            choices=("validation", "train"),
            default="validation",
            help="the annotated split the predictions are for (default: validation)",
        )
    g.add_argument(
        "--which-factor",
        choices=("top", "multi"),
        default="top",
        help="top: each image's most salient factor; multi: every factor marked (default: top)",
    )
    g.add_argument(
        "--error-type",
        choices=("class", "real_class", "metaclass"),
        default="class",
        help="class: top-1; real_class: prediction in the ImageNet-ReaL set; "
        "metaclass: predicted metaclass is the true one (default: class)",
    )
    g.add_argument(
        "--keep-prototypes",
        action="store_true",
        help="score the annotators' prototype images too (default: excluded, as in the paper)",
    )
    g.add_argument(
        "--empty-real",
        choices=("error", "exclude"),
        default="error",
        help="with real_class, images without ReaL labels count as errors (the toolkit) "
        "or are excluded (the ReaL protocol) (default: error)",
    )
    if confidence:
        g.add_argument(
            "--confidence-level",
            type=float,
            default=0.95,
            help="level of the error-ratio intervals (default: 0.95)",
        )


def scoring_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of ``score_predictions`` that the parsed options give."""
    options = {
        "which_factor": args.which_factor,
        "error_type": args.error_type,
        "filter_prototypes": not args.keep_prototypes,
        "empty_real": args.empty_real,
    }
    if hasattr(args, "split"):
        options["split"] = args.split
    if hasattr(args, "confidence_level"):
        options["confidence_level"] = args.confidence_level
    return options
