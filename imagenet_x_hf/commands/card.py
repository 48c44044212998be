"""``imagenet-x card``: write the ImageNet-X robustness section and eval results into a model card."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from imagenet_x_hf.commands.examples import add_examples_option, with_examples
from imagenet_x_hf.commands.scoring import add_scoring_arguments, scoring_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "card",
        help="write a 'Robustness on ImageNet-X' section and eval results into a model card",
        description=(
            "Write a 'Robustness on ImageNet-X' section into a model card: a plain-language summary, "
            "a table of error ratios with intervals, a chart (PNG next to the card) and the commands "
            "that reproduce it. A second run replaces the section in place; the rest of the card is "
            "kept byte for byte. The card's model-index metadata gets the overall accuracy and the "
            "per-factor error ratios (the card's other eval results are kept). With --push, the card "
            "and chart are uploaded to the Hub as a pull request (a direct commit with --commit)."
        ),
    )
    src = p.add_argument_group("Results (one of)").add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--run",
        metavar="DIR",
        help="a run directory of 'imagenet-x evaluate' (its results.json), or a results .json file (default: none)",
    )
    src.add_argument(
        "--predictions",
        metavar="FILE",
        help="a predictions file (CSV 'file_name,predicted_class[,predicted_probability]' or Parquet), "
        "scored here (default: none)",
    )
    add_examples_option(src, single=True)
    card = p.add_argument_group("Model card")
    card.add_argument(
        "--model-card",
        metavar="PATH",
        help="the local card to update, created if missing (default: model_card/README.md in the run "
        "directory, or in the current directory with --predictions)",
    )
    card.add_argument(
        "--repo-id",
        metavar="ID",
        help="a Hub model repo: its card is downloaded and updated into --model-card (default: none, local card only)",
    )
    card.add_argument(
        "--push", action="store_true", help="upload the card and chart to --repo-id (default: no upload)"
    )
    card.add_argument(
        "--commit",
        action="store_true",
        help="with --push, commit to the main branch instead of opening a pull request (default: pull request)",
    )
    card.add_argument("--revision", help="branch of --repo-id to read from and push to (default: main)")
    card.add_argument(
        "--template",
        metavar="PATH",
        help="a Jinja template for the section (default: the built-in robustness_section.md.j2)",
    )
    card.add_argument(
        "--model-name", help="the model's name in the card (default: from the results, or the file name)"
    )
    card.add_argument(
        "--dataset-id",
        default="imagenet-x",
        help="the dataset id in model-index, e.g. your export's Hub id (default: imagenet-x)",
    )
    card.add_argument(
        "--no-chart", action="store_true", help="do not write or embed the chart (default: chart)"
    )
    add_scoring_arguments(p, "Scoring (predictions files only)")
    p.add_argument("--json", action="store_true", help="print a JSON summary (default: one line of text)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagenet_x_hf.reports.card import download_card, push_card, require_token, update_model_card
    from imagenet_x_hf.reports.errors import ModelCardError
    from imagenet_x_hf.reports.inputs import load_model_results, read_results_file, read_run
    from imagenet_x_hf.reports.reproduce import reproduce_commands

    if (args.push or args.commit) and not args.repo_id:
        raise ModelCardError("--push and --commit need --repo-id ID (the Hub model repo to upload to)")
    if args.commit and not args.push:
        raise ModelCardError("--commit only applies to an upload; add --push (or drop --commit)")
    # Fail before any work or download when the upload could not happen anyway.
    token = require_token() if args.push else None

    if args.example:
        args.predictions = with_examples([], args)[0]
    if args.run:
        path = Path(args.run)
        model = (
            read_run(path, name=args.model_name)
            if path.is_dir()
            else read_results_file(path, name=args.model_name)
        )
        folder = path if path.is_dir() else path.parent
    else:
        model = load_model_results(args.predictions, name=args.model_name, **scoring_options(args))
        folder = Path.cwd()
    card_path = Path(args.model_card) if args.model_card else folder / "model_card" / "README.md"
    base = download_card(args.repo_id, revision=args.revision, token=token) if args.repo_id else None
    update = update_model_card(
        card_path,
        model.results,
        model=model.name,
        base_content=base,
        chart=not args.no_chart,
        reproduce=reproduce_commands(
            kind=model.kind, source=model.source, results=model.results, run=model.run
        ),
        template=args.template,
        dataset_id=args.dataset_id,
    )
    summary = {
        "card": str(update.card),
        "chart": str(update.chart) if update.chart else None,
        "section": update.section,
        "eval_results": update.eval_results,
        "other_eval_results": update.other_eval_results,
        "model": model.name,
    }
    if args.push:
        summary["pushed"] = push_card(
            update, args.repo_id, commit=args.commit, token=token, revision=args.revision
        )
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{update.section} the ImageNet-X section of {update.card} ({update.eval_results} eval results"
            + (f", chart {update.chart.name}" if update.chart else "")
            + ")"
            + (f"; pushed: {summary['pushed']}" if args.push else "")
        )
    return 0
