"""``imagenet-x rank``: where models stand among the authors' ~2,500 released models."""

from __future__ import annotations

import argparse
import json
import math

from imagenet_x_hf.commands.examples import add_examples_option, with_examples
from imagenet_x_hf.commands.scoring import add_scoring_arguments, scoring_settings
from imagenet_x_hf.results import Results


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rank",
        help="place models among the authors' ~2,500 released models, factor by factor, adjusted for accuracy",
        description=(
            "Place each model among the ~2,500 models whose per-factor tables the ImageNet-X authors "
            "released. Raw error ratios move with overall accuracy across models, so each factor's ratio "
            "is compared with the zoo's trend at the model's accuracy: expected ratio, excess (observed - "
            "expected, below 0 is better) with an interval, and percentiles among all zoo models (of the "
            "excess) and among those within 2 accuracy points (of the raw ratio). Each family of models "
            "(an augmentation sweep of hundreds of ResNet-50 runs, the checkpoints of one training run) "
            "weighs as one model; a model that is itself in the zoo is placed without its family. The tables are "
            "downloaded once from the authors' repository at a pinned commit and checked by sha256, or "
            "read from a local copy ($IMAGENET_X_ZOO or --zoo-dir)."
        ),
    )
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="RUN_OR_PREDICTIONS",
        help="run directories of 'imagenet-x evaluate', results .json files, predictions files or predictions "
        "repositories (DIR, DIR/MODEL, hf://datasets/ORG/REPO[/MODEL]) (default: none)",
    )
    add_examples_option(p)
    p.add_argument(
        "--plot",
        metavar="PATH",
        action="append",
        help="write one figure, a panel per factor: the zoo, its trend and band, your models (.png or .svg; "
        "repeat for both) (default: no figure)",
    )
    p.add_argument(
        "--zoo-dir",
        metavar="DIR",
        help="a local copy of the authors' repository (default: $IMAGENET_X_ZOO, else the cache or a download)",
    )
    p.add_argument(
        "--reference",
        default="all",
        metavar="all|no-sweeps|type:KEY",
        help="the zoo models to compare with: all, no-sweeps (without the ResNet-50 augmentation sweeps) or "
        "type:KEY for one model type of the authors' model_types.py, e.g. type:self-supervised, "
        "type:supervised-on-more-data (default: all)",
    )
    p.add_argument(
        "--zoo-extra",
        metavar="DIR_OR_REPO",
        action="append",
        help="add your own models to the reference: a predictions repository written by 'imagenet-x "
        "export-predictions' (a folder or hf://datasets/ORG/REPO); models exported with one --family count as "
        "one family, and a placed model never counts in its own reference (repeatable) (default: the zoo only)",
    )
    add_scoring_arguments(p, "Scoring (predictions files only)")
    p.add_argument("--json", action="store_true", help="print JSON (default: a table per model)")
    p.set_defaults(func=run)


def _cell(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_placement(placement: dict) -> str:
    """One model's placement as a plain-text table, one row per factor, with what the reference is."""
    from imagenet_x_hf.zoo.place import INTERVAL_IN_WORDS

    z, ref = placement["zoo"], placement.get("reference") or {}
    level = round(100 * placement["confidence_level"])
    accuracy = f"accuracy {_cell(placement['accuracy'], '.4f')}"
    if placement["accuracy_percentile"] is not None:
        # rounded down: a share of models is never claimed larger than it is (99.9 is not "100%")
        accuracy += f" (above {math.floor(placement['accuracy_percentile'])}% of the reference)"
    lines = [
        f"{placement['model'] or 'model'}: {accuracy}; {placement['which_factor']} factor, "
        f"error type {placement['error_type']}",
    ]
    if ref:
        lines.append(f"reference ({ref['name']}): {ref['description']}")
        near = ref["near"]
        lines.append(f"within {100 * near['window']:g} points of its accuracy: {near['description']}")
    lines.append(
        f"{'factor':<17}{'ratio':>7}{'expected':>10}{'excess':>9}  {f'[{level}% interval]':<18}"
        f"{'pct all':>8}{'pct near':>9}"
    )
    for f, d in placement["factors"].items():
        low, high = d["excess_interval"]
        interval = "-" if low is None else f"[{low:+.3f}, {high:+.3f}]"
        if (
            low is not None
            and (low > 0 or high < 0)
            and not (placement.get("extrapolation") or {}).get("extrapolated")
        ):
            interval += " *"
        lines.append(
            f"{f:<17}{_cell(d['error_ratio'], '.3f'):>7}{_cell(d['expected_error_ratio'], '.3f'):>10}"
            f"{_cell(d['excess'], '+.3f'):>9}  {interval:<18}{_cell(d['percentile_all'], '.0f'):>8}"
            f"{_cell(d['percentile_similar_accuracy'], '.0f'):>9}"
        )
    lines.append(
        f"expected: the reference's trend at this accuracy; excess = ratio - expected. {INTERVAL_IN_WORDS}"
    )
    lines.append("* the interval excludes 0: unusual for a model of this accuracy")
    lines.append(
        f"pct all: % of the reference with a lower excess; pct near: % of the reference within "
        f"{100 * z['similar_window']:.0f} accuracy points with a lower ratio (higher = more errors on the factor); "
        "each family weighs one"
    )
    lines += [f"note: {n}" for n in placement["notes"]]
    return "\n".join(lines)


def _extra(sources: list[str], results: Results, cache: dict):
    """The models of ``sources`` scored as ``results`` were (which factor, error type), one population."""
    from imagenet_x_hf.share import extra_models

    key = (results.scoring.which_factor, results.scoring.error_type)
    if key not in cache:
        population = None
        for source in sources:
            more = extra_models(source, which_factor=key[0], error_type=key[1])
            population = more if population is None else population.concat(more)
        cache[key] = population
    return cache[key]


def run(args: argparse.Namespace) -> int:
    from imagenet_x_hf.reports.inputs import load_all_model_results
    from imagenet_x_hf.zoo import ZooError, load_zoo, place

    bad = [p for p in args.plot or [] if not p.lower().endswith((".png", ".svg"))]
    if bad:
        raise ZooError(f"cannot write a figure to {bad[0]!r}; give a .png or .svg path")
    inputs = with_examples(args.inputs, args, what="RUN_OR_PREDICTIONS")
    zoo = load_zoo(args.zoo_dir)
    options = scoring_settings(args)
    placements = []
    extras: dict[tuple[str, str], object] = {}  # (which_factor, error_type) -> the added models, scored once
    for path in inputs:
        for model in load_all_model_results(path, options=options):
            results = model.results.replace(model=model.name)
            extra = _extra(args.zoo_extra, results, extras) if args.zoo_extra else None
            placements.append(place(results, zoo=zoo, reference=args.reference, extra=extra))
    report = {"models": placements}
    if args.plot:
        from imagenet_x_hf.zoo.plot import plot_placement, save_placement_figure

        written = []
        for path in args.plot:
            written.append(str(save_placement_figure(plot_placement(placements, zoo=zoo), path)))
        report["plots"] = written
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print("\n\n".join(format_placement(p) for p in placements))
        print(f"\nzoo: {placements[0]['zoo']['source']}")
        for path in report.get("plots", []):
            print(f"wrote {path}")
    return 0
