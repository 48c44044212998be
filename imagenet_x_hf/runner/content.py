"""What a run's images are: one sha256 per image, so predictions follow the pictures, not their names.

A run keys its predictions on these digests: an image replaced under the same file name
is predicted again, while the same images moved to another folder or packed into a tar
give the same digests and resume. The digests are computed once per built dataset, from
the image bytes its Arrow files hold, and kept beside those files (``image_sha256-*.npy``),
so later runs on the same source read 32 bytes per image instead of hashing the images
again; ``benchmarks/content.py`` measures the first computation on 50,000 images.

>>> import datasets
>>> features = datasets.Features({"file_name": datasets.Value("string"), "image": datasets.Image()})
>>> ds = datasets.Dataset.from_dict({"file_name": ["a.JPEG", "b.JPEG"],
...     "image": [{"bytes": b"one", "path": "a.JPEG"}, {"bytes": b"two", "path": "b.JPEG"}]}, features=features)
>>> digests = image_digests(ds)
>>> digests.shape, digests[0].tobytes().hex()[:16]
((2, 32), '7692c3ad3540bb80')
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from imagenet_x_hf.errors import SourceError

DIGEST_BYTES = 32
_BATCH = 1024
# digests of datasets already seen in this process (a sweep runs many models on one dataset)
_SEEN: dict[str, np.ndarray] = {}


def image_digests(dataset) -> np.ndarray:
    """``(rows, 32)`` uint8: the sha256 of each row's image bytes, in row order (cached, see module doc)."""
    if "image" not in dataset.column_names:
        raise SourceError(
            "the dataset has no 'image' column; load it with imagenet_x_hf.load(split, imagenet=SOURCE)"
        )
    key = _cache_key(dataset)
    if key is not None and key in _SEEN:
        return _SEEN[key]
    path = _cache_path(dataset, key)
    digests = _read(path, dataset.num_rows)
    if digests is None:
        digests = _compute(dataset)
        _write(path, digests)
    if key is not None:
        _SEEN.clear()  # keep one: a dataset's digests are 1.6 MB per 50,000 images
        _SEEN[key] = digests
    return digests


def content_sha256(digests: np.ndarray) -> str:
    """One hash of every image's content, in row order: the source's content identity."""
    return hashlib.sha256(np.ascontiguousarray(digests).tobytes()).hexdigest()


def _compute(dataset) -> np.ndarray:
    names = (
        dataset.select_columns(["file_name"]).with_format("arrow")
        if "file_name" in dataset.column_names
        else None
    )
    images = dataset.select_columns(["image"]).with_format("arrow")
    out = bytearray()
    for start in range(0, dataset.num_rows, _BATCH):
        for chunk in images[start : start + _BATCH].column("image").chunks:
            for digest in _chunk_digests(chunk, names, len(out) // DIGEST_BYTES):
                out += digest
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(-1, DIGEST_BYTES)


def _chunk_digests(chunk: pa.StructArray, names, first_row: int):
    """sha256 of each image of an Arrow chunk, hashed in place (no copy of the bytes)."""
    data = chunk.field("bytes")
    paths = chunk.field("path")
    valid = data.is_valid().to_numpy(zero_copy_only=False).tolist()
    if any(valid):
        kind = np.int64 if pa.types.is_large_binary(data.type) else np.int32
        buffers = data.buffers()
        offsets = np.frombuffer(buffers[1], dtype=kind)[data.offset : data.offset + len(data) + 1].tolist()
        view = memoryview(buffers[2]) if buffers[2] is not None else memoryview(b"")
    sha256 = hashlib.sha256
    for i in range(len(chunk)):
        if valid[i]:
            yield sha256(view[offsets[i] : offsets[i + 1]]).digest()
            continue
        path = paths[i].as_py()
        if not path:
            name = names[first_row + i]["file_name"][0] if names is not None else f"row {first_row + i}"
            raise SourceError(f"{name} has no image in the dataset; rebuild it with its ImageNet source")
        try:
            with open(path, "rb") as f:
                yield sha256(f.read()).digest()
        except OSError as err:
            raise SourceError(f"cannot read the image {path}: {err.strerror}") from None


def _cache_key(dataset) -> str | None:
    """What identifies the dataset's rows: its Arrow files (name, size, time) and its fingerprint."""
    files = [f["filename"] for f in getattr(dataset, "cache_files", None) or []]
    if not files:
        return None
    try:
        states = [(name, os.stat(name).st_size, os.stat(name).st_mtime_ns) for name in files]
    except OSError:
        return None
    text = json.dumps([states, getattr(dataset, "_fingerprint", None)])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _cache_path(dataset, key: str | None) -> Path | None:
    if key is None:
        return None
    return Path(dataset.cache_files[0]["filename"]).parent / f"image_sha256-{key}.npy"


def _read(path: Path | None, rows: int) -> np.ndarray | None:
    if path is None or not path.is_file():
        return None
    try:
        digests = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return digests if digests.shape == (rows, DIGEST_BYTES) and digests.dtype == np.uint8 else None


def _write(path: Path | None, digests: np.ndarray) -> None:
    if path is None:
        return
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            np.save(f, digests, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:  # a read-only cache: the digests are computed again next time
        tmp.unlink(missing_ok=True)
