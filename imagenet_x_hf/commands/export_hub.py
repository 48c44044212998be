"""``imagenet-x export-hub``: write (and optionally push) the Hub dataset repository."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-hub",
        help="write the annotations as a Hub-ready dataset repository (Parquet + card)",
        description=(
            "Write the ImageNet-X annotations as a Hugging Face dataset repository: Parquet "
            "files per config and split, a README.md dataset card whose YAML declares the "
            "configs and features, and eval.yaml, which declares the repository a Hub benchmark "
            "(tasks: overall accuracy and each factor's error ratio) whose leaderboards collect "
            "the results 'imagenet-x card --dataset-id REPO_ID' writes. 'datasets.load_dataset(DIR)' "
            "loads the folder offline. With --push, upload it to the Hub (as a pull request unless "
            "--commit; a rerun updates that pull request)."
        ),
    )
    p.add_argument("output_dir", metavar="DIR", help="an empty (or new) folder to write into")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty folder (default: refuse)")
    p.add_argument(
        "--push",
        metavar="REPO_ID",
        help="upload to this Hub dataset repo; its id also goes into the card's load_dataset examples "
        "(default: no upload)",
    )
    p.add_argument(
        "--commit",
        action="store_true",
        help="with --push, commit straight to the main branch, refused if it moved since it was read "
        "(default: open a pull request)",
    )
    p.add_argument(
        "--private", action="store_true", help="with --push, create the repo private (default: public)"
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary (default: one line of text)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagenet_x_hf.export import export_hub, push_to_hub

    out = export_hub(args.output_dir, overwrite=args.overwrite, repo_id=args.push)
    summary = {
        "output_dir": str(out),
        "files": sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()),
    }
    from imagenet_x_hf.reports.eval_results import registration_steps

    if args.push:
        summary["pushed"] = push_to_hub(out, args.push, commit=args.commit, private=args.private)
    # A pushed dataset with an eval.yaml is not yet a benchmark: say what else it takes.
    summary["benchmark_steps"] = registration_steps(args.push)[1 if args.push else 0 :]
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"wrote {len(summary['files'])} files to {out}"
            + (f"; pushed: {summary['pushed']}" if args.push else "")
        )
        print("to make it a Hub benchmark whose leaderboard collects 'imagenet-x card' results:")
        for i, step in enumerate(summary["benchmark_steps"], 1):
            print(f"  {i}. {step}")
    return 0
