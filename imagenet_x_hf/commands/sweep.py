"""``imagenet-x sweep``: many models over one pass of the images per preprocessing, and a leaderboard."""

from __future__ import annotations

import argparse
import json
import sys

from imagenet_x_hf.commands.evaluate import add_run_arguments, requested_models, run_options
from imagenet_x_hf.settings import RunOptions, add_arguments


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="evaluate many models, decoding each image once per preprocessing; write a leaderboard",
        description=(
            "Evaluate every model of a list on ImageNet-X. Models whose preprocessing gives the same "
            "pixels (resize, crop, interpolation; mean and std may differ) share one decode of each "
            "image. Each model gets OUTPUT/<model folder>, exactly the folder 'imagenet-x evaluate' "
            "writes (same predictions, same fingerprint; either command resumes it); OUTPUT/summary.json "
            "lists every model's status, and OUTPUT/leaderboard.{csv,md,html} compares them. A model "
            "that fails is recorded and the others go on; a killed sweep resumes model by model when "
            "started again with the same command. Runs on CPU, one GPU or many processes (torchrun or "
            "accelerate launch -m imagenet_x_hf sweep ...), sharding the images as evaluate does."
        ),
    )
    groups = add_run_arguments(
        p,
        model_help="Hub model id or local directory; repeatable",
        models_file_help="text file with one model per line; blank lines and # comments are skipped",
        output_help="sweep folder: one sub-folder per model, summary.json, leaderboard.*",
        json_help="print the summary as JSON (default: one line per model)",
    )
    groups["speed and numerics"].add_argument(
        "--memory-budget",
        type=float,
        metavar="GB",
        help="memory the weights of models predicting together may take; a group that does not fit "
        "is predicted in rounds (default: half of the free GPU memory, or of the available RAM)",
    )
    add_arguments(p, RunOptions, "scoring (results.json)", groups=groups)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as evaluate does (see commands/evaluate.py)
    from imagenet_x_hf.errors import ImageNetXError
    from imagenet_x_hf.reports.leaderboard import write_sweep_leaderboard
    from imagenet_x_hf.runner.collectives import make_accelerator
    from imagenet_x_hf.runner.sweep import sweep_models

    models = requested_models(args)
    if args.memory_budget is not None and args.memory_budget <= 0:
        raise ImageNetXError(f"--memory-budget must be a positive number of GB, not {args.memory_budget}")
    budget = None if args.memory_budget is None else int(args.memory_budget * (1 << 30))
    options = run_options(args)
    accelerator = make_accelerator(cpu=True if args.cpu else None)
    try:
        summary = sweep_models(
            models, args.output, options=options, accelerator=accelerator, memory_budget=budget
        )
        if accelerator.is_main_process:
            summary = write_sweep_leaderboard(args.output, summary)
            if args.json:
                print(json.dumps(summary, indent=2))
            else:
                for entry in summary["models"]:
                    ok = entry["status"] == "ok"
                    detail = (
                        f"accuracy {entry['accuracy']:.4f}" if ok else f"{entry['stage']}: {entry['error']}"
                    )
                    print(f"{entry['status']:<6} {entry['model']}: {detail}")
                print(f"summary: {args.output}/summary.json", file=sys.stderr)
                board = summary.get("leaderboard", {})
                if "error" in board:
                    print(f"no leaderboard: {board['error']}", file=sys.stderr)
                else:
                    print(f"leaderboard: {board.get('html')} (also .csv, .md)", file=sys.stderr)
        return 1 if summary["failed"] else 0
    finally:
        accelerator.end_training()


def register_leaderboard(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "leaderboard",
        help="compare many models in one table: leaderboard.csv, .md and .html",
        description=(
            "Write OUTPUT/leaderboard.csv, OUTPUT/leaderboard.md and OUTPUT/leaderboard.html: per model "
            "the accuracy, the 16 error ratios with their intervals and the place among the ImageNet-X "
            "authors' zoo, ranked by accuracy; the HTML table sorts by any column. SOURCE is a sweep "
            "folder ('imagenet-x sweep --output'; its failed models are listed with their error), a run "
            "folder, a results .json or a predictions .csv/.parquet file (scored with the default "
            "settings). 'imagenet-x sweep' writes its leaderboard itself; this command rewrites it "
            "(after a resumed model finished, say) or builds one from other runs."
        ),
    )
    p.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="sweep folders, runs, results or predictions files"
    )
    p.add_argument(
        "--output",
        metavar="DIR",
        help="where the three files go (default: the SOURCE folder when it is the one sweep folder given)",
    )
    p.add_argument("--json", action="store_true", help="print the rows as JSON (default: the Markdown table)")
    p.set_defaults(func=run_leaderboard)


def run_leaderboard(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from imagenet_x_hf.errors import ImageNetXError
    from imagenet_x_hf.reports.leaderboard import SUMMARY, source_rows, to_markdown, write_leaderboard

    output = args.output
    if output is None:
        if len(args.sources) != 1 or not (Path(args.sources[0]) / SUMMARY).is_file():
            raise ImageNetXError(
                "pass --output DIR: the leaderboard goes beside a sweep only when one sweep folder is given"
            )
        output = args.sources[0]
    rows = source_rows(args.sources)
    paths = write_leaderboard(output, rows)
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
    else:
        print(to_markdown(rows), end="")
    print(f"leaderboard: {paths['html']} (also .csv, .md)", file=sys.stderr)
    return 0
