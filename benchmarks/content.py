"""What identifying a run's images by content costs, on 50,000 images.

``evaluate_model`` keys its predictions on one sha256 per image
(``imagenet_x_hf.runner.content.image_digests``), computed once per built dataset from
the image bytes its Arrow files hold, then kept beside those files. This times, on a
dataset of 50,000 images saved to disk as ``datasets`` saves it (memory-mapped Arrow,
the file system cache warm, as after a build):

- the first computation (every image hashed, in place in the Arrow buffers);
- every later run's cost (the digests read back from their file).

Anchors measured in the same run: one sha256 call over all the image bytes as one buffer
(the least any content hash of the same bytes costs), and copying every image's bytes out
of the Arrow files with ``to_pylist`` (what reading the images costs before any decoding).
The images are random bytes of ``--kb`` KB each (hashing does not look inside a JPEG);
ImageNet's validation images average about 128 KB (6.4 GB for 50,000): the figure for them
is the per-image overhead measured here (the first computation less the one-call anchor)
times 50,000, plus 6.4 GB at the one-call anchor's rate.

    python benchmarks/content.py [--images 50000] [--kb 8] [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import tempfile
import timeit
from pathlib import Path

IMAGENET_VAL_BYTES = 6.4e9


def make_dataset(root: Path, images: int, kb: int):
    import datasets

    features = datasets.Features({"file_name": datasets.Value("string"), "image": datasets.Image()})

    def rows():
        for i in range(images):
            yield {
                "file_name": f"ILSVRC2012_val_{i + 1:08d}.JPEG",
                "image": {"bytes": os.urandom(kb * 1024), "path": None},
            }

    built = datasets.Dataset.from_generator(rows, features=features, cache_dir=str(root / "gen"))
    built.save_to_disk(str(root / "saved"))
    return datasets.load_from_disk(str(root / "saved"))


def median_seconds(fn, repeats: int) -> float:
    return statistics.median(timeit.repeat(fn, number=1, repeat=repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50_000, help="images in the dataset (default: 50000)")
    parser.add_argument("--kb", type=int, default=8, help="size of each image in KB (default: 8)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (default: 5)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (default: text)")
    args = parser.parse_args()
    from imagenet_x_hf.runner import content

    work = Path(tempfile.mkdtemp(prefix="imagenet-x-content-bench-"))
    try:
        ds = make_dataset(work, args.images, args.kb)
        table = ds.with_format("arrow")[:]
        column = table.column("image").combine_chunks().field("bytes")
        total = sum(len(b) for b in column.to_pylist()[:1]) * args.images  # equal sizes

        def first():
            content._SEEN.clear()
            for cached in Path(ds.cache_files[0]["filename"]).parent.glob("image_sha256-*.npy"):
                cached.unlink()
            content.image_digests(ds)

        def later():
            content._SEEN.clear()
            content.image_digests(ds)

        def one_buffer():
            hashlib.sha256(column.buffers()[2]).digest()

        def copy_out():
            for start in range(0, args.images, 1024):
                ds.with_format("arrow")[start : start + 1024].column("image").to_pylist()

        copy_out()  # warm the file system cache
        digests = median_seconds(first, args.repeats)
        cached = median_seconds(later, args.repeats)
        floor = median_seconds(one_buffer, args.repeats)
        reading = median_seconds(copy_out, args.repeats)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    throughput = total / digests
    figures = {
        "images": args.images,
        "kb_per_image": args.kb,
        "first_seconds": round(digests, 4),
        "microseconds_per_image": round(digests / args.images * 1e6, 2),
        "gb_per_second": round(throughput / 1e9, 3),
        # the per-image overhead (hashing call, offsets) measured here, plus ImageNet's bytes at the
        # rate of one sha256 call
        "imagenet_val_first_seconds_estimate": round(
            50_000 * (digests - floor) / args.images + IMAGENET_VAL_BYTES / (total / floor), 1
        ),
        "later_runs_seconds": round(cached, 4),
        "anchor_one_sha256_call_seconds": round(floor, 4),
        "first_over_one_call": round(digests / floor, 2),
        "anchor_copy_bytes_out_seconds": round(reading, 4),
        "first_over_copy_out": round(digests / reading, 2),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{args.images} images of {args.kb} KB, median of {args.repeats}:")
    print(
        f"  first run: sha256 of every image {digests:.3f} s ({figures['microseconds_per_image']} us/image, "
        f"{figures['gb_per_second']} GB/s)"
    )
    print(f"  later runs: digests read back {cached:.4f} s")
    print(
        f"  anchor: one sha256 call over the same bytes {floor:.3f} s -> {figures['first_over_one_call']}x that"
    )
    print(
        f"  anchor: copying every image's bytes out of Arrow {reading:.3f} s -> "
        f"{figures['first_over_copy_out']}x that"
    )
    print(
        f"  ImageNet val (50,000 images, 6.4 GB), estimated: ~{figures['imagenet_val_first_seconds_estimate']} s, "
        "once per built dataset"
    )


if __name__ == "__main__":
    main()
