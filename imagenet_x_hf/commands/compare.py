"""``imagenet-x compare``: several models' error ratios side by side, with paired differences."""

from __future__ import annotations

import argparse
import json

from imagenet_x_hf.commands.examples import add_examples_option, with_examples
from imagenet_x_hf.commands.scoring import add_scoring_arguments, scoring_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare several models: error ratios per factor and paired differences to a baseline",
        description=(
            "Compare models on ImageNet-X: a table of each model's error ratio per factor with its "
            "interval, and the paired difference of each model to a baseline, computed image by image "
            "on the images both cover (an interval that excludes 0 is a clear difference). Inputs are "
            "run directories of 'imagenet-x evaluate' or predictions files (scored here)."
        ),
    )
    p.add_argument(
        "inputs", nargs="*", metavar="RUN_OR_CSV", help="run directories or predictions files (two or more)"
    )
    add_examples_option(p)
    p.add_argument(
        "--baseline", metavar="NAME", help="the model the others are compared to (default: the first input)"
    )
    p.add_argument(
        "--plot",
        metavar="PATH",
        action="append",
        help="write the grouped bar chart (.png or .svg; repeat for both) (default: no chart)",
    )
    p.add_argument("--no-paired", action="store_true", help="skip the paired differences (default: computed)")
    add_scoring_arguments(p, "Scoring (predictions files only)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables (default: tables)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagenet_x_hf.reports.compare import compare_models, format_comparison
    from imagenet_x_hf.reports.inputs import load_model_results

    options = scoring_options(args)
    models = [
        load_model_results(path, **options) for path in with_examples(args.inputs, args, what="RUN_OR_CSV")
    ]
    report = compare_models(models, baseline=args.baseline, paired=not args.no_paired)
    if args.plot:
        from imagenet_x_hf.reports.plots import plot_comparison, save_figure

        fig = plot_comparison(
            list(report["models"].items()), comparisons=report["comparisons"], baseline=report["baseline"]
        )
        report["plots"] = [str(save_figure(fig, path)) for path in args.plot]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_comparison(report))
        for path in report.get("plots", []):
            print(f"\nwrote {path}")
    return 0
