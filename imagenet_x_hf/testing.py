"""Synthetic ImageNet sources with the real file names, for tests and benchmarks.

ImageNet itself cannot ship with the project, so tests build small stand-ins in
each layout users keep ImageNet in. Every image is a small JPEG whose colour is
derived from its class (``synthetic_colour``) and whose stripe position comes
from its file name, so a test can tell images of different classes apart after
decoding and tell any two files apart by their bytes.

The odd files of real ImageNet can be mixed in (``odd_files=True``): the first
three chosen names become a CMYK JPEG, a grayscale JPEG and a PNG stored under a
``.JPEG`` name. ``corrupt=k`` makes the next ``k`` names truncated JPEGs and
``missing=k`` leaves the last ``k`` names out. ``synthetic_roles`` tells which
name got which role.

>>> import tempfile
>>> root = make_synthetic_imagenet(tempfile.mkdtemp(), layout="val_flat", n=5)
>>> root.name, len(list(root.iterdir()))
('val', 5)
>>> all(p.name.startswith("ILSVRC2012_val_") for p in root.iterdir())
True
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import tarfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq
from PIL import Image

from imagenet_x_hf import annotations, schema
from imagenet_x_hf.errors import ImageNetXError

LAYOUTS: tuple[str, ...] = (
    "val_flat",
    "val_class_folders",
    "val_tar",
    "train_folders",
    "train_tar",
    "parquet",
    "webdataset",
)

_TRAIN_LAYOUTS = ("train_folders", "train_tar")
_VAL_LAYOUTS = ("val_flat", "val_class_folders", "val_tar")


@functools.cache
def _annotated(split: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Annotated, non-prototype file names of a split and their labels, in file order."""
    key = "val_multi" if split == "validation" else "train_multi"
    columns = pa.schema([("file_name", pa.string()), ("class", pa.int64())])
    table = pj.read_json(
        annotations.annotation_file(key),
        parse_options=pj.ParseOptions(explicit_schema=columns, unexpected_field_behavior="ignore"),
    )
    names = table.column("file_name").to_pylist()
    labels = table.column("class").to_pylist()
    prototypes = annotations.read_prototypes() if split == "validation" else frozenset()
    kept = [(n, lab) for n, lab in zip(names, labels, strict=True) if n not in prototypes]
    kept.sort()
    return tuple(n for n, _ in kept), tuple(lab for _, lab in kept)


@functools.cache
def _all_val_labels() -> dict[str, int]:
    with open(annotations.annotation_file("filename_label"), encoding="utf-8", newline="") as f:
        return {row["file_name"]: int(row["label"]) for row in csv.DictReader(f)}


def annotated_file_names(split: str = "validation") -> list[str]:
    """Annotated file names of a split (prototypes left out), sorted.

    >>> annotated_file_names("train")[0]
    'n01440764_3096.JPEG'
    """
    return list(_annotated(_check_split(split))[0])


def label_of(file_name: str) -> int:
    """The ImageNet class index of a validation or train file name.

    >>> label_of("ILSVRC2012_val_00000293.JPEG"), label_of("n01443537_99.JPEG")
    (0, 1)
    """
    if file_name.startswith("ILSVRC2012_val_"):
        labels = _all_val_labels()
        if file_name not in labels:
            raise ImageNetXError(f"{file_name!r} is not an ImageNet validation file name")
        return labels[file_name]
    wnid = file_name.split("_", 1)[0]
    try:
        return schema.WNIDS.index(wnid)
    except ValueError:
        raise ImageNetXError(f"{file_name!r} does not start with an ImageNet WordNet id") from None


def synthetic_colour(label: int) -> tuple[int, int, int]:
    """The RGB colour of every synthetic image of class ``label``.

    Channels step in multiples of 32, so decoded JPEGs of two classes differ
    by far more than compression noise whenever their colours differ.

    >>> synthetic_colour(0), synthetic_colour(1)
    ((16, 48, 208), (48, 208, 112))
    """
    return (
        16 + 32 * (label % 8),
        16 + 32 * ((label // 8 + 5 * label + 1) % 8),
        16 + 32 * ((6 - 3 * label) % 8),
    )


def synthetic_roles(
    file_names: Sequence[str], *, odd_files: bool = False, corrupt: int = 0, missing: int = 0
) -> dict[str, list[str]]:
    """Which names ``make_synthetic_imagenet`` writes as odd, corrupt or not at all.

    >>> roles = synthetic_roles(["a", "b", "c", "d", "e", "f"], odd_files=True, corrupt=1, missing=1)
    >>> roles["cmyk"], roles["grayscale"], roles["png"], roles["corrupt"], roles["missing"]
    (['a'], ['b'], ['c'], ['d'], ['f'])
    """
    names = list(file_names)
    odd = 3 if odd_files else 0
    if odd + corrupt + missing > len(names):
        raise ImageNetXError(
            f"{len(names)} file names cannot hold {odd} odd, {corrupt} corrupt and {missing} missing "
            "files; ask for more names (n=...)"
        )
    return {
        "cmyk": names[0:1] if odd else [],
        "grayscale": names[1:2] if odd else [],
        "png": names[2:3] if odd else [],
        "corrupt": names[odd : odd + corrupt],
        "missing": names[len(names) - missing :] if missing else [],
    }


def _check_split(split: str) -> str:
    if split not in ("validation", "train"):
        raise ImageNetXError(f"unknown split {split!r}: pass 'validation' or 'train'")
    return split


def _encode(name: str, label: int, size: tuple[int, int], role: str | None, quality: int) -> bytes:
    w, h = size
    pixels = np.empty((h, w, 3), dtype=np.uint8)
    pixels[:] = synthetic_colour(label)
    # A stripe whose place depends on the name makes every file's bytes unique.
    column = zlib.crc32(name.encode()) % max(w - 2, 1)
    pixels[:, column : column + 2] = 255 - pixels[0, 0]
    image = Image.fromarray(pixels, "RGB")
    out = io.BytesIO()
    if role == "cmyk":
        image.convert("CMYK").save(out, "JPEG", quality=quality)
    elif role == "grayscale":
        image.convert("L").save(out, "JPEG", quality=quality)
    elif role == "png":
        image.save(out, "PNG")
    else:
        image.save(out, "JPEG", quality=quality)
    data = out.getvalue()
    if role == "corrupt":
        # A truncated download: the header parses, the scan data stops halfway.
        data = data[: max(len(data) // 2, 200)]
    return data


def _extra_names(split: str, count: int, chosen: Sequence[str]) -> list[tuple[str, int]]:
    """Unannotated file names (with labels) that real sources hold beside the annotated ones."""
    if count <= 0:
        return []
    if split == "validation":
        annotated = set(_annotated("validation")[0]) | set(chosen)
        annotated |= annotations.read_prototypes()
        pool = [(n, lab) for n, lab in sorted(_all_val_labels().items()) if n not in annotated]
        return pool[:count]
    # Train names out of the annotated subset: some in classes that hold chosen
    # images, some in classes that hold none.
    chosen_labels = sorted({label_of(n) for n in chosen})
    other = [c for c in range(1000) if c not in set(chosen_labels)]
    out = []
    for i in range(count):
        pool = chosen_labels if (i % 2 == 0 and chosen_labels) else other
        label = pool[(i // 2) % len(pool)]
        out.append((f"{schema.WNIDS[label]}_{900000 + i}.JPEG", label))
    return out


@dataclass(frozen=True)
class SyntheticImageNet:
    """What a synthetic ImageNet source holds and how it is laid out (see ``make_synthetic_imagenet``)."""

    layout: str
    file_names: Sequence[str] | None = None
    n: int | None = None
    size: tuple[int, int] = (48, 40)
    seed: int = 0
    split: str | None = None
    odd_files: bool = False
    corrupt: int = 0
    missing: int = 0
    extra: int = 0
    quality: int = 85
    shard_size: int = 64


def make_synthetic_imagenet(root: str | os.PathLike, **spec: Any) -> Path:
    """Write a synthetic ImageNet source under ``root``; return the path to pass as ``imagenet=``.

    ``spec`` holds the fields of ``SyntheticImageNet``:

    Args:
        root: an existing or new folder; the source is written inside it.
        layout: one of ``LAYOUTS``: ``val_flat`` (``val/ILSVRC2012_val_*.JPEG``),
            ``val_class_folders`` (``val/<wnid>/...``), ``val_tar``
            (``ILSVRC2012_img_val.tar``), ``train_folders`` (``train/<wnid>/<wnid>_N.JPEG``),
            ``train_tar`` (``ILSVRC2012_img_train.tar``: a tar of per-class tars),
            ``parquet`` (Hub-like: ``data/<split>-0000X-of-0000Y.parquet`` with
            ``image`` + ``label``, the name only in the image path, wnid appended for
            validation) and ``webdataset`` (``imagenet1k-<split>-XXXX.tar`` shards
            of ``<key>.jpg`` + ``<key>.json`` + ``<key>.cls``).
        file_names: the annotated names to write; default: ``n`` of them drawn
            with ``seed`` from the split's annotated, non-prototype images.
        n: how many names to draw when ``file_names`` is not given (default 16).
        size: (width, height) of every image.
        split: ``validation`` or ``train``; implied by the layout for folders and tars.
        odd_files, corrupt, missing: see ``synthetic_roles``.
        extra: unannotated images to add (a real source holds more than the annotated set).
        quality: JPEG quality.
        shard_size: images per Parquet file or WebDataset shard.

    Images are sorted by file name and labels follow the annotations, so class
    folders agree with them.
    """
    return _write_source(Path(root), SyntheticImageNet(**spec))


def _write_source(root: Path, spec: SyntheticImageNet) -> Path:
    layout, split, file_names = spec.layout, spec.split, spec.file_names
    if layout not in LAYOUTS:
        raise ImageNetXError(f"unknown layout {layout!r}: pass one of {LAYOUTS}")
    implied = "train" if layout in _TRAIN_LAYOUTS else "validation" if layout in _VAL_LAYOUTS else None
    if split is None:
        split = implied or "validation"
    _check_split(split)
    if implied is not None and split != implied:
        raise ImageNetXError(f"layout {layout!r} holds the {implied} split, not {split!r}")

    if file_names is None:
        pool = _annotated(split)[0]
        count = 16 if spec.n is None else spec.n
        if count > len(pool):
            raise ImageNetXError(f"n={count} exceeds the {len(pool)} annotated {split} images")
        picked = np.random.default_rng(spec.seed).choice(len(pool), size=count, replace=False)
        file_names = [pool[i] for i in sorted(picked)]
    names = list(file_names)
    roles = synthetic_roles(names, odd_files=spec.odd_files, corrupt=spec.corrupt, missing=spec.missing)
    role_of = {name: role for role, group in roles.items() for name in group}
    entries = [(name, label_of(name)) for name in names if role_of.get(name) != "missing"]
    entries += _extra_names(split, spec.extra, names)
    entries.sort()
    files = [
        (name, label, _encode(name, label, spec.size, role_of.get(name), spec.quality))
        for name, label in entries
    ]

    root.mkdir(parents=True, exist_ok=True)
    writer = {
        "val_flat": _write_flat,
        "val_class_folders": _write_class_folders,
        "train_folders": _write_class_folders,
        "val_tar": _write_val_tar,
        "train_tar": _write_train_tar,
        "parquet": _write_parquet,
        "webdataset": _write_webdataset,
    }[layout]
    return writer(root, files, split=split, shard_size=spec.shard_size)


def _wnid(label: int) -> str:
    return schema.WNIDS[label]


def _folder(root: Path, split: str) -> Path:
    folder = root / ("val" if split == "validation" else "train")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_flat(root: Path, files, *, split: str, shard_size: int) -> Path:
    folder = _folder(root, split)
    for name, _, data in files:
        (folder / name).write_bytes(data)
    return folder


def _write_class_folders(root: Path, files, *, split: str, shard_size: int) -> Path:
    folder = _folder(root, split)
    for name, label, data in files:
        sub = folder / _wnid(label)
        sub.mkdir(exist_ok=True)
        (sub / name).write_bytes(data)
    return folder


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_300_000_000
    tar.addfile(info, io.BytesIO(data))


def _write_val_tar(root: Path, files, *, split: str, shard_size: int) -> Path:
    path = root / "ILSVRC2012_img_val.tar"
    with tarfile.open(path, "w") as tar:
        for name, _, data in files:
            _add(tar, name, data)
    return path


def _write_train_tar(root: Path, files, *, split: str, shard_size: int) -> Path:
    path = root / "ILSVRC2012_img_train.tar"
    by_class: dict[int, list[tuple[str, bytes]]] = {}
    for name, label, data in files:
        by_class.setdefault(label, []).append((name, data))
    with tarfile.open(path, "w") as outer:
        for label in sorted(by_class, key=_wnid):
            inner = io.BytesIO()
            with tarfile.open(fileobj=inner, mode="w") as tar:
                for name, data in by_class[label]:
                    _add(tar, name, data)
            _add(outer, f"{_wnid(label)}.tar", inner.getvalue())
    return path


def _shards(files, shard_size: int):
    size = max(1, shard_size)
    return [files[i : i + size] for i in range(0, len(files), size)] or [[]]


def _write_parquet(root: Path, files, *, split: str, shard_size: int) -> Path:
    repo = root / "imagenet-1k"
    data_dir = repo / "data"
    data_dir.mkdir(parents=True, exist_ok=True)

    # The Hub's Parquet files carry their datasets features in the schema metadata.
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=list(schema.CLASS_NAMES))}
    )
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    shards = _shards(files, shard_size)
    for i, shard in enumerate(shards):
        paths = []
        for name, label, _ in shard:
            stem, dot, ext = name.rpartition(".")
            # The Hub copy appends the wnid to validation names only.
            paths.append(f"{stem}_{_wnid(label)}.{ext}" if split == "validation" else name)
        table = pa.table(
            {
                "image": pa.array(
                    [{"bytes": d, "path": p} for (_, _, d), p in zip(shard, paths, strict=True)],
                    image_type,
                ),
                "label": pa.array([lab for _, lab, _ in shard], pa.int64()),
            },
            schema=features.arrow_schema,
        )
        pq.write_table(table, data_dir / f"{split}-{i:05d}-of-{len(shards):05d}.parquet")
    return repo


def _write_webdataset(root: Path, files, *, split: str, shard_size: int) -> Path:
    repo = root / "imagenet-1k-wds"
    repo.mkdir(parents=True, exist_ok=True)
    for i, shard in enumerate(_shards(files, shard_size)):
        with tarfile.open(repo / f"imagenet1k-{split}-{i:04d}.tar", "w") as tar:
            for name, label, data in shard:
                key = name.rsplit(".", 1)[0]
                stored = name if split == "validation" else f"{_wnid(label)}/{name}"
                meta = {"filename": stored, "label": label, "class_name": _wnid(label)}
                _add(tar, f"{key}.jpg", data)
                _add(tar, f"{key}.cls", str(label).encode())
                _add(tar, f"{key}.json", json.dumps(meta).encode())
    return repo
