"""``imagenet-x stats``: how many images carry each factor."""

from __future__ import annotations

import argparse
import json

from imagenet_x_hf.fields import add_arguments, from_namespace
from imagenet_x_hf.settings import SCORING_FIELDS, ScoringOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stats",
        help="print how many images carry each factor (multi- and top-factor), per split",
        description=(
            "Print the factor statistics of the ImageNet-X annotations: rows per split and, "
            "for each of the 16 factors, the number of images annotated with it (multi-factor: "
            "any of the marked factors; top-factor: the single most salient one). These are "
            "the numbers of the dataset card."
        ),
    )
    # the prototype switch of the scoring settings, generated from the same field
    keep = ("filter_prototypes",)
    add_arguments(p, ScoringOptions, "counting", exclude=tuple(f for f in SCORING_FIELDS if f not in keep))
    p.add_argument("--json", action="store_true", help="print JSON instead of a table (default: table)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagenet_x_hf.stats import factor_statistics, format_table

    stats = factor_statistics(filter_prototypes=from_namespace(ScoringOptions, args).filter_prototypes)
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(format_table(stats))
    return 0
