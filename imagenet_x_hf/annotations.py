"""Read the authors' annotation files into one typed Arrow table per split.

The files ship in the authors' PyPI release ``imagenet-x==0.0.7``. We locate them
through ``importlib.metadata`` and never import that package: its ``__init__`` pulls
in pandas and scipy. A user can point at another copy of the files with the
``annotations_dir`` argument or the ``IMAGENET_X_ANNOTATIONS`` environment variable.

Every parse error names the file, the line and the fix.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow as pa

from imagenet_x_hf.errors import AnnotationFileError, ImageNetXError
from imagenet_x_hf.schema import FACTORS, METACLASSES, SPLITS

ENV_VAR = "IMAGENET_X_ANNOTATIONS"
DISTRIBUTION = "imagenet-x"
RELEASE = "0.0.7"

FILES = {
    "val_multi": "imagenet_x_val_multi_factor.jsonl",
    "val_top": "imagenet_x_val_top_factor.jsonl",
    "train_multi": "imagenet_x_train_multi_factor.jsonl",
    "train_top": "imagenet_x_train_top_factor.jsonl",
    "labels": "imagenet_labels.txt",
    "metaclasses": "imagenet_1k_classes_to_100_metaclasses.csv",
    "prototypes": "prototypical_paths.csv",
    "real": "imagenet_real_labels.jsonl",
    "filename_label": "filename_label.csv",
}

_FIX = (
    f"reinstall the authors' release (pip install --force-reinstall {DISTRIBUTION}=={RELEASE}) "
    f"or point {ENV_VAR} at an intact copy of its annotations/ folder"
)


def _split_key(split: str) -> str:
    if split not in SPLITS:
        raise ImageNetXError(
            f"unknown split {split!r}: ImageNet-X annotates 'validation' (ImageNet-1k val) "
            "and 'train' (a ~11k subset of ImageNet-1k train); pass one of those"
        )
    return "val" if split == "validation" else "train"


def annotations_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder that holds the annotation files.

    Order: the ``path`` argument, then ``$IMAGENET_X_ANNOTATIONS``, then the
    ``imagenet_x/annotations`` folder of the installed ``imagenet-x`` distribution.
    """
    if path is None:
        path = os.environ.get(ENV_VAR) or None
    if path is not None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise AnnotationFileError(
                f"annotations folder {str(folder)!r} does not exist; pass the folder that "
                f"holds {FILES['val_multi']} and the other files of {DISTRIBUTION}=={RELEASE}"
            )
        return folder
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise AnnotationFileError(
            f"the annotation files come from the authors' package, which is not installed: "
            f"pip install {DISTRIBUTION}=={RELEASE} (or set {ENV_VAR} to a copy of its "
            "annotations/ folder)"
        ) from None
    return Path(str(dist.locate_file("imagenet_x/annotations")))


def annotation_file(key: str, folder: str | os.PathLike | None = None) -> Path:
    """Path of one annotation file (a key of ``FILES``); an error names it when missing."""
    path = annotations_dir(folder) / FILES[key]
    if not path.is_file():
        raise AnnotationFileError(f"annotation file {str(path)!r} is missing; {_FIX}")
    return path


def fingerprint(folder: str | os.PathLike | None = None) -> str:
    """A short hash of the annotation files' names, sizes and modification times.

    It keys the ``datasets`` cache, so that pointing at another copy of the files,
    or repairing them, builds anew.
    """
    digest = hashlib.sha256()
    root = annotations_dir(folder)
    for key in sorted(FILES):
        path = root / FILES[key]
        stat = path.stat() if path.is_file() else None
        digest.update(f"{path}:{stat.st_size if stat else -1}:{stat.st_mtime_ns if stat else -1};".encode())
    return digest.hexdigest()[:16]


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise AnnotationFileError(
                    f"{path.name} line {number} is not valid JSON ({err.msg}): the file is "
                    f"truncated or damaged; {_FIX}"
                ) from None
            if not isinstance(row, dict) or "file_name" not in row or "class" not in row:
                raise AnnotationFileError(f"{path.name} line {number} lacks 'file_name' or 'class'; {_FIX}")
            yield number, row


def read_class_list(folder: str | os.PathLike | None = None) -> tuple[list[str], list[str]]:
    """The 1000 ImageNet WordNet ids and names in the standard class order."""
    path = annotation_file("labels", folder)
    wnids, names = [], []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            wnid, sep, name = line.rstrip("\n").partition(",")
            if not sep or not wnid.startswith("n"):
                raise AnnotationFileError(f"{path.name} line {number} is not 'wnid,name'; {_FIX}")
            wnids.append(wnid)
            names.append(name)
    if len(wnids) != 1000:
        raise AnnotationFileError(f"{path.name} lists {len(wnids)} classes, not 1000; {_FIX}")
    return wnids, names


def class_to_metaclass(folder: str | os.PathLike | None = None) -> np.ndarray:
    """For each of the 1000 classes, the index of its metaclass in ``METACLASSES``.

    The source maps classes to 100 WordNet groups; those outside the 16 the paper
    reports on become ``other``, as in the authors' toolkit.
    """
    path = annotation_file("metaclasses", folder)
    index = {name: i for i, name in enumerate(METACLASSES)}
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != 1000 or any("name" not in r for r in rows):
        raise AnnotationFileError(
            f"{path.name} must have 1000 rows with a 'name' column, found {len(rows)}; {_FIX}"
        )
    return np.array([index.get(r["name"], index["other"]) for r in rows], dtype=np.int8)


def read_prototypes(folder: str | os.PathLike | None = None) -> frozenset[str]:
    """File names of the 3,000 prototype images that annotators were shown."""
    path = annotation_file("prototypes", folder)
    with open(path, encoding="utf-8", newline="") as f:
        names = [r["file_name"] for r in csv.DictReader(f)]
    if not names:
        raise AnnotationFileError(f"{path.name} holds no prototype file names; {_FIX}")
    return frozenset(names)


def read_real_labels(folder: str | os.PathLike | None = None) -> dict[str, list[int]]:
    """ImageNet-ReaL labels by validation file name (an empty list: no ReaL label)."""
    path = annotation_file("real", folder)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise AnnotationFileError(
            f"{path.name} is not valid JSON ({err.msg} at char {err.pos}); {_FIX}"
        ) from None
    if not isinstance(entries, list) or len(entries) != 50_000:
        raise AnnotationFileError(f"{path.name} must be one JSON list of 50,000 entries; {_FIX}")
    return {f"ILSVRC2012_val_{i + 1:08d}.JPEG": labels for i, labels in enumerate(entries)}


def _factor_ids(row: dict, path: Path, number: int) -> list[int]:
    try:
        return [i for i, name in enumerate(FACTORS) if int(row[name])]
    except (KeyError, TypeError, ValueError):
        raise AnnotationFileError(
            f"{path.name} line {number} lacks a 0/1 value for every factor of {FACTORS}; {_FIX}"
        ) from None


def read_split(split: str, folder: str | os.PathLike | None = None) -> pa.Table:
    """All annotated images of a split, prototypes included, as one Arrow table.

    Columns follow ``schema.annotation_features()``; class-label columns hold ids.
    The multi-factor and top-factor files must list the same images in the same
    order (they do in the release); anything else is reported as damage.
    """
    key = _split_key(split)
    multi_path = annotation_file(f"{key}_multi", folder)
    top_path = annotation_file(f"{key}_top", folder)
    meta = class_to_metaclass(folder)
    validation = key == "val"
    prototypes = read_prototypes(folder) if validation else frozenset()
    real = read_real_labels(folder) if validation else None

    cols: dict[str, list] = {
        name: []
        for name in (
            "file_name",
            "label",
            "factors",
            "top_factor",
            "metaclass",
            "justification",
            "one_word",
            "is_prototype",
            "real_labels",
        )
    }
    tops = _jsonl(top_path)
    for number, row in _jsonl(multi_path):
        top = next(tops, None)
        if top is None or top[1]["file_name"] != row["file_name"]:
            raise AnnotationFileError(
                f"{multi_path.name} line {number} ({row['file_name']}) has no match at the same "
                f"line of {top_path.name}: one of them is truncated or damaged; {_FIX}"
            )
        label = int(row["class"])
        if not 0 <= label < 1000:
            raise AnnotationFileError(f"{multi_path.name} line {number}: class {label} is not 0-999; {_FIX}")
        top_ids = _factor_ids(top[1], top_path, top[0])
        if len(top_ids) > 1:
            raise AnnotationFileError(
                f"{top_path.name} line {top[0]} marks {len(top_ids)} top factors, at most 1 is allowed; {_FIX}"
            )
        name = row["file_name"]
        cols["file_name"].append(name)
        cols["label"].append(label)
        cols["factors"].append(_factor_ids(row, multi_path, number))
        cols["top_factor"].append(top_ids[0] if top_ids else None)
        cols["metaclass"].append(int(meta[label]))
        cols["justification"].append(row.get("justification"))
        cols["one_word"].append(row.get("one_word"))
        cols["is_prototype"].append(name in prototypes)
        if real is not None:
            if name not in real:
                raise AnnotationFileError(
                    f"{multi_path.name} line {number}: {name!r} is not an ImageNet validation "
                    f"file name; {_FIX}"
                )
            cols["real_labels"].append(real[name])
        else:
            cols["real_labels"].append(None)
    if next(tops, None) is not None:
        raise AnnotationFileError(
            f"{top_path.name} has more rows than {multi_path.name}: one of them is truncated; {_FIX}"
        )
    if not cols["file_name"]:
        raise AnnotationFileError(f"{multi_path.name} holds no annotations; {_FIX}")
    if len(set(cols["file_name"])) != len(cols["file_name"]):
        raise AnnotationFileError(f"{multi_path.name} lists some file names twice; {_FIX}")
    return pa.table(
        {
            "file_name": pa.array(cols["file_name"], pa.string()),
            "label": pa.array(cols["label"], pa.int64()),
            "factors": pa.array(cols["factors"], pa.list_(pa.int64())),
            "top_factor": pa.array(cols["top_factor"], pa.int64()),
            "metaclass": pa.array(cols["metaclass"], pa.int64()),
            "justification": pa.array(cols["justification"], pa.string()),
            "one_word": pa.array(cols["one_word"], pa.string()),
            "is_prototype": pa.array(cols["is_prototype"], pa.bool_()),
            "real_labels": pa.array(cols["real_labels"], pa.list_(pa.int16())),
        }
    )


@dataclass(frozen=True)
class AnnotationArrays:
    """Annotations of one split as numpy arrays, for vectorised metrics.

    ``multi`` and ``top`` are (N, 16) boolean matrices in ``FACTORS`` order;
    ``real_offsets``/``real_values`` hold the ReaL label sets in CSR form
    (row i: ``real_values[real_offsets[i]:real_offsets[i + 1]]``; empty for train).
    """

    file_names: np.ndarray
    labels: np.ndarray
    multi: np.ndarray
    top: np.ndarray
    metaclass: np.ndarray
    is_prototype: np.ndarray
    real_offsets: np.ndarray
    real_values: np.ndarray

    @classmethod
    def from_table(cls, table: pa.Table) -> AnnotationArrays:
        n = table.num_rows
        factors = table.column("factors").combine_chunks()
        counts = np.diff(factors.offsets.to_numpy())
        multi = np.zeros((n, len(FACTORS)), dtype=bool)
        # flatten() honours slicing, unlike .values
        multi[np.repeat(np.arange(n), counts), factors.flatten().to_numpy()] = True
        top_ids = table.column("top_factor").to_numpy(zero_copy_only=False)
        top = np.zeros((n, len(FACTORS)), dtype=bool)
        has_top = ~np.isnan(top_ids) if top_ids.dtype.kind == "f" else np.ones(n, bool)
        top[np.flatnonzero(has_top), top_ids[has_top].astype(np.int64)] = True
        real = table.column("real_labels").combine_chunks()
        if real.null_count == n:
            real_offsets = np.zeros(n + 1, dtype=np.int64)
            real_values = np.zeros(0, dtype=np.int16)
        else:
            lists = [labels or [] for labels in real.to_pylist()] if real.null_count else None
            if lists is not None:
                real = pa.array(lists, pa.list_(pa.int16()))
            real_offsets = real.offsets.to_numpy().astype(np.int64)
            real_offsets = real_offsets - real_offsets[0]
            real_values = real.flatten().to_numpy().astype(np.int16)
        return cls(
            file_names=np.asarray(table.column("file_name").to_pylist(), dtype=object),
            labels=table.column("label").to_numpy().astype(np.int16),
            multi=multi,
            top=top,
            metaclass=table.column("metaclass").to_numpy().astype(np.int8),
            is_prototype=table.column("is_prototype").to_numpy(zero_copy_only=False),
            real_offsets=real_offsets,
            real_values=real_values,
        )
