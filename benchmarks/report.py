"""How fast ``imagenet-x report`` builds the page of a full-size run, and how big the page is.

Setup (cached in ``--workdir``, built once):

- a synthetic ``ILSVRC2012_img_val.tar`` with all 50,000 validation file names, each an
  ImageNet-sized JPEG (500x375, textured so that it weighs about what a real one does;
  a pool of distinct images is cycled to keep the setup short);
- a full-size run directory: 46,110 predictions with top-5 (about 76% right, like a
  ResNet-50), written by the runner's own ``write_outputs``, so ``predictions.parquet``,
  ``predictions.csv`` and ``results.json`` are what ``imagenet-x evaluate`` leaves.

Timed, each the median of ``--repeats`` runs, with the process pinned to 2 cores:

- ``report``: ``imagenet-x report RUN --imagenet TAR -o report.html`` in a fresh process
  (16 factors x 12 thumbnails): the user's wall time, imports included. Goal: under 10 s;
- ``report, in process``: ``build_report`` + ``write_report`` once the modules are warm;
- anchor 1, ``score``: ``imagenet-x score RUN/predictions.parquet --json`` in a fresh
  process: reading the same predictions and computing their error ratios;
- anchor 2, ``copy shown bytes``: the standard library reading the shown images' bytes
  from the tar (``tarfile.open`` + ``extractfile``): the least any tool reading those
  images from this tar does.

- ``report, 3 comparisons``: the same with ``--compare`` three other full-size prediction
  files (each right on a different 76%), in a fresh process: 16 x 12 mistakes plus, per
  comparison, 16 factors x 2 directions x 4 images; every image is embedded once.

The pages' sizes are printed against the 5 MB goal.

    python benchmarks/report.py [--workdir /tmp/imagenet-x-bench-report] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

POOL = 256
SIZE = (500, 375)


def _pool(count: int, seed: int = 0) -> list[bytes]:
    """Distinct ImageNet-sized JPEGs: smooth colour fields plus grain, ~70-90 KB each."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        small = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
        base = np.asarray(Image.fromarray(small).resize(SIZE, Image.Resampling.BICUBIC), dtype=np.int16)
        pixels = np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def make_tar(path: Path) -> Path:
    """All 50,000 validation names, in file-name order, as the official tar holds them."""
    if path.is_file():
        return path
    images = _pool(POOL)
    tmp = path.with_suffix(".tmp")
    with tarfile.open(tmp, "w") as tar:
        for number in range(1, 50_001):
            data = images[number % POOL]
            info = tarfile.TarInfo(f"ILSVRC2012_val_{number:08d}.JPEG")
            info.size = len(data)
            info.mtime = 1_300_000_000
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, path)
    return path


def make_run(folder: Path) -> Path:
    """A full-size run: 46,110 predictions with top-5, written by the runner's write_outputs."""
    if (folder / "results.json").is_file():
        return folder
    import numpy as np
    import pyarrow as pa

    from imagenet_x_hf.runner.outputs import write_outputs
    from imagenet_x_hf.testing import annotated_file_names, label_of

    names = annotated_file_names("validation")
    labels = np.array([label_of(n) for n in names])
    rng = np.random.default_rng(0)
    right = rng.random(len(names)) < 0.76
    top1 = np.where(right, labels, rng.integers(0, 1000, len(names)))
    others = rng.integers(0, 1000, (len(names), 4))
    top5 = np.concatenate([top1[:, None], others], axis=1)
    p1 = np.where(right, rng.uniform(0.4, 1.0, len(names)), rng.uniform(0.1, 0.7, len(names)))
    rest = (1 - p1)[:, None] * np.sort(rng.dirichlet(np.ones(5), len(names))[:, :4], axis=1)[:, ::-1]
    probs = np.concatenate([p1[:, None], rest], axis=1).astype(np.float32)
    table = pa.table(
        {
            "file_name": pa.array(names, pa.string()),
            "predicted_class": pa.array(top1, pa.int64()),
            "predicted_probability": pa.array(probs[:, 0], pa.float32()),
            "top5_classes": pa.array(top5.tolist(), pa.list_(pa.int64())),
            "top5_probabilities": pa.array(probs.tolist(), pa.list_(pa.float32())),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    write_outputs(
        folder,
        table,
        model_name="synthetic-resnet50",
        run_info={"model": "synthetic-resnet50", "dataset": {"imagenet": None}},
    )
    return folder


def make_other(run: Path, path: Path, seed: int) -> Path:
    """Another model's predictions on the same images (right on a different ~76%), as Parquet."""
    if path.is_file():
        return path
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from imagenet_x_hf.testing import label_of

    names = pq.read_table(run / "predictions.parquet", columns=["file_name"]).column("file_name").to_pylist()
    labels = np.array([label_of(n) for n in names])
    rng = np.random.default_rng(seed)
    right = rng.random(len(names)) < 0.76
    top1 = np.where(right, labels, rng.integers(0, 1000, len(names)))
    table = pa.table(
        {
            "file_name": pa.array(names, pa.string()),
            "predicted_class": pa.array(top1, pa.int64()),
            "predicted_probability": pa.array(rng.uniform(0.2, 1.0, len(names)), pa.float32()),
        }
    )
    pq.write_table(table, path)
    return path


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def copy_shown(tar_path: Path, names: list[str]) -> int:
    total = 0
    with tarfile.open(tar_path, "r:") as tar:
        for name in names:
            member = tar.extractfile(tar.getmember(name))
            total += len(member.read())
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workdir", default="/tmp/imagenet-x-bench-report", help="setup cache (default: %(default)s)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure (default: %(default)s)")
    parser.add_argument("--cores", type=int, default=2, help="CPU cores to pin to (default: %(default)s)")
    parser.add_argument(
        "--thumbnail-size", type=int, help="passed to every report command (default: the report's own)"
    )
    args = parser.parse_args()

    cores = sorted(os.sched_getaffinity(0))[: args.cores]
    os.sched_setaffinity(0, cores)  # inherited by the subprocesses
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tar = make_tar(work / "ILSVRC2012_img_val.tar")
    run = make_run(work / "run")
    setup = time.perf_counter() - start
    out = work / "report.html"
    exe = [sys.executable, "-m", "imagenet_x_hf"]
    report_cmd = [
        *exe,
        "report",
        str(run),
        "--imagenet",
        str(tar),
        "-o",
        str(out),
        "--no-zoo",
        "--no-progress",
        *(["--thumbnail-size", str(args.thumbnail_size)] if args.thumbnail_size else []),
    ]
    score_cmd = [*exe, "score", str(run / "predictions.parquet"), "--json"]
    others = [make_other(run, work / f"other-{i}.parquet", seed=i) for i in (1, 2, 3)]
    out3 = work / "report-3-comparisons.html"
    # the report command with --compare before its -o OUT, writing to out3 instead
    compare_cmd = [*report_cmd[:7], "--compare", *map(str, others), "-o", str(out3), *report_cmd[9:]]

    _timed(
        report_cmd
    )  # one untimed run: page cache and the datasets cache warm, as for a user's second report
    report_s = [_timed(report_cmd) for _ in range(args.repeats)]
    score_s = [_timed(score_cmd) for _ in range(args.repeats)]
    compare_s = [_timed(compare_cmd) for _ in range(args.repeats)]
    page3 = out3.read_text(encoding="utf-8")

    page = out.read_text(encoding="utf-8")
    shown = sorted(set(re.findall(r'data-file="([^"]+)"', page)))
    copy_s = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        copied = copy_shown(tar, shown)
        copy_s.append(time.perf_counter() - t)

    from imagenet_x_hf.reports.html import build_report, write_report
    from imagenet_x_hf.reports.inputs import load_model_results
    from imagenet_x_hf.settings import ReportOptions

    model = load_model_results(run)
    size = {"thumbnail_size": args.thumbnail_size} if args.thumbnail_size else {}
    options = ReportOptions(imagenet=tar, zoo=False, **size)
    build_report(model, options, progress=False)  # warm
    in_process, parts = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        built = build_report(model, options, progress=False)
        write_report(built, work / "report-in-process.html")
        in_process.append(time.perf_counter() - t)
        parts.append(built.seconds)

    med = statistics.median
    size = out.stat().st_size
    thumbs = page.count("data:image/jpeg;base64,")
    figures = {
        "machine": f"{len(cores)} cores pinned of {os.cpu_count()}",
        "setup_seconds_once": round(setup, 1),
        "tar_members": 50_000,
        "tar_bytes": tar.stat().st_size,
        "predictions": 46_110,
        "images_shown": len(shown),
        "thumbnails": thumbs,
        "report_cli_seconds": round(med(report_s), 3),
        "report_in_process_seconds": round(med(in_process), 3),
        "report_in_process_parts": {k: round(med(p[k] for p in parts), 3) for k in parts[0]},
        "anchor_score_cli_seconds": round(med(score_s), 3),
        "anchor_copy_shown_bytes_seconds": round(med(copy_s), 3),
        "copied_bytes": copied,
        "ratio_report_cli_to_score_cli": round(med(report_s) / med(score_s), 2),
        "ratio_report_in_process_to_copy_shown_bytes": round(med(in_process) / med(copy_s), 2),
        "report_bytes": size,
        "report_3_comparisons_cli_seconds": round(med(compare_s), 3),
        "ratio_report_3_comparisons_cli_to_score_cli": round(med(compare_s) / med(score_s), 2),
        "report_3_comparisons_images_shown": len(set(re.findall(r'data-file="([^"]+)"', page3))),
        "report_3_comparisons_cards": page3.count('<li class="item"'),
        "report_3_comparisons_embedded_images": page3.count("data:image/jpeg;base64,"),
        "report_3_comparisons_bytes": out3.stat().st_size,
        "goals": {
            "report_cli_under_10_s": med(report_s) < 10,
            "page_under_5_MB": size < 5_000_000,
            "page_with_3_comparisons_under_5_MB": out3.stat().st_size < 5_000_000,
        },
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
