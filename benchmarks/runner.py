"""Runner throughput: end-to-end images/s against forward-only, and against transformers' pipeline.

Two models with random weights, on ImageNet-like synthetic JPEGs (about 500x375,
textured so that decoding costs what a photo costs), real ImageNet-X file names:

1. a ResNet-18-sized CNN (transformers ResNetConfig with ResNet-18 dimensions, the
   processor of microsoft/resnet-*: shorter side 256, crop 224): the runner's
   images/s against the same model's forward-only images/s on preloaded tensors at
   the same batch size (anchor). Goal: ratio >= 0.8.
2. a light CNN (~0.4 M parameters) where the data path dominates: the runner against
   ``transformers.pipeline("image-classification")`` over the same files (anchor;
   what users write: default batch size, file paths in). Goal: ratio >= 1.5.
3. what ``--jpeg-draft`` gains where it can act: the light CNN with a 64 px input
   (shorter side resized to 73), the runner with JPEG draft decoding against the
   runner's exact default (anchor). Reported, no goal: the default stays exact.

Both goals are measured with the runner's default, exact preprocessing (full-size
JPEG decoding, the model's own numbers).

Every figure is the median of --repeats runs. Prints JSON.

    python benchmarks/runner.py [--images 160] [--light-images 400] [--repeats 3]
    benchmarks/gpu.sh   # the same on a GPU, bf16, ImageNet-sized
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

# As `imagenet-x evaluate` does, before torch loads OpenMP (see commands/evaluate.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

warnings.filterwarnings("ignore")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
SIZES = [(500, 375), (375, 500), (500, 333), (500, 400), (400, 300), (500, 281)]


def textured_jpeg(rng: np.random.Generator, width: int, height: int) -> bytes:
    """A JPEG with smooth shapes plus fine noise: decodes at roughly the cost of a photo."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [np.sin(xx / rng.uniform(5, 40)), np.cos(yy / rng.uniform(5, 40)), np.sin((xx + yy) / 17)], -1
    )
    pixels = (base * 60 + 128 + rng.normal(0, 25, (height, width, 3))).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _jpeg(i: int) -> bytes:
    return textured_jpeg(np.random.default_rng(i), *SIZES[i % len(SIZES)])


def synthetic_dataset(
    n: int, folder: Path, *, unique: int | None = None, files: int | None = None, chunk: int = 4000
):
    """n annotated validation rows with textured JPEGs; the first ``files`` also written to folder.

    ``unique`` JPEGs are encoded (in parallel) and reused cyclically, which keeps an
    ImageNet-sized set quick to build; decoding cost per row is unchanged.
    """
    from concurrent.futures import ProcessPoolExecutor

    import datasets

    import imagenet_x_hf
    from imagenet_x_hf.schema import image_features

    annotated = imagenet_x_hf.load("validation", filter_prototypes=False)
    n = min(n, annotated.num_rows)
    rows = annotated.select(range(n)).to_dict()
    unique = min(unique or n, n)
    with ProcessPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as pool:
        pool_bytes = list(pool.map(_jpeg, range(unique), chunksize=64))
    images, paths = [], []
    for i, name in enumerate(rows["file_name"]):
        data = pool_bytes[i % unique]
        images.append({"bytes": data, "path": name})
        if files is None or i < files:
            (folder / name).write_bytes(data)
            paths.append(str(folder / name))
    rows["image"] = images
    # Parts of at most `chunk` rows keep every Arrow binary column far below 2 GB.
    parts = [
        datasets.Dataset.from_dict({k: v[i : i + chunk] for k, v in rows.items()}, features=image_features())
        for i in range(0, n, chunk)
    ]
    return datasets.concatenate_datasets(parts), paths


def save_resnet(folder: Path, *, light: bool, input_size: int = 224) -> int:
    from transformers import ConvNextImageProcessor, ResNetConfig, ResNetForImageClassification

    torch.manual_seed(0)
    if light:
        config = ResNetConfig(embedding_size=16, hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 1, 1],
                              layer_type="basic", num_labels=1000)  # fmt: skip
    else:  # ResNet-18
        config = ResNetConfig(embedding_size=64, hidden_sizes=[64, 128, 256, 512], depths=[2, 2, 2, 2],
                              layer_type="basic", num_labels=1000)  # fmt: skip
    model = ResNetForImageClassification(config)
    model.save_pretrained(folder)
    ConvNextImageProcessor(size={"shortest_edge": input_size}, crop_pct=0.875).save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


@torch.inference_mode()
def forward_only(
    model_dir: Path, *, batch_size: int, batches: int, device: str = "cpu", size: int = 224
) -> float:
    """images/s of model(pixel_values) alone on preloaded normalised ``size`` px tensors (bf16
    autocast and channels-last on GPU, as the runner does)."""
    import contextlib

    from transformers import AutoModelForImageClassification

    model = AutoModelForImageClassification.from_pretrained(model_dir).eval().to(device)
    x = torch.randn(batch_size, 3, size, size, device=device)
    cast = contextlib.nullcontext()
    if device != "cpu":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
        cast = torch.autocast("cuda", dtype=torch.bfloat16)
    with cast:
        model(pixel_values=x)  # warm-up
        _sync(device)
        start = time.perf_counter()
        for _ in range(batches):
            model(pixel_values=x)
        _sync(device)
    return batch_size * batches / (time.perf_counter() - start)


def _sync(device: str) -> None:
    if device != "cpu":
        torch.cuda.synchronize()


def runner(
    model_dir: Path, dataset, out: Path, *, batch_size: int, workers: int | None, jpeg_draft: bool = False
) -> tuple[float, float]:
    """(images/s of the predict phase, images/s of the whole call incl. loading and scoring)."""
    from imagenet_x_hf.runner import LoadOptions, RunOptions, evaluate_model

    options = RunOptions(
        batch_size=batch_size,
        num_workers=workers,
        progress=False,
        overwrite=True,
        load=LoadOptions(jpeg_draft=jpeg_draft),
    )
    start = time.perf_counter()
    results = evaluate_model(str(model_dir), out, options=options, dataset=dataset)
    whole = len(dataset) / (time.perf_counter() - start)
    return results["run"]["timing"]["images_per_second"], whole


def pipeline_rate(
    model_dir: Path, paths: list[str], *, batch_size: int | None = None, device: str = "cpu"
) -> float:
    from transformers import pipeline

    kwargs = {"dtype": torch.bfloat16} if device != "cpu" else {}
    classify = pipeline("image-classification", model=str(model_dir), device=device, **kwargs)
    classify(paths[:2])  # warm-up
    start = time.perf_counter()
    out = classify(paths, **({} if batch_size is None else {"batch_size": batch_size}))
    assert len(out) == len(paths)
    return len(paths) / (time.perf_counter() - start)


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--images", type=int, default=160, help="images for the ResNet-18 runs (default: 160)"
    )
    parser.add_argument(
        "--light-images", type=int, default=400, help="images for the light model (default: 400)"
    )
    parser.add_argument(
        "--pipeline-images", type=int, help="images for the pipeline anchor (default: --light-images)"
    )
    parser.add_argument(
        "--draft-images", type=int, help="images for the --jpeg-draft figure (default: --light-images)"
    )
    parser.add_argument(
        "--unique-images", type=int, help="distinct JPEGs, reused cyclically (default: one per row)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="repeats per figure; medians reported (default: 3)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=32, help="batch size of runner and anchor (default: 32)"
    )
    parser.add_argument(
        "--forward-batches", type=int, default=3, help="batches timed per anchor (default: 3)"
    )
    parser.add_argument(
        "--workers", type=int, help="runner DataLoader workers (default: the runner's choice)"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda; cuda runs bf16 (default: cpu)")
    args = parser.parse_args(argv)
    dev = args.device
    n_pipe = args.pipeline_images or args.light_images

    report: dict = {
        "machine": {
            "cpus": len(os.sched_getaffinity(0)),
            "torch_threads": torch.get_num_threads(),
            "device": torch.cuda.get_device_name() if dev != "cpu" else "cpu",
        },
        "batch_size": args.batch_size,
        "precision": "bf16 autocast" if dev != "cpu" else "fp32",
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "jpegs").mkdir()
        started = time.perf_counter()
        dataset, paths = synthetic_dataset(
            max(args.images, args.light_images), tmp / "jpegs", unique=args.unique_images, files=n_pipe
        )
        report["dataset_build_seconds"] = round(time.perf_counter() - started, 1)
        run = dict(batch_size=args.batch_size, workers=args.workers)

        r18 = tmp / "resnet18"
        params = save_resnet(r18, light=False)
        sub = dataset.select(range(min(args.images, dataset.num_rows)))
        fwd, e2e = [], []
        for _ in range(args.repeats):  # interleaved, so load from other work hits both alike
            fwd.append(
                forward_only(r18, batch_size=args.batch_size, batches=args.forward_batches, device=dev)
            )
            e2e.append(runner(r18, sub, tmp / "out18", **run))
        report["resnet18"] = {
            "parameters": params,
            "images": sub.num_rows,
            "forward_only_img_per_s (anchor)": median(fwd),
            "runner_img_per_s": median([r[0] for r in e2e]),
            "runner_whole_call_img_per_s": median([r[1] for r in e2e]),
        }
        report["resnet18"]["ratio_runner_to_forward_only"] = round(
            report["resnet18"]["runner_img_per_s"] / report["resnet18"]["forward_only_img_per_s (anchor)"], 3
        )

        light = tmp / "light"
        params = save_resnet(light, light=True)
        sub = dataset.select(range(min(args.light_images, dataset.num_rows)))
        fwd, pipe, pipe_b, ours = [], [], [], []
        for _ in range(args.repeats):
            fwd.append(
                forward_only(light, batch_size=args.batch_size, batches=args.forward_batches, device=dev)
            )
            pipe.append(pipeline_rate(light, paths, device=dev))
            pipe_b.append(pipeline_rate(light, paths, batch_size=args.batch_size, device=dev))
            ours.append(runner(light, sub, tmp / "outl", **run))
        report["light"] = {
            "parameters": params,
            "images": sub.num_rows,
            "pipeline_images": len(paths),
            "forward_only_img_per_s": median(fwd),
            "pipeline_img_per_s (anchor)": median(pipe),
            f"pipeline_batch_{args.batch_size}_img_per_s": median(pipe_b),
            "runner_img_per_s": median([r[0] for r in ours]),
            "runner_whole_call_img_per_s": median([r[1] for r in ours]),
        }
        report["light"]["ratio_runner_to_pipeline"] = round(
            report["light"]["runner_img_per_s"] / report["light"]["pipeline_img_per_s (anchor)"], 3
        )

        small = tmp / "small"
        save_resnet(small, light=True, input_size=64)
        sub = dataset.select(range(min(args.draft_images or args.light_images, dataset.num_rows)))
        exact, draft = [], []
        for _ in range(args.repeats):
            exact.append(runner(small, sub, tmp / "outs", **run))
            draft.append(runner(small, sub, tmp / "outs", jpeg_draft=True, **run))
        report["jpeg_draft_64px"] = {
            "images": sub.num_rows,
            "runner_exact_img_per_s (anchor)": median([r[0] for r in exact]),
            "runner_jpeg_draft_img_per_s": median([r[0] for r in draft]),
        }
        report["jpeg_draft_64px"]["ratio_jpeg_draft_to_exact"] = round(
            report["jpeg_draft_64px"]["runner_jpeg_draft_img_per_s"]
            / report["jpeg_draft_64px"]["runner_exact_img_per_s (anchor)"],
            3,
        )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
