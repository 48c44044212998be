"""``imagenet-x score``: per-factor error ratios of prediction files."""

from __future__ import annotations

import argparse
import json

from imagenet_x_hf.commands.examples import add_examples_option, with_examples
from imagenet_x_hf.commands.scoring import add_scoring_arguments, scoring_settings
from imagenet_x_hf.results import Results


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="per-factor error ratios of one or more models' prediction files",
        description=(
            "Score prediction files against the ImageNet-X annotations and print each model's "
            "error ratio per factor, (1 - accuracy on the factor's images) / (1 - overall accuracy), "
            "with its confidence interval. Files are CSVs in the authors' format "
            "(file_name,predicted_class,predicted_probability) or Parquet files with those columns; "
            "the model name is the file stem. A predictions repository written by 'imagenet-x "
            "export-predictions' is read whole (a folder, or hf://datasets/ORG/REPO, downloading only what "
            "is asked) or one model of it (DIR/MODEL, hf://datasets/ORG/REPO/MODEL). Defaults follow the "
            "authors' toolkit."
        ),
    )
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="prediction files (.csv or .parquet) or predictions repositories (DIR, hf://datasets/ORG/REPO[/MODEL]) "
        "(default: none)",
    )
    add_examples_option(p)
    add_scoring_arguments(p, "scoring")
    p.add_argument(
        "--json", action="store_true", help="print JSON with intervals and breakdowns (default: table)"
    )
    p.set_defaults(func=run)


def format_table(results: list[Results]) -> str:
    """A plain-text table: one row per factor, one column per model, ratio and interval."""
    first = results[0]
    scoring = first.scoring
    level = round(100 * scoring.confidence_level)
    head = (
        f"error ratio per factor ({scoring.which_factor} factor, error type {scoring.error_type}, "
        f"{scoring.split}, prototypes {'excluded' if scoring.filter_prototypes else 'kept'}; "
        f"[{level}% interval])"
    )

    def cell(ratio, low, high) -> str:
        if ratio is None:
            return "-"
        return f"{ratio:.3f} [{low:.2f}, {high:.2f}]"

    names = [r.model or f"model{i}" for i, r in enumerate(results)]
    widths = [max(len(n), 20) for n in names]
    lines = [head, "  ".join([f"{'factor':<17}{'images':>7}"] + [n.rjust(w) for n, w in zip(names, widths)])]
    for k, factor in enumerate(first.factors):
        row = [f"{factor.factor:<17}{factor.images:>7}"]
        for r, w in zip(results, widths):
            d = r.factors[k]
            row.append(cell(d.error_ratio, d.low, d.high).rjust(w))
        lines.append("  ".join(row))
    lines.append(
        "  ".join(
            [f"{'accuracy':<17}{first.images:>7}"]
            + [f"{r.accuracy:.4f}".rjust(w) for r, w in zip(results, widths)]
        )
    )
    cov = [f"{r.coverage['used']}/{r.coverage['annotated']}" for r in results]
    lines.append("  ".join([f"{'images used':<24}"] + [c.rjust(w) for c, w in zip(cov, widths)]))
    if any(r.images != first.images for r in results):
        lines.append("note: the models cover different images; the images column is the first model's")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from imagenet_x_hf.metrics import score_predictions
    from imagenet_x_hf.share import read_each

    files = with_examples(args.files, args)
    options = scoring_settings(args)
    results = [score_predictions(predictions, options) for path in files for predictions in read_each(path)]
    if args.json:
        print(json.dumps({"results": [r.to_dict() for r in results]}, indent=1))
    else:
        print(format_table(results))
    return 0
