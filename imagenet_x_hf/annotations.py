"""The annotations of ImageNet-X: the authors' files, one typed table and one array form per split.

The files ship in the authors' PyPI release ``imagenet-x==0.0.7``. We locate them
through ``importlib.metadata`` and never import that package: its ``__init__`` pulls
in pandas and scipy. A user can point at another copy of the files with the
``annotations_dir`` argument or the ``IMAGENET_X_ANNOTATIONS`` environment variable.

Parsing the validation files takes seconds, so ``split_table`` keeps the parsed table
in an Arrow file named by the files' fingerprint (``cache_root()``; a memory-mapped
read afterwards) and ``split_annotations`` gives the arrays every other part reads:
the metrics, the statistics, the torch view and the ``datasets`` builder.

Every parse error names the file, the line and the fix.

>>> ann = split_annotations("validation")
>>> len(ann), ann.labels[:3].tolist(), ann.top.row(0).tolist(), ann.file_names[0].as_py()
(48868, [762, 292, 718], [9], 'ILSVRC2012_val_00004487.JPEG')
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from imagenet_x_hf.errors import AnnotationFileError, ImageNetXError
from imagenet_x_hf.schema import CLASS_NAMES, FACTORS, METACLASSES, SPLITS, WNIDS
from imagenet_x_hf.settings import WHICH_FACTORS

CACHE_ENV_VAR = "IMAGENET_X_HF_CACHE"
_VAL_NAME = r"^ILSVRC2012_val_\d{8}\.JPEG$"
# Names the layout of the cached tables: a new layout is parsed anew, not read from an old file.
_TABLE_VERSION = 1

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


def check_split(split: str) -> str:
    """``split`` itself when ImageNet-X annotates it; otherwise an error naming the two splits."""
    if split not in SPLITS:
        raise ImageNetXError(
            f"unknown split {split!r}: ImageNet-X annotates 'validation' (ImageNet-1k val) "
            "and 'train' (a ~11k subset of ImageNet-1k train); pass one of those"
        )
    return split


def _split_key(split: str) -> str:
    return "val" if check_split(split) == "validation" else "train"


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
    return _release_dir()


@functools.cache
def _release_dir() -> Path:
    # looking a distribution up scans sys.path (about a millisecond): once per process
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


def _check_class_list(folder: str | os.PathLike | None) -> None:
    wnids, _ = read_class_list(folder)
    if tuple(wnids) != WNIDS:
        first = next(i for i, (a, b) in enumerate(zip(wnids, WNIDS, strict=True)) if a != b)
        raise AnnotationFileError(
            f"{FILES['labels']}: class {first} is {wnids[first]}, not {WNIDS[first]} as in ImageNet-1k's "
            f"standard order ({CLASS_NAMES[first]}); {_FIX}"
        )


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
    _check_class_list(folder)
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


def cache_root() -> Path:
    """Where parsed annotation tables are kept.

    ``$IMAGENET_X_HF_CACHE``, else ``imagenet_x_hf`` under ``$HF_HOME`` (by default
    ``~/.cache/huggingface``), beside the other Hugging Face caches.
    """
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface"
    )
    return Path(hf_home).expanduser() / "imagenet_x_hf"


def _read_cached(path: Path) -> pa.Table | None:
    try:
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_file(source).read_all()
    except (OSError, pa.ArrowInvalid):
        return None  # absent, or cut short by a crash: parse again


def split_table(
    split: str, folder: str | os.PathLike | None = None, *, filter_prototypes: bool = False
) -> pa.Table:
    """``read_split``, parsed once per state of the files and then read from the cache.

    The cache file is named by the annotation files' fingerprint, so repaired or other
    files are parsed anew; older cache files of the same folder are removed then.
    ``filter_prototypes`` leaves out the prototype images' rows.
    """
    table = _cached_table(check_split(split), os.fspath(annotations_dir(folder)), fingerprint(folder))
    if filter_prototypes:
        table = table.filter(pc.invert(table.column("is_prototype")))
    return table


@functools.lru_cache(maxsize=4)
def _cached_table(split: str, folder: str, fp: str) -> pa.Table:
    root = cache_root()
    place = hashlib.sha256(folder.encode()).hexdigest()[:8]
    path = root / f"{split}-{place}-{fp}-v{_TABLE_VERSION}.arrow"
    table = _read_cached(path)
    if table is not None:
        return table
    table = read_split(split, folder)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with (
            tempfile.NamedTemporaryFile(dir=root, suffix=".tmp", delete=False) as f,
            pa.ipc.new_file(f, table.schema) as writer,
        ):
            writer.write_table(table)
        os.replace(f.name, path)
        for stale in root.glob(f"{split}-{place}-*.arrow"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only cache only costs the parse next time
    return table


@dataclass(frozen=True, eq=False)
class Csr:
    """Small integer sets, one per row, in compressed sparse row form.

    Row ``i`` holds ``indices[indptr[i]:indptr[i + 1]]``: the factor ids of an image
    (multi-factor: any number; top factor: at most one) or its ImageNet-ReaL labels.

    >>> flags = Csr.from_arrow(pa.array([[0, 2], [], None, [1]]))
    >>> flags.dense(3).astype(int).tolist()
    [[1, 0, 1], [0, 0, 0], [0, 0, 0], [0, 1, 0]]
    >>> [a.tolist() for a in flags.pairs(np.array([3, 0]))]
    [[0, 1, 1], [1, 0, 2]]
    >>> Csr.from_arrow(pa.array([4, None])).padded().tolist()
    [[4], [-1]]
    """

    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def from_arrow(cls, column: pa.Array | pa.ChunkedArray) -> Csr:
        """From a list column (null: an empty set) or a nullable integer column (one or none)."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy()
            indices = pc.list_flatten(column).to_numpy()
        else:
            lengths = column.is_valid().to_numpy(zero_copy_only=False).astype(np.int64)
            indices = column.drop_null().to_numpy()
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        return cls(indptr=indptr, indices=indices.astype(np.int64))

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def row(self, i: int) -> np.ndarray:
        return self.indices[self.indptr[i] : self.indptr[i + 1]]

    def lengths(self, rows: np.ndarray | None = None) -> np.ndarray:
        lengths = np.diff(self.indptr)
        return lengths if rows is None else lengths[rows]

    def pairs(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``np.nonzero`` of the dense form of ``rows`` (all rows by default), without building it."""
        if rows is None:
            return np.repeat(np.arange(len(self)), self.lengths()), self.indices
        single = self._single
        if single is not None:  # at most one value per row (the top factor): a gather
            values = single[rows]
            image = np.flatnonzero(values >= 0)
            return image, values[image]
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        image = np.repeat(np.arange(len(rows)), lengths)
        first = np.cumsum(lengths) - lengths
        index = np.arange(int(lengths.sum())) + np.repeat(starts - first, lengths)
        return image, self.indices[index]

    @functools.cached_property
    def _single(self) -> np.ndarray | None:
        """Each row's one value (-1: none) when no row holds more than one; else None."""
        lengths = self.lengths()
        if len(lengths) == 0 or lengths.max() > 1:
            return None
        single = np.full(len(lengths), -1, dtype=np.int64)
        single[lengths == 1] = self.indices
        return single

    def dense(self, width: int = len(FACTORS), rows: np.ndarray | None = None) -> np.ndarray:
        """A boolean (rows, width) matrix: the flags of each row."""
        image, ids = self.pairs(rows)
        out = np.zeros((len(self) if rows is None else len(rows), width), dtype=bool)
        out[image, ids] = True
        return out

    def padded(self, rows: np.ndarray | None = None) -> np.ndarray:
        """An int16 (rows, longest set) matrix of each row's values, padded with -1."""
        image, values = self.pairs(rows)
        lengths = self.lengths(rows)
        out = np.full((len(lengths), max(int(lengths.max(initial=0)), 1)), -1, dtype=np.int16)
        out[image, np.arange(len(values)) - np.repeat(np.cumsum(lengths) - lengths, lengths)] = values
        return out


@dataclass(frozen=True, eq=False)
class SplitAnnotations:
    """Every annotated image of a split (prototypes included and flagged) as arrays.

    ``table`` holds the rows as ``datasets`` stores them (``schema.annotation_features``);
    the arrays are read from it once: ``labels`` and ``metaclass`` per row, ``top`` and
    ``multi`` factor flags and ``real`` (ImageNet-ReaL labels, empty for train) as
    ``Csr``, and ``metaclass_of_class`` for all 1000 classes.
    """

    split: str
    table: pa.Table
    file_names: pa.StringArray
    labels: np.ndarray
    top: Csr
    multi: Csr
    metaclass: np.ndarray
    metaclass_of_class: np.ndarray
    is_prototype: np.ndarray
    real: Csr

    @classmethod
    def from_table(cls, split: str, table: pa.Table, metaclass_of_class: np.ndarray) -> SplitAnnotations:
        return cls(
            split=split,
            table=table,
            file_names=table.column("file_name").combine_chunks(),
            labels=table.column("label").to_numpy().astype(np.int64),
            top=Csr.from_arrow(table.column("top_factor")),
            multi=Csr.from_arrow(table.column("factors")),
            metaclass=table.column("metaclass").to_numpy().astype(np.int64),
            metaclass_of_class=metaclass_of_class.astype(np.int64),
            is_prototype=table.column("is_prototype").to_numpy(zero_copy_only=False).astype(bool),
            real=Csr.from_arrow(table.column("real_labels")),
        )

    def __len__(self) -> int:
        return len(self.labels)

    def factors(self, which_factor: str) -> Csr:
        """The ``"top"`` or ``"multi"`` factor flags."""
        if which_factor not in WHICH_FACTORS:
            raise ImageNetXError(f"which_factor must be one of {WHICH_FACTORS}, not {which_factor!r}")
        return self.top if which_factor == "top" else self.multi

    def kept_rows(self, filter_prototypes: bool = True) -> np.ndarray:
        """Row numbers of the images scored and built: all, or all but the prototypes."""
        return np.flatnonzero(~self.is_prototype) if filter_prototypes else np.arange(len(self))

    @functools.cached_property
    def real_dense(self) -> np.ndarray:
        """ReaL label sets as an (N, L) int16 matrix padded with -1."""
        return self.real.padded()

    @functools.cached_property
    def val_row(self) -> np.ndarray | None:
        """Validation image number -> annotation row (-1: not annotated); None for train."""
        names = self.file_names
        if self.split != "validation" or not pc.all(pc.match_substring_regex(names, _VAL_NAME)).as_py():
            return None
        numbers = pc.cast(pc.utf8_slice_codeunits(names, 15, 23), pa.int64()).to_numpy()
        index = np.full(max(int(numbers.max()), 50_000) + 1, -1, dtype=np.int64)
        index[numbers] = np.arange(len(numbers))
        return index


def split_annotations(split: str = "validation", folder: str | os.PathLike | None = None) -> SplitAnnotations:
    """The annotations of ``split`` as arrays, built once per process and state of the files."""
    return _split_annotations(check_split(split), os.fspath(annotations_dir(folder)), fingerprint(folder))


@functools.lru_cache(maxsize=4)
def _split_annotations(split: str, folder: str, fp: str) -> SplitAnnotations:
    return SplitAnnotations.from_table(split, _cached_table(split, folder, fp), class_to_metaclass(folder))
