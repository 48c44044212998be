"""``imagenet-x card``: write the ImageNet-X robustness section and eval results into a model card."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from imagenet_x_hf.commands.examples import add_examples_option, with_examples
from imagenet_x_hf.commands.scoring import add_scoring_arguments
from imagenet_x_hf.fields import add_arguments, from_namespace
from imagenet_x_hf.settings import CardOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "card",
        help="write a 'Robustness on ImageNet-X' section and eval results into a model card",
        description=(
            "Write a 'Robustness on ImageNet-X' section into a model card: a plain-language summary, "
            "a table of error ratios with intervals, a chart (PNG next to the card) and the commands "
            "that reproduce it. A second run replaces the section in place; the rest of the card is "
            "kept byte for byte. The card's model-index metadata gets the overall accuracy and the "
            "per-factor error ratios (one current set: a run with other settings replaces them; the "
            "card's other eval results are kept), and .eval_results/imagenet-x.yaml beside the card "
            "gets them in the Hub's evaluation-results format, linked to the benchmark --dataset-id. "
            "With --push, everything is uploaded to the Hub in one pull request (a rerun updates it; "
            "a direct commit with --commit)."
        ),
    )
    src = p.add_argument_group("Results (one of)").add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--run",
        metavar="DIR",
        help="a run directory of 'imagenet-x evaluate' (its results.json), or a results .json file, "
        "e.g. the output of 'imagenet-x score FILE --json' (default: none)",
    )
    src.add_argument(
        "--predictions",
        metavar="FILE",
        help="a predictions file (CSV 'file_name,predicted_class[,predicted_probability]' or Parquet), or one "
        "model of a predictions repository (DIR/MODEL, hf://datasets/ORG/REPO/MODEL), scored here (default: none)",
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
    add_arguments(p, CardOptions, "Model card", groups={"Model card": card})
    add_scoring_arguments(p, "Scoring (predictions files only)")
    p.add_argument("--json", action="store_true", help="print a JSON summary (default: one line of text)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagenet_x_hf.commands.scoring import scoring_settings
    from imagenet_x_hf.errors import ModelCardError
    from imagenet_x_hf.reports.card import push_card, read_hub_card, require_token, update_model_card
    from imagenet_x_hf.reports.inputs import (
        check_scoring_flags,
        load_model_results,
        read_results_file,
        read_run,
    )
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
        check_scoring_flags([model], scoring_settings(args))
    else:
        model = load_model_results(args.predictions, name=args.model_name, options=scoring_settings(args))
        folder = Path.cwd()
    options = from_namespace(CardOptions, args).replace(model_name=model.name)
    if model.results.zoo is None and options.zoo:
        from imagenet_x_hf.zoo import zoo_block

        # a note instead when the tables cannot be had
        model.results = model.results.replace(zoo=zoo_block(model.results))
    card_path = Path(args.model_card) if args.model_card else folder / "model_card" / "README.md"
    hub = read_hub_card(args.repo_id, revision=args.revision, token=token) if args.repo_id else None
    kind, source = model.kind, model.source
    if kind == "results" and model.run:  # a run's results.json passed as a file
        kind, source = "run", Path(model.source).parent
    update = update_model_card(
        card_path,
        model.results,
        options,
        reproduce=reproduce_commands(kind=kind, source=source, results=model.results, model=model.name),
        base_content=hub.card if hub else None,
        date=evaluation_date(kind, source),
        eval_results_base=hub.eval_results if hub else None,
        source_url=f"https://huggingface.co/{args.repo_id}" if args.repo_id else None,
    )
    summary = {
        "card": str(update.card),
        "chart": str(update.chart) if update.chart else None,
        "eval_results_file": str(update.eval_results_file) if update.eval_results_file else None,
        "section": update.section,
        "eval_results": update.eval_results,
        "other_eval_results": update.other_eval_results,
        "replaced_other_settings": update.replaced_other_settings,
        "eval_results_removed": update.eval_results_removed,
        "model": model.name,
    }
    notes = []
    if update.replaced_other_settings:
        notes.append(
            f"replaced {update.replaced_other_settings} earlier ImageNet-X results computed with other "
            "settings (--keep-other-settings keeps them)"
        )
    if update.eval_results_note and options.eval_results:
        notes.append(update.eval_results_note)
    if not options.eval_results:
        from imagenet_x_hf.reports.card import read_card
        from imagenet_x_hf.reports.eval_results import EVAL_RESULTS_FILE, is_ours, read_entries

        path = card_path.parent / EVAL_RESULTS_FILE
        text = hub.eval_results if hub else read_card(path)
        if any(is_ours(e) for e in read_entries(text, source=repr(str(path)))):
            notes.append(
                f"{EVAL_RESULTS_FILE} still holds earlier ImageNet-X results, not updated (--no-eval-results): "
                "they may no longer match the card; rerun without --no-eval-results, or delete the file"
            )
    summary["notes"] = notes
    if args.push and update.eval_results_file is not None:
        from imagenet_x_hf.reports.card import benchmark_warning
        from imagenet_x_hf.reports.eval_results import our_dataset_ids, read_entries

        entries = read_entries(update.eval_results_file.read_text(encoding="utf-8"), source="")
        for dataset_id in our_dataset_ids(entries):
            warning = benchmark_warning(dataset_id, token=token)
            if warning:
                notes.append(warning)
                print(f"warning: {warning}", file=sys.stderr)  # before the upload, not after
    if args.push:
        summary["pushed"] = push_card(
            update,
            args.repo_id,
            commit=args.commit,
            token=token,
            revision=args.revision,
            parent_commit=hub.commit if hub else None,
        )
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        written = [update.chart.name] if update.chart else []
        if update.eval_results_file:
            written.append(str(update.eval_results_file.relative_to(update.card.parent)))
        print(
            f"{update.section} the ImageNet-X section of {update.card} ({update.eval_results} eval results"
            + (f"; also wrote {', '.join(written)}" if written else "")
            + ")"
            + (f"; pushed: {summary['pushed']}" if args.push else "")
        )
        for note in notes:
            print(f"note: {note}")
    return 0


def evaluation_date(kind: str, source) -> str | None:
    """When a run's evaluation started (its last invocation, UTC date), or None when unknown.

    A predictions or results file does not say when its predictions were made; the Hub then
    shows the date of the commit.
    """
    if kind != "run":
        return None
    path = Path(source) / "invocations.json"  # runner.store.INVOCATIONS (not imported: it loads torch)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
        started = records[-1]["started_at"]
    except (OSError, ValueError, LookupError, TypeError):
        return None
    return started[:10] if isinstance(started, str) and len(started) >= 10 else None
