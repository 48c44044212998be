"""The state of a local ImageNet source, as a short hash: a cached dataset is rebuilt when it changes.

A file source (a tar, one Parquet file, one shard) is its size and modification time:
replacing a member rewrites the file. A folder is the name, size and modification time
of every file under it, so a file replaced inside a subfolder, added to a class folder
or deleted changes the hash even when no folder's own time changes (a file rewritten
in place leaves it alone). Each folder is listed once and each entry stat-ed once,
relative to the open folder (no path resolved per file); the names and the numbers are
hashed a folder at a time, so the cost is the ``stat`` calls themselves. Train images
in class folders are looked up by name, so only the annotated names are checked
there, present or not, instead of all 1.28 M files.
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
from array import array
from collections.abc import Collection
from pathlib import Path
from stat import S_ISDIR

from imagenet_x_hf.loaders.names import _TRAIN

# stat relative to an open folder where the platform allows it (Linux, macOS)
_AT_FOLDER = os.stat in os.supports_dir_fd and os.listdir in os.supports_fd
_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)


def _entry_states(folder: str) -> tuple[list[str], array, list[str]]:
    """A folder's entry names (sorted), their sizes then their mtimes, and its subfolders' names.

    A subfolder counts as size -2 (its files are walked), an entry that cannot be
    stat-ed (a dangling link) as -1: its name still counts.
    """
    sizes: list[int] = []
    times: list[int] = []
    subfolders: list[str] = []
    fd = os.open(folder, _FOLDER_FLAGS) if _AT_FOLDER else None
    prefix = "" if _AT_FOLDER else os.path.join(folder, "")
    stat = os.stat
    try:
        names = sorted(os.listdir(folder if fd is None else fd))
        for name in names:
            try:
                st = stat(prefix + name, dir_fd=fd)
            except OSError:
                sizes.append(-1)
                times.append(-1)
                continue
            if S_ISDIR(st.st_mode):
                subfolders.append(name)
                sizes.append(-2)
                times.append(0)
            else:
                sizes.append(st.st_size)
                times.append(st.st_mtime_ns)
    finally:
        if fd is not None:
            os.close(fd)
    return names, array("q", sizes + times), subfolders


def _walk(folder: str, digest) -> None:
    names, values, subfolders = _entry_states(folder)
    digest.update("\0".join(names).encode("utf-8", "surrogateescape"))
    digest.update(values.tobytes())
    for name in subfolders:
        digest.update(f"\n{name}/\n".encode("utf-8", "surrogateescape"))
        _walk(os.path.join(folder, name), digest)


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
