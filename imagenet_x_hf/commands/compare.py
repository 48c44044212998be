"""``imagenet-x compare``: several models' error ratios side by side, with paired differences."""

from __future__ import annotations

import argparse
import json

from imagenet_x_hf.commands.examples import add_examples_option, with_examples
from imagenet_x_hf.commands.scoring import add_scoring_arguments, scoring_settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare several models: error ratios per factor and paired differences to a baseline",
        description=(
            "Compare models on ImageNet-X: a table of each model's error ratio per factor with its "
            "interval, and the paired difference of each model to a baseline, computed image by image "
            "on the images both cover (an interval that excludes 0 is a clear difference). Inputs are "
            "run directories of 'imagenet-x evaluate', predictions files (scored here) or results JSON "
            "files ('imagenet-x score ... --json' output, every model in it); paired differences need "
            "the predictions, so inputs without them are compared by their error ratios only."
        ),
    )
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="run directories, predictions files, results .json files or predictions repositories (DIR, "
        "DIR/MODEL, hf://datasets/ORG/REPO[/MODEL]) (two or more models)",
    )
    add_examples_option(p)
    p.add_argument(
        "--baseline", metavar="NAME", help="the model the others are compared to (default: the first input)"
    )
    p.add_argument(
        "--plot",
        metavar="PATH",
        action="append",
        help="write the grouped bar chart (.png, .svg or .pdf; repeatable) (default: no chart)",
    )
    p.add_argument("--no-paired", action="store_true", help="skip the paired differences (default: computed)")
    add_scoring_arguments(p, "Scoring (predictions files only)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables (default: tables)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from imagenet_x_hf.reports.compare import compare_models, comparison_json, format_comparison
    from imagenet_x_hf.reports.inputs import check_scoring_flags, load_all_model_results

    options = scoring_settings(args)
    models = [
        m
        for path in with_examples(args.inputs, args, what="INPUT")
        for m in load_all_model_results(path, options=options)
    ]
    check_scoring_flags(models, options)
    paired = not args.no_paired
    notes = []
    without = [m.name for m in models if m.predictions_path is None]
    if paired and without:
        paired = False
        notes.append(
            f"no paired differences: {', '.join(without)} came without predictions (pass run directories "
            "or predictions files to get them)"
        )
    report = compare_models(models, baseline=args.baseline, paired=paired)
    report["notes"] = notes
    if args.plot:
        from imagenet_x_hf.reports.plots import plot_comparison, save_figure

        fig = plot_comparison(
            list(report["models"].items()), comparisons=report["comparisons"], baseline=report["baseline"]
        )
        report["plots"] = [str(save_figure(fig, path)) for path in args.plot]
    if args.json:
        print(json.dumps(comparison_json(report), indent=2))
    else:
        print(format_comparison(report))
        for path in report.get("plots", []):
            print(f"\nwrote {path}")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
