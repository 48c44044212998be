"""The state of a local ImageNet source, as a short hash: a cached dataset is rebuilt when it changes.

A file source (a tar, one Parquet file, one shard) is its size and modification time:
replacing a member rewrites the file. A folder is the name, size and modification time
of every file under it (``os.scandir`` gives the names; one ``stat`` per file), so a file
replaced inside a subfolder, added to a class folder or deleted changes the hash even
when no folder's own time changes (a file rewritten in place leaves it alone). Train
images in class folders are looked up by name, so only the annotated names are
checked there, present or not, instead of all 1.28 M files.
``benchmarks/source_state.py`` measures the cost on 50,000 files.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.JPEG").write_bytes(b"1")
>>> before = source_state(folder)
>>> _ = (folder / "b.JPEG").write_bytes(b"2")
>>> source_state(folder) != before
True
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection
from pathlib import Path

from imagenet_x_hf.loaders.names import _TRAIN


def _walk(folder: str, digest) -> None:
    lines, subfolders = [], []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir():
                subfolders.append(entry)
                continue
            try:
                stat = entry.stat()
                lines.append(f"{entry.name}\0{stat.st_size}\0{stat.st_mtime_ns}")
            except OSError:  # a dangling link: its name still counts
                lines.append(f"{entry.name}\0-")
    lines.sort()
    digest.update("\n".join(lines).encode())
    for entry in sorted(subfolders, key=lambda e: e.name):
        digest.update(f"\n{entry.name}/\n".encode())
        _walk(entry.path, digest)


def source_state(
    source: str | os.PathLike, *, kind: str | None = None, file_names: Collection[str] | None = None
) -> str:
    """A hash of the source's state; for a Hub id (no local path), the id itself."""
    path = Path(source).expanduser()
    if not path.exists():
        return f"id:{source}"
    digest = hashlib.sha256(str(path.resolve()).encode())
    if path.is_file():
        stat = path.stat()
        digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    elif kind == "class_folders" and file_names and all(_TRAIN.fullmatch(n) for n in file_names):
        for name in sorted(file_names):
            try:
                stat = os.stat(path / name.split("_", 1)[0] / name)
                digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
            except OSError:
                digest.update(f"{name}\0absent\0".encode())
    else:
        _walk(str(path), digest)
    return digest.hexdigest()[:16]
