"""``imagenet-x report``: one self-contained HTML page of a model's results and the images it gets wrong."""

from __future__ import annotations

import argparse
import json
import shlex

from imagenet_x_hf.commands.scoring import add_scoring_arguments, scoring_options

SOURCE_KINDS = ("folder", "class_folders", "val_tar", "train_tar", "webdataset", "parquet", "hub")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report: error ratios, breakdowns and a gallery of mistakes",
        description=(
            "Write one HTML file that opens offline in any browser: the accuracy and per-factor error "
            "ratios with intervals, where the model stands among the authors' released models (when the "
            "zoo is available), per-metaclass and calibration breakdowns, and per factor a gallery of "
            "misclassified images with the true class, the top-5 predictions and what the annotators "
            "wrote. With --imagenet the gallery shows thumbnails read from your ImageNet copy (only the "
            "images shown are read). With --compare, the paired differences to other models and the "
            "images one gets right and the other wrong."
        ),
    )
    p.add_argument(
        "run",
        metavar="RUN",
        help="a run directory of 'imagenet-x evaluate', a predictions .csv/.parquet file, or one model of a "
        "predictions repository (DIR/MODEL, hf://datasets/ORG/REPO/MODEL)",
    )
    p.add_argument(
        "--output",
        "-o",
        metavar="PATH",
        required=True,
        help="the HTML file to write (default: none, required)",
    )
    data = p.add_argument_group("Images")
    data.add_argument(
        "--imagenet",
        metavar="SOURCE",
        help="your ImageNet copy, for thumbnails: ILSVRC2012_img_val.tar, an extracted folder, WebDataset "
        "shards, a Parquet copy or a Hub id (default: none, the report says how to add them)",
    )
    data.add_argument(
        "--source-kind",
        choices=SOURCE_KINDS,
        help="the kind of --imagenet, when detection should be skipped (default: detected)",
    )
    data.add_argument(
        "--per-factor",
        type=int,
        default=12,
        metavar="N",
        help="misclassified images shown per factor (default: 12)",
    )
    data.add_argument(
        "--seed",
        type=int,
        default=0,
        help="which images the sample shows; same seed, same images (default: 0)",
    )
    data.add_argument(
        "--thumbnail-size",
        type=int,
        default=192,
        metavar="PX",
        help="longer side of the embedded images in pixels: cards show them at 128 px and a click "
        "enlarges them; 384 gives sharper enlargements and a page about three times larger (default: 192)",
    )
    comp = p.add_argument_group("Comparison")
    comp.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="RUN",
        help="other runs or predictions files: paired differences and the images the models disagree "
        "on (default: none)",
    )
    comp.add_argument(
        "--compare-per-factor",
        type=int,
        default=4,
        metavar="N",
        help="images shown per factor and direction in each comparison (default: 4)",
    )
    page = p.add_argument_group("Page")
    page.add_argument("--title", help="the page title (default: 'ImageNet-X report: MODEL')")
    page.add_argument("--model-name", help="the model's name on the page (default: from the results)")
    page.add_argument(
        "--no-zoo",
        action="store_true",
        help="do not look up the model's place among the released models (default: shown when available)",
    )
    hub = p.add_argument_group("Hub")
    hub.add_argument(
        "--push",
        metavar="REPO_ID",
        help="upload the report to this Hub repo as a pull request; mind ImageNet's terms before "
        "publishing thumbnails (default: no upload)",
    )
    hub.add_argument(
        "--repo-type",
        choices=("model", "dataset", "space"),
        default="model",
        help="type of the --push repo (default: model)",
    )
    hub.add_argument(
        "--path-in-repo",
        default="imagenet_x_report.html",
        help="file name in the repo (default: imagenet_x_report.html)",
    )
    hub.add_argument(
        "--commit",
        action="store_true",
        help="with --push, commit to the branch instead of opening a pull request (default: pull request)",
    )
    hub.add_argument("--revision", help="branch to push to (default: main)")
    add_scoring_arguments(p, "Scoring (predictions files only)")
    p.add_argument(
        "--no-progress", action="store_true", help="no progress bar (default: shown on a terminal)"
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary (default: one line of text)")
    p.set_defaults(func=run)


def _public(path: str) -> str:
    """A path as the page shows it: its last part only, since the page may be published.

    >>> _public("/home/me/runs/vit"), _public("runs/vit"), _public("hf://datasets/me/preds/vit")
    ('vit', 'vit', 'hf://datasets/me/preds/vit')
    """
    from pathlib import Path

    return path if "://" in path else (Path(path).name or path)


def _hint(args: argparse.Namespace, model) -> str:
    """The command that rebuilds this report with thumbnails (local folders by their last part)."""
    from pathlib import Path

    recorded = ((model.run or {}).get("dataset") or {}).get("imagenet")
    source = "/path/to/ILSVRC2012_img_val.tar"
    if isinstance(recorded, str) and recorded:
        # a Hub id is public; a local copy is named by its last part only
        local = Path(recorded).expanduser().is_absolute() or Path(recorded).exists()
        source = f"/path/to/{Path(recorded).name}" if local else recorded
    words = ["imagenet-x", "report", _public(args.run), "--imagenet", source]
    if args.compare:
        words += ["--compare", *map(_public, args.compare)]
    if args.per_factor != 12:
        words += ["--per-factor", str(args.per_factor)]
    if args.seed:
        words += ["--seed", str(args.seed)]
    words += ["-o", _public(args.output)]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    from imagenet_x_hf.errors import ResultsFileError
    from imagenet_x_hf.reports.html import build_report, push_report, write_report
    from imagenet_x_hf.reports.html.report import check_output
    from imagenet_x_hf.reports.inputs import SETTINGS, load_all_model_results, load_model_results

    if args.commit and not args.push:
        raise ResultsFileError("--commit only applies to an upload; add --push REPO_ID (or drop --commit)")
    check_output(args.output)  # before any work: a bad -o fails now, in one line
    token = None
    if args.push:
        from imagenet_x_hf.reports.card import require_token

        token = require_token()  # before any work: fail now if the upload could not happen

    model = load_model_results(args.run, name=args.model_name, **scoring_options(args))
    # Predictions files given to --compare are scored with the main model's settings.
    same = {k: model.results[k] for k in SETTINGS if model.results.get(k) is not None}
    others = [m for path in args.compare for m in load_all_model_results(path, **same)]
    report = build_report(
        model,
        compare=others,
        imagenet=args.imagenet,
        source_kind=args.source_kind,
        per_factor=args.per_factor,
        compare_per_factor=args.compare_per_factor,
        seed=args.seed,
        thumbnail_size=args.thumbnail_size,
        zoo=not args.no_zoo,
        title=args.title,
        hint=_hint(args, model),
        progress=not args.no_progress,
    )
    path = write_report(report, args.output)
    summary = {
        "report": str(path),
        "bytes": report.bytes,
        "model": report.model,
        "images_shown": report.images_shown,
        "thumbnails": report.thumbnails,
        "missing": report.missing,
        "unreadable": report.unreadable,
        "zoo": "shown" if report.zoo_shown else report.zoo_note,
        "seconds": {k: round(v, 3) for k, v in report.seconds.items()},
    }
    if args.push:
        summary["pushed"] = push_report(
            path,
            args.push,
            path_in_repo=args.path_in_repo,
            repo_type=args.repo_type,
            commit=args.commit,
            revision=args.revision,
            token=token,
        )
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        thumbs = (
            f"{report.thumbnails} thumbnails"
            if args.imagenet
            else "no thumbnails (add --imagenet SOURCE to show the images)"
        )
        gaps = ""
        if report.missing or report.unreadable:
            gaps = f"; {len(report.missing)} not in the source, {len(report.unreadable)} unreadable"
        print(
            f"wrote {path} ({report.bytes / 1e6:.1f} MB): {report.images_shown} images, {thumbs}{gaps}; "
            f"zoo: {summary['zoo']}" + (f"; pushed: {summary['pushed']}" if args.push else "")
        )
    return 0
