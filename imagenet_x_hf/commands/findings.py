"""``imagenet-x findings``: the ImageNet-X paper's headline findings, recomputed from the released tables."""

from __future__ import annotations

import argparse
import json

from imagenet_x_hf.fields import add_arguments, from_namespace
from imagenet_x_hf.settings import SCORING_FIELDS, ScoringOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "findings",
        help="recompute the paper's headline findings from the authors' ~2,500-model tables",
        description=(
            "Recompute the ImageNet-X paper's headline findings from the per-factor tables the authors "
            "released: factors ordered by mean error ratio per model type (are failure modes consistent?), "
            "each factor's correlation with accuracy, and augmentation spill-over in the ResNet-50 sweeps "
            "(crop, colour-jitter and blur strength against every factor's error ratio, raw and adjusted "
            "for accuracy). Each finding comes with its statistic (Spearman rho, n, p-value) next to the "
            "paper's statement."
        ),
    )
    p.add_argument(
        "--output",
        metavar="DIR",
        help="write findings.md, findings.json and the figures (PNG) into DIR (default: print Markdown "
        "without figures)",
    )
    # which of the released tables: the scoring settings the authors computed them with
    keep = ("which_factor", "error_type")
    add_arguments(p, ScoringOptions, "tables", exclude=tuple(f for f in SCORING_FIELDS if f not in keep))
    p.add_argument(
        "--zoo-dir",
        metavar="DIR",
        help="a local copy of the authors' repository (default: $IMAGENET_X_ZOO, else the cache or a download)",
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON (default: Markdown)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from imagenet_x_hf.zoo import load_zoo
    from imagenet_x_hf.zoo.findings import findings, plot_findings, to_markdown

    zoo = load_zoo(args.zoo_dir)
    tables = from_namespace(ScoringOptions, args)
    result = findings(zoo=zoo, which_factor=tables.which_factor, error_type=tables.error_type)
    if args.output:
        out = Path(args.output)
        figures = plot_findings(result, zoo, out)
        (out / "findings.md").write_text(to_markdown(result, figures) + "\n", encoding="utf-8")
        (out / "findings.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        result["written"] = [str(out / "findings.md"), str(out / "findings.json")] + [
            str(out / f) for f in figures.values()
        ]
    if args.json:
        print(json.dumps(result, indent=1))
    elif args.output:
        print("\n".join(f"wrote {p}" for p in result["written"]))
    else:
        print(to_markdown(result))
    return 0
