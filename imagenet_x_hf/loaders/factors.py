"""``add_factors``: attach the ImageNet-X annotations to a dataset the user already has.

A Hub copy of ImageNet (``ILSVRC/imagenet-1k``), an ``imagefolder`` dataset or any
table with file names gains the annotation columns, joined by file name: a
``file_name`` column, a path or ``..._nXXXXXXXX.JPEG`` Hub name in the image column,
or a WebDataset json/key. Rows of images that ImageNet-X does not annotate (or that
are prototypes, when filtered) keep their place with empty (null) annotations, unless
``drop_unannotated=True``.
"""

from __future__ import annotations

import os

import datasets
import pyarrow as pa
import pyarrow.compute as pc

from imagenet_x_hf import annotations
from imagenet_x_hf.errors import SourceError
from imagenet_x_hf.loaders.names import canonical_name
from imagenet_x_hf.schema import annotation_features

_NO_NAMES = (
    "this dataset carries no file names (columns: {columns}): ImageNet-X joins annotations to "
    "images by file name; pass file_name_column= naming the column that holds them (a string "
    "column, or an Image column whose paths hold them), or use a copy that keeps them"
)


def _column(dataset: datasets.Dataset, name: str) -> pa.ChunkedArray:
    """One column as stored, in the dataset's row order (selections and shuffles applied)."""
    table = dataset.data.table if hasattr(dataset.data, "table") else dataset.data
    column = table.column(name)
    if isinstance(dataset.features[name], datasets.Image):
        # Only the path of each image: never the bytes.
        column = pa.chunked_array([chunk.field("path") for chunk in column.chunks], pa.string())
    if dataset._indices is not None:
        column = column.take(dataset._indices.column(0))
    return column


def _stored_names(dataset: datasets.Dataset, file_name_column: str | None) -> list[str | None]:
    features = dataset.features
    columns = list(features)
    if file_name_column is not None:
        if file_name_column not in features:
            raise SourceError(
                f"file_name_column {file_name_column!r} is not a column; the columns are {columns}"
            )
        feature = features[file_name_column]
        if not (
            isinstance(feature, datasets.Image)
            or getattr(feature, "dtype", None) in ("string", "large_string")
        ):
            raise SourceError(
                f"file_name_column {file_name_column!r} holds {feature}, not file names; name a "
                "string column or an Image column"
            )
        candidates = [file_name_column]
    else:
        candidates = [c for c in ("file_name", "filename", "path") if c in features]
        if "json" in features and isinstance(features["json"], dict):
            candidates += [f"json.{k}" for k in ("filename", "file_name") if k in features["json"]]
        candidates += [c for c, f in features.items() if isinstance(f, datasets.Image)]
        candidates += [c for c in ("__key__",) if c in features]
    for candidate in candidates:
        if candidate.startswith("json."):
            values = pc.struct_field(_column(dataset, "json"), candidate[5:])
        else:
            values = _column(dataset, candidate)
        if len(values) == 0 or values.null_count < len(values):
            return values.to_pylist()
        if file_name_column is not None:
            raise SourceError(
                f"column {file_name_column!r} holds no file names (all null); "
                + _NO_NAMES.format(columns=columns)
            )
    raise SourceError(_NO_NAMES.format(columns=columns))


def add_factors(
    dataset: datasets.Dataset,
    *,
    file_name_column: str | None = None,
    split: str = "validation",
    filter_prototypes: bool = True,
    drop_unannotated: bool = False,
    annotations_dir: str | os.PathLike | None = None,
) -> datasets.Dataset:
    """The dataset with the ImageNet-X annotation columns added, joined by file name.

    Args:
        dataset: a ``datasets.Dataset`` of ImageNet images (or just their names).
        file_name_column: the column holding file names; by default ``file_name``,
            then the image column's paths, then a WebDataset ``json``/``__key__``.
            Plain names, paths and Hub names (``ILSVRC2012_val_00000001_n01751748.JPEG``)
            all work.
        split: which annotations to attach: ``validation`` or ``train``.
        filter_prototypes: treat the prototype images as unannotated, as the paper does.
        drop_unannotated: drop rows without annotations instead of leaving them null.
        annotations_dir: another copy of the authors' annotation files.

    Columns the dataset already has are kept; an existing ``label`` column must agree
    with the annotated labels (else the copy uses another class order: an error).

    >>> import datasets
    >>> mine = datasets.Dataset.from_dict({"path": ["val/ILSVRC2012_val_00004487_n04081281.JPEG", "notes.txt"]})
    >>> with_factors = add_factors(mine)
    >>> list(with_factors["file_name"])
    ['ILSVRC2012_val_00004487.JPEG', 'notes.txt']
    >>> with_factors.features["top_factor"].int2str(with_factors[0]["top_factor"]), with_factors[1]["label"]
    ('larger', None)
    """
    if not isinstance(dataset, datasets.Dataset):
        raise SourceError(
            f"add_factors needs a datasets.Dataset, not {type(dataset).__name__}; for an "
            "IterableDataset, use imagenet_x_hf.load(..., imagenet=SOURCE, streaming=True) instead"
        )
    stored = _stored_names(dataset, file_name_column)
    names = [None if value is None else canonical_name(value) for value in stored]
    ann_table = annotations.split_table(split, annotations_dir, filter_prototypes=filter_prototypes)
    index = {name: i for i, name in enumerate(ann_table.column("file_name").to_pylist())}
    positions = [index.get(name) if name is not None else None for name in names]

    features = annotation_features()
    added = ann_table.take(pa.array(positions, pa.int64()))
    if "label" in dataset.features:
        _check_labels(dataset, added, names)
    keep = [c for c in features if c not in dataset.features and c != "file_name"]
    added = added.select(keep)
    if "file_name" not in dataset.features:
        # The name each row was joined on, annotated or not.
        added = added.add_column(0, "file_name", pa.array(names, pa.string()))
        keep.insert(0, "file_name")
    extra = datasets.Dataset(
        added.select(keep),
        info=datasets.DatasetInfo(features=datasets.Features({c: features[c] for c in keep})),
    )
    base = dataset.flatten_indices() if dataset._indices is not None else dataset
    joined = datasets.concatenate_datasets([base, extra], axis=1)
    if drop_unannotated:
        joined = joined.select([i for i, p in enumerate(positions) if p is not None])
    return joined


def _check_labels(dataset: datasets.Dataset, added: pa.Table, names: list[str | None]) -> None:
    theirs = _column(dataset, "label").to_pylist()
    ours = added.column("label").to_pylist()
    wrong = [
        (name, a, b)
        for name, a, b in zip(names, theirs, ours, strict=True)
        if b is not None and a is not None and a >= 0 and a != b
    ]
    if wrong:
        shown = ", ".join(f"{n} (label {a}, annotated {b})" for n, a, b in wrong[:5])
        raise SourceError(
            f"the dataset's 'label' disagrees with the annotations for {len(wrong)} images, e.g. "
            f"{shown}: its classes follow another order (or the column means something else); "
            "rename or remove that column, or map it to the standard ImageNet-1k order first"
        )
