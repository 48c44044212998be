"""``imagenet-x export-predictions``: many models' per-image predictions as one Hub dataset repository."""

from __future__ import annotations

import argparse
import json

from imagenet_x_hf.commands.examples import add_examples_option, with_examples


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-predictions",
        usage="imagenet-x export-predictions [options] [RUN_OR_FILE ...] DIR",
        help="write runs' per-image predictions as a Hub dataset repository (one configuration per model)",
        description=(
            "Write the per-image predictions of one or more models as a Hugging Face dataset repository: "
            "predictions/<model>.parquet per model (file_name, top-1 class and probability, top-5 classes and "
            "probabilities when the run kept them, logits in float16 with --logits), models.parquet (model id "
            "and revision, the run's settings and fingerprint, accuracy, model type, load report, licence) and "
            "a README.md card whose YAML declares one configuration per model, so that "
            "datasets.load_dataset(DIR, MODEL) works. Exporting into an earlier export replaces the models "
            "given and keeps the others. Every command that reads predictions (score, compare, rank, card, "
            "report) reads the folder, DIR/MODEL, or hf://datasets/ORG/REPO[/MODEL] once pushed. The authors' "
            "released prediction files keep their CC BY-NC 4.0 licence. With --push, upload to the Hub as a "
            "pull request (a direct commit with --commit)."
        ),
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="run directories of 'imagenet-x evaluate' or prediction files (.csv in the authors' format, "
        ".parquet), then the repository folder: new, empty, or an earlier export",
    )
    add_examples_option(p)
    meta = p.add_argument_group("What the models table records")
    meta.add_argument(
        "--name",
        help="the model's name, with a single input (default: the run's model id, or the file stem)",
    )
    meta.add_argument(
        "--model-type",
        metavar="TYPE",
        help="model type of every input, e.g. 'standard', 'self-supervised' (default: the authors' type for "
        "a model of their zoo when their tables are at hand, else none)",
    )
    meta.add_argument(
        "--family",
        metavar="NAME",
        help="family of every input, e.g. the name of a hyper-parameter sweep; 'rank --zoo-extra' counts a "
        "family's models together (default: none, each model its own)",
    )
    meta.add_argument(
        "--license",
        metavar="ID",
        help="licence of the predictions, a Hub licence id such as apache-2.0 (default: not stated; the "
        "authors' files are always cc-by-nc-4.0)",
    )
    p.add_argument(
        "--logits",
        action="store_true",
        help="also export the 1000 logits per image in float16, from a Parquet input with a 'logits' column "
        "(default: top-1 and top-5 only)",
    )
    hub = p.add_argument_group("Hub")
    hub.add_argument(
        "--push",
        metavar="REPO_ID",
        help="upload the models given to this Hub dataset repo; models already there are kept (default: no upload)",
    )
    hub.add_argument(
        "--commit",
        action="store_true",
        help="with --push, commit to the main branch instead of opening a pull request (default: pull request)",
    )
    hub.add_argument(
        "--private", action="store_true", help="with --push, create the repo private (default: public)"
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary (default: one line per model)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagenet_x_hf.share import PredictionsRepoError, export_predictions

    *inputs, output_dir = args.paths
    if not inputs and not args.examples:
        raise PredictionsRepoError(
            "give the runs or prediction files to export, then the repository folder (or --examples DIR)"
        )
    args.inputs = with_examples(inputs, args, what="RUN_OR_FILE")
    args.output_dir = output_dir
    if args.commit and not args.push:
        raise PredictionsRepoError(
            "--commit only applies to an upload; add --push REPO_ID (or drop --commit)"
        )
    if args.name and len(args.inputs) > 1:
        raise PredictionsRepoError(
            f"--name names one model but {len(args.inputs)} inputs were given; export them one at a time to name each"
        )
    token = None
    if args.push:
        from imagenet_x_hf.reports.card import require_token

        token = require_token()  # before any work: fail now if the upload could not happen
    result = export_predictions(
        args.inputs,
        args.output_dir,
        names=[args.name] if args.name else None,
        logits=args.logits,
        model_type=args.model_type,
        family=args.family,
        license=args.license,
        repo_id=args.push,
    )
    summary = result.to_dict()
    if args.push:
        from imagenet_x_hf.share.push import push_predictions

        summary["pushed"] = push_predictions(
            result.directory,
            args.push,
            configs=[m.config for m in result.exported],
            commit=args.commit,
            private=args.private,
            token=token,
        )
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    for m in result.exported:
        extras = ", top-5" if m.has_top5 else ""
        extras += ", logits" if m.has_logits else ""
        print(
            f"{'replaced' if m.replaced else 'added'} {m.config} ({m.model}): {m.images:,} images{extras} -> "
            f"{result.directory / m.file}"
        )
    print(
        f"{result.directory}: {len(result.models)} models; datasets.load_dataset({str(result.directory)!r}, MODEL)"
    )
    if args.push:
        print(f"pushed: {summary['pushed']}")
    return 0
