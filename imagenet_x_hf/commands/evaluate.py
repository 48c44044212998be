"""``imagenet-x evaluate``: run image classifiers on ImageNet-X and write predictions and results."""

from __future__ import annotations

import argparse
import json
import sys

from imagenet_x_hf.commands.scoring import add_scoring_arguments, scoring_options


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
            "with the same command; --overwrite starts over."
        ),
    )
    model = p.add_argument_group("model")
    model.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="ID",
        help="Hub model id (e.g. google/vit-base-patch16-224, timm/resnet50.a1_in1k) or local directory; "
        "repeat for bulk mode (default: none)",
    )
    model.add_argument(
        "--models-file",
        metavar="FILE",
        help="text file with one model per line, for bulk mode (default: none)",
    )
    model.add_argument(
        "--adapter",
        choices=("auto", "transformers", "timm", "zero-shot"),
        default="auto",
        help="how to load the model; auto: timm for timm saves, zero-shot for CLIP-style dual "
        "encoders, transformers otherwise (default: auto)",
    )
    model.add_argument("--revision", help="Hub revision: branch, tag or commit (default: main)")
    model.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow running the model repository's own Python code (default: off)",
    )
    model.add_argument(
        "--allow-pickle",
        action="store_true",
        help="accept weights stored only as pickles (.bin/.pth, read with weights_only) (default: safetensors only)",
    )
    model.add_argument(
        "--label-map",
        metavar="JSON",
        help="JSON object mapping model output index -> ImageNet index or WordNet id, for models "
        "whose classes are not the 1000 ImageNet ones in order (default: none)",
    )
    model.add_argument(
        "--template",
        action="append",
        metavar="TEXT",
        help="zero-shot prompt template with {} for the class name; repeatable (default: 7 CLIP templates)",
    )

    data = p.add_argument_group("data")
    data.add_argument(
        "--imagenet",
        required=True,
        metavar="SOURCE",
        help="your ImageNet: a folder, tar, Parquet/WebDataset folder or Hub dataset id (default: required)",
    )
    data.add_argument(
        "--split", choices=("validation", "train"), default="validation", help="split (default: validation)"
    )
    data.add_argument(
        "--source-kind", help="force the kind of SOURCE instead of detecting it (default: detect)"
    )
    data.add_argument(
        "--allow-missing",
        action="store_true",
        help="evaluate the images present when the source lacks some (counted in results) (default: off)",
    )

    out = p.add_argument_group("output")
    out.add_argument(
        "--output",
        required=True,
        metavar="DIR",
        help="run folder; in bulk mode one sub-folder per model plus summary.json (default: required)",
    )
    out.add_argument(
        "--overwrite",
        action="store_true",
        help="discard an earlier run in DIR and start over (default: resume)",
    )
    out.add_argument(
        "--shard-size",
        type=int,
        default=1024,
        help="images per prediction shard, the unit a killed run loses at most (default: 1024)",
    )
    out.add_argument(
        "--json", action="store_true", help="print results (or the bulk summary) as JSON (default: text)"
    )
    out.add_argument("--no-progress", action="store_true", help="hide the progress bar (default: shown)")

    speed = p.add_argument_group("speed and numerics")
    speed.add_argument(
        "--batch-size",
        type=int,
        help="images per forward pass; halved automatically on out-of-memory (default: 256 on GPU, 32 on CPU)",
    )
    speed.add_argument(
        "--workers", type=int, help="image decoding workers per process (default: from the CPU count)"
    )
    speed.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16", "fp16"),
        default="auto",
        help="autocast precision; auto: bf16 (or fp16) on GPU, fp32 on CPU (default: auto)",
    )
    speed.add_argument("--compile", action="store_true", help="torch.compile the model (default: off)")
    speed.add_argument(
        "--cpu", action="store_true", help="run on CPU even when a GPU is present (default: GPU if any)"
    )
    speed.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="channels-last memory format (default: on GPU only)",
    )
    speed.add_argument(
        "--preprocessing",
        choices=("auto", "fast", "reference"),
        default="auto",
        help="fast: decode+resize in workers, normalise on the device; reference: the model's own "
        "transform per image; auto: fast when it reproduces the reference on probe images (default: auto)",
    )
    speed.add_argument(
        "--no-jpeg-draft",
        action="store_true",
        help="always decode JPEGs at full size (default: large JPEGs decode at 1/2, 1/4 or 1/8 "
        "size when still at least the resize target)",
    )
    speed.add_argument(
        "--processor-backend",
        choices=("pil", "torchvision"),
        help="transformers image-processor backend to follow (default: transformers' choice)",
    )

    add_scoring_arguments(p, "scoring (results.json)", split=False, confidence=False)
    p.set_defaults(func=run)


def _options(args: argparse.Namespace):
    from imagenet_x_hf.runner import LoadOptions, RunOptions, read_label_map

    return RunOptions(
        imagenet=args.imagenet,
        source_kind=args.source_kind,
        allow_missing=args.allow_missing,
        adapter=args.adapter,
        load=LoadOptions(
            revision=args.revision,
            trust_remote_code=args.trust_remote_code,
            allow_pickle=args.allow_pickle,
            label_map=read_label_map(args.label_map) if args.label_map else None,
            jpeg_draft=not args.no_jpeg_draft,
            processor_backend=args.processor_backend,
            templates=tuple(args.template) if args.template else None,
        ),
        batch_size=args.batch_size,
        num_workers=args.workers,
        precision=args.precision,
        compile=args.compile,
        channels_last=args.channels_last,
        shard_size=args.shard_size,
        preprocessing=args.preprocessing,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        **scoring_options(args),  # with --split from the data group
    )


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
    from imagenet_x_hf.errors import ImageNetXError
    from imagenet_x_hf.runner.bulk import evaluate_models, read_models_file
    from imagenet_x_hf.runner.run import evaluate_model, make_accelerator

    models = list(args.model)
    if args.models_file:
        models += read_models_file(args.models_file)
    if not models:
        raise ImageNetXError("no model given: pass --model ID (repeatable) or --models-file FILE")
    options = _options(args)
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
