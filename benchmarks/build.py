"""How fast ImageNet-X builds its validation dataset with images, against two anchors.

A synthetic flat folder of validation images with the real file names (5,000 by
default) is built into a cached Arrow dataset three ways, each into a fresh cache
folder, repeated and timed by the median:

- ``copy``: read every file once (``open(path, "rb").read()``) and write the bytes
  once into one file: the floor for building any cache of these images (anchor 1);
- ``copy_os_read``: the same copy reading each file with one ``os.read`` of its
  ``fstat`` size, as the folder loader reads images: the lower floor, shown beside
  anchor 1 so that a gain from the read path alone is visible;
- ``imagenet_x_hf.load(..., imagenet=folder, allow_missing=True)``: this project;
- ``imagefolder``: ``load_dataset("imagefolder", data_dir=folder)`` then a ``map``
  that attaches the factors by file name, which is what a user would write (anchor 2).

Goals: the build within 3x of the copy, and at least 2x faster than the imagefolder
route. The annotation files are parsed once before timing (both routes need them;
``imagenet_x_hf.load`` keeps them per process, the imagefolder route reads the
cached annotations dataset).

    python benchmarks/build.py [--images 5000] [--repeats 3] [--size 160 120]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path


def copy_bytes(folder: Path, out: Path) -> int:
    total = 0
    with open(out / "images.bin", "wb") as sink:
        for path in sorted(folder.iterdir()):
            with open(path, "rb") as f:
                total += sink.write(f.read())
    return total


def copy_bytes_os_read(folder: Path, out: Path) -> int:
    total = 0
    with open(out / "images.bin", "wb") as sink:
        for path in sorted(folder.iterdir()):
            fd = os.open(path, os.O_RDONLY)
            try:
                total += sink.write(os.read(fd, os.fstat(fd).st_size))
            finally:
                os.close(fd)
    return total


def build_ours(folder: Path, cache: Path) -> int:
    import imagenet_x_hf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = imagenet_x_hf.load("validation", folder, allow_missing=True, cache_dir=cache)
    return dataset.num_rows


def build_imagefolder(folder: Path, cache: Path, annotations) -> int:
    import datasets

    splits = datasets.load_dataset("imagefolder", data_dir=str(folder), cache_dir=str(cache))
    (dataset,) = splits.values()  # imagefolder names the split after the folder ("val": validation)
    index = {name: i for i, name in enumerate(annotations["file_name"])}
    columns = [c for c in annotations.column_names if c != "file_name"]
    rows = annotations.select_columns(columns).to_dict()

    def attach(batch):
        found = [index.get(os.path.basename(image["path"])) for image in batch["image"]]
        return {c: [None if i is None else rows[c][i] for i in found] for c in columns}

    dataset = dataset.cast_column("image", datasets.Image(decode=False))
    dataset = dataset.map(attach, batched=True, cache_file_name=str(cache / "with_factors.arrow"))
    return dataset.num_rows


def timed(fn, *args) -> tuple[float, int]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=5000, help="synthetic images (default: 5000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per route (default: 3)")
    parser.add_argument(
        "--size", type=int, nargs=2, default=(160, 120), help="image width and height (default: 160 120)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (default: text)")
    args = parser.parse_args()

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="imagenet-x-build-bench-"))
    os.environ["HF_DATASETS_CACHE"] = str(work / "hf-cache")
    import datasets

    datasets.disable_progress_bars()
    import imagenet_x_hf
    from imagenet_x_hf.testing import make_synthetic_imagenet

    try:
        folder = make_synthetic_imagenet(
            work / "src", layout="val_flat", n=args.images, size=tuple(args.size)
        )
        megabytes = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        annotations = imagenet_x_hf.load("validation", cache_dir=work / "annotations")
        build_ours(folder, work / "warm")  # parses the annotations once per process
        times: dict[str, list[float]] = {
            "copy": [],
            "copy_os_read": [],
            "imagenet_x_hf": [],
            "imagefolder": [],
        }
        rows = {}
        for repeat in range(args.repeats):
            for route in times:
                out = work / f"{route}-{repeat}"
                out.mkdir()
                if route == "copy":
                    seconds, rows[route] = timed(copy_bytes, folder, out)
                elif route == "copy_os_read":
                    seconds, rows[route] = timed(copy_bytes_os_read, folder, out)
                elif route == "imagenet_x_hf":
                    seconds, rows[route] = timed(build_ours, folder, out)
                else:
                    seconds, rows[route] = timed(build_imagefolder, folder, out, annotations)
                times[route].append(seconds)
                shutil.rmtree(out)
        median = {route: statistics.median(t) for route, t in times.items()}
        figures = {
            "images": args.images,
            "megabytes": round(megabytes, 1),
            "rows_built": rows["imagenet_x_hf"],
            "median_seconds": {k: round(v, 4) for k, v in median.items()},
            "build_over_copy": round(median["imagenet_x_hf"] / median["copy"], 2),
            "build_over_copy_os_read": round(median["imagenet_x_hf"] / median["copy_os_read"], 2),
            "imagefolder_over_build": round(median["imagefolder"] / median["imagenet_x_hf"], 2),
            "goals": {"build_over_copy": "<= 3", "imagefolder_over_build": ">= 2"},
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{args.images} images, {figures['megabytes']} MB, median of {args.repeats}:")
    for route, seconds in median.items():
        print(f"  {route:14s} {seconds:8.3f} s")
    print(f"build / copy           = {figures['build_over_copy']:.2f}x  (goal: within 3x)")
    print(f"build / copy_os_read   = {figures['build_over_copy_os_read']:.2f}x  (the lower floor)")
    print(f"imagefolder+map / build = {figures['imagefolder_over_build']:.2f}x  (goal: at least 2x)")


if __name__ == "__main__":
    main()
