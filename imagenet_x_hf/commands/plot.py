"""``imagenet-x plot``: the error-ratio chart of one model, or grouped bars of several."""

from __future__ import annotations

import argparse
import json

from imagenet_x_hf.commands.scoring import add_scoring_arguments


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot",
        help="draw the error ratio per factor (with intervals and a line at 1) as PNG, SVG or PDF",
        description=(
            "Draw error ratios per ImageNet-X factor, in the paper's order, with their intervals and a "
            "dashed line at 1 (the model's average). One input gives one model's chart; several give "
            "grouped bars (use 'imagenet-x compare --plot' to add the paired differences)."
        ),
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="run directories, predictions files or results .json files ('imagenet-x score --json' output)",
    )
    p.add_argument(
        "--output",
        "-o",
        metavar="PATH",
        action="append",
        required=True,
        help="file to write, .png, .svg (text kept as text) or .pdf; repeatable (default: none, required)",
    )
    p.add_argument("--title", help="the chart's title (default: model name and accuracy)")
    add_scoring_arguments(p, "Scoring (predictions files only)")
    p.add_argument("--json", action="store_true", help="print the written paths as JSON (default: text)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagenet_x_hf.commands.scoring import scoring_settings
    from imagenet_x_hf.reports.inputs import (
        check_same_settings,
        check_scoring_flags,
        load_all_model_results,
        unique_names,
    )
    from imagenet_x_hf.reports.plots import plot_comparison, plot_error_ratios, save_figure

    options = scoring_settings(args)
    models = [m for path in args.inputs for m in load_all_model_results(path, options=options)]
    check_scoring_flags(models, options)
    if len(models) == 1:
        fig = plot_error_ratios(models[0].results, model=models[0].name, title=args.title)
    else:
        unique_names(models)
        check_same_settings(models)
        fig = plot_comparison([(m.name, m.results) for m in models], title=args.title)
    written = [str(save_figure(fig, path)) for path in args.output]
    if args.json:
        print(json.dumps({"written": written}, indent=2))
    else:
        print("wrote " + ", ".join(written))
    return 0
