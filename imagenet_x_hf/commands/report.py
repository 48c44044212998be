"""``imagenet-x report``: one self-contained HTML page of a model's results and the images it gets wrong."""

from __future__ import annotations

import argparse
import json
import shlex

from imagenet_x_hf.commands.scoring import add_scoring_arguments, scoring_settings
from imagenet_x_hf.fields import add_arguments, from_namespace
from imagenet_x_hf.settings import SOURCE_KINDS as SOURCE_KINDS
from imagenet_x_hf.settings import ReportOptions


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
    groups = {"Images": p.add_argument_group("Images")}
    comp = groups["Comparison"] = p.add_argument_group("Comparison")
    comp.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="RUN",
        help="other runs or predictions files: paired differences and the images the models disagree "
        "on (default: none)",
    )
    groups["Page"] = p.add_argument_group("Page")
    add_arguments(p, ReportOptions, "Page", groups=groups)
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

    recorded = model.run.dataset.get("imagenet") if model.run else None
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
    from imagenet_x_hf.reports.inputs import load_all_model_results, load_model_results

    if args.commit and not args.push:
        raise ResultsFileError("--commit only applies to an upload; add --push REPO_ID (or drop --commit)")
    check_output(args.output)  # before any work: a bad -o fails now, in one line
    token = None
    if args.push:
        from imagenet_x_hf.reports.card import require_token

        token = require_token()  # before any work: fail now if the upload could not happen

    model = load_model_results(args.run, name=args.model_name, options=scoring_settings(args))
    # Predictions files given to --compare are scored with the main model's settings.
    others = [m for path in args.compare for m in load_all_model_results(path, options=model.results.scoring)]
    report = build_report(
        model,
        from_namespace(ReportOptions, args),
        compare=others,
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
