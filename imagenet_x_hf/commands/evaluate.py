"""``imagenet-x evaluate``: run image classifiers on ImageNet-X and write predictions and results."""

from __future__ import annotations

import argparse
import json
import sys

from imagenet_x_hf.settings import RunOptions, SettingsError, add_arguments, from_namespace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="evaluate Hub image classifiers (transformers, timm, zero-shot CLIP) on ImageNet-X",
        description=(
            "Predict every annotated ImageNet-X image with a model (a Hub id or a local directory) "
            "and write OUTPUT/predictions.parquet (top-5), OUTPUT/predictions.csv (the authors' "
            "format) and OUTPUT/results.json (per-factor error ratios plus the run's settings). "
            "Runs on CPU, one GPU, or many under 'accelerate launch -m imagenet_x_hf evaluate ...' "
            "or 'torchrun --nproc_per_node N -m imagenet_x_hf evaluate ...' (for several CPU "
            "processes use torchrun: accelerate launch --cpu starts one); --output must then be on a "
            "filesystem all nodes share. A killed run resumes where it stopped when started again "
            "with the same command, unless anything that decides the predictions changed (settings, "
            "the model's files, the label map, the images): then it stops and --overwrite starts over. "
            "Predictions follow the model's own preprocessing exactly; --jpeg-draft trades that for "
            "speed on small-input models."
        ),
    )
    groups = add_run_arguments(
        p,
        model_help="Hub model id (e.g. google/vit-base-patch16-224, timm/resnet50.a1_in1k) or local "
        "directory; repeat for bulk mode",
        models_file_help="text file with one model per line, for bulk mode",
        output_help="run folder; in bulk mode one sub-folder per model plus summary.json",
        json_help="print results (or the bulk summary) as JSON (default: text)",
    )
    # Everything else is a field of RunOptions (and the LoadOptions and ScoringOptions in it):
    # flag, help, choices and default are declared there once.
    add_arguments(p, RunOptions, "scoring (results.json)", groups=groups)
    p.set_defaults(func=run)


# The --help sections, in the order a user reads them.
GROUPS = ("model", "data", "output", "speed and numerics", "scoring (results.json)")


def add_run_arguments(
    p: argparse.ArgumentParser, *, model_help: str, models_file_help: str, output_help: str, json_help: str
) -> dict[str, argparse._ArgumentGroup]:
    """The --help sections and the flags every command that runs models declares alike.

    ``--model`` (repeatable), ``--models-file``, ``--output`` (required), ``--json`` and ``--cpu``;
    the help texts of the first four differ by command and are passed in (the ``(default: ...)``
    endings of ``--model``, ``--models-file`` and ``--output`` are added here). Returns the sections
    by name, for the command's own flags and ``add_arguments``.
    """
    groups = {name: p.add_argument_group(name) for name in GROUPS}
    model = groups["model"]
    model.add_argument(
        "--model", action="append", default=[], metavar="ID", help=f"{model_help} (default: none)"
    )
    model.add_argument("--models-file", metavar="FILE", help=f"{models_file_help} (default: none)")
    output = groups["output"]
    output.add_argument("--output", required=True, metavar="DIR", help=f"{output_help} (default: required)")
    output.add_argument("--json", action="store_true", help=json_help)
    groups["speed and numerics"].add_argument(
        "--cpu", action="store_true", help="run on CPU even when a GPU is present (default: GPU if any)"
    )
    return groups


def requested_models(args: argparse.Namespace) -> list[str]:
    """The models of ``--model`` then ``--models-file``; at least one, or a clear error."""
    from imagenet_x_hf.errors import ImageNetXError
    from imagenet_x_hf.runner.bulk import read_models_file

    models = list(args.model)
    if args.models_file:
        models += read_models_file(args.models_file)
    if not models:
        raise ImageNetXError("no model given: pass --model ID (repeatable) or --models-file FILE")
    return models


def run_options(args: argparse.Namespace) -> RunOptions:
    """The validated ``RunOptions`` of the parsed command line."""
    if args.imagenet is None:
        raise SettingsError("no ImageNet source: pass --imagenet SOURCE (a folder, tar, or Hub dataset id)")
    return from_namespace(RunOptions, args)


def _text(results: dict) -> str:
    run = results["run"]
    lines = [
        f"{run['model']}: top-1 accuracy {results['accuracy']:.4f} on {results['images']} images "
        f"({run['adapter']}, {run['precision']}, {run['timing']['images_per_second']} img/s)",
        "error ratio by factor (above 1: more mistakes than average):",
    ]
    for factor, value in results["error_ratio"].items():
        lines.append(f"  {factor:<18} {'n/a' if value is None else f'{value:.3f}'}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import os

    # Before torch loads OpenMP: idle compute threads sleep instead of spinning, which leaves
    # the CPU to the image-decoding workers (about 10% more images/s on a 2-core CPU run;
    # no change on GPU). An explicit setting in the environment wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from imagenet_x_hf.runner.bulk import evaluate_models
    from imagenet_x_hf.runner.run import evaluate_model, make_accelerator

    models = requested_models(args)
    options = run_options(args)
    accelerator = make_accelerator(cpu=True if args.cpu else None)
    try:
        if len(models) == 1 and not args.models_file:
            results = evaluate_model(models[0], args.output, options=options, accelerator=accelerator)
            if accelerator.is_main_process:
                print(json.dumps(results, indent=2) if args.json else _text(results))
            return 0
        summary = evaluate_models(models, args.output, options=options, accelerator=accelerator)
        if accelerator.is_main_process:
            if args.json:
                print(json.dumps(summary, indent=2))
            else:
                for entry in summary["models"]:
                    detail = (
                        f"accuracy {entry['accuracy']:.4f}" if entry["status"] == "ok" else entry["error"]
                    )
                    print(f"{entry['status']:<6} {entry['model']}: {detail}")
                print(f"summary: {args.output}/summary.json", file=sys.stderr)
        return 1 if summary["failed"] else 0
    finally:
        accelerator.end_training()
