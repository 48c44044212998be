"""What checking a local source for changes costs on every load, on 50,000 files.

``imagenet_x_hf.load`` keys its cached dataset to the state of the source
(``imagenet_x_hf.loaders.state.source_state``: the name, size and modification time of
every file), so that a source changed in place is rebuilt. This times that check on a
synthetic tree of 1,000 class folders holding 50,000 small files, warm (the file system's
metadata cached, as on every load after the first), median of repeats.

Anchors measured in the same run: listing the same tree's names alone (``os.scandir``
recursion, no ``stat``), the least any check that sees added and deleted files must
do; listing and stat-ing every file with nothing kept or hashed (``os.scandir`` and
``DirEntry.stat``), the least any check that sees a file rewritten in place must do;
and stat-ing only the 1,001 folders (their modification times), which misses a file
rewritten in place.

    python benchmarks/source_state.py [--files 50000] [--repeats 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import timeit
from pathlib import Path


def make_tree(root: Path, files: int, folders: int = 1000) -> Path:
    tree = root / "val"
    for i in range(files):
        folder = tree / f"n{i % folders:08d}"
        if i < folders:
            folder.mkdir(parents=True)
        (folder / f"ILSVRC2012_val_{i + 1:08d}.JPEG").write_bytes(b"\xff\xd8" + i.to_bytes(8, "big"))
    return tree


def list_names(folder: str) -> int:
    count = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            count += list_names(entry.path) if entry.is_dir() else 1
    return count


def stat_every_file(folder: str) -> int:
    count = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            count += stat_every_file(entry.path) if entry.is_dir() else entry.stat().st_size > 0
    return count


def stat_folders(tree: Path) -> int:
    return sum(1 for p in [tree, *tree.iterdir()] if p.stat().st_mtime_ns)


def median_seconds(fn, repeats: int) -> float:
    return statistics.median(timeit.repeat(fn, number=1, repeat=repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000, help="files in the tree (default: 50000)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats (default: 7)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (default: text)")
    args = parser.parse_args()
    from imagenet_x_hf.loaders.state import source_state

    work = Path(tempfile.mkdtemp(prefix="imagenet-x-state-bench-"))
    try:
        tree = make_tree(work, args.files)
        source_state(tree)  # warm the metadata cache
        state = median_seconds(lambda: source_state(tree, kind="class_folders"), args.repeats)
        names = median_seconds(lambda: list_names(str(tree)), args.repeats)
        stats = median_seconds(lambda: stat_every_file(str(tree)), args.repeats)
        folders = median_seconds(lambda: stat_folders(tree), args.repeats)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures = {
        "files": args.files,
        "source_state_seconds": round(state, 4),
        "microseconds_per_file": round(state / args.files * 1e6, 2),
        "anchor_list_names_seconds": round(names, 4),
        "state_over_listing": round(state / names, 2),
        "anchor_stat_every_file_seconds": round(stats, 4),
        "state_over_stat_every_file": round(state / stats, 2),
        "folder_times_only_seconds": round(folders, 4),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{args.files} files in 1000 class folders, warm, median of {args.repeats}:")
    print(
        f"  source_state (name, size, mtime of every file) {state:.3f} s ({figures['microseconds_per_file']} us/file)"
    )
    print(
        f"  anchor: listing the names alone {names:.3f} s -> state = {figures['state_over_listing']}x the listing"
    )
    print(
        f"  anchor: listing and stat-ing every file, nothing hashed {stats:.3f} s -> state = "
        f"{figures['state_over_stat_every_file']}x that"
    )
    print(f"  folder modification times only {folders:.4f} s (misses a file rewritten in place)")


if __name__ == "__main__":
    main()
