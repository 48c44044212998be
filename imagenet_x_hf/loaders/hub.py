"""ImageNet copies in ``datasets`` form: Hub repositories and local Parquet files.

A Hub id (``ILSVRC/imagenet-1k``), a local copy of such a repository (a folder of
Parquet files, with or without a README) and a single Parquet file all go through
``datasets.load_dataset``, which gives a memory-mapped Arrow table. Images are
read from that table's raw ``{"bytes", "path"}`` storage, never decoded. Such
copies keep the file name only inside the image's ``path``
(``ILSVRC2012_val_00000001_n01751748.JPEG``); a WebDataset repository keeps it in
its ``json`` column, or in ``__key__``. A copy without any of these cannot be
joined with the annotations and is refused.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from pathlib import Path

import datasets
import pyarrow as pa

from imagenet_x_hf.errors import SourceError
from imagenet_x_hf.loaders.catalog import Catalog
from imagenet_x_hf.loaders.names import canonical_name, wnid_in

_NO_NAMES = (
    "{source} ({split} split) keeps no original file names (no image path, json file name or "
    "__key__); ImageNet-X joins images to annotations by file name, so use a copy that keeps "
    "them (an ImageNet folder or tar, or a Hub copy whose image paths hold the names)"
)


def load_split(source: str | os.PathLike, *, split: str, cache_dir: str | None = None):
    """``datasets.load_dataset`` of one split of a Hub id, a Parquet folder or a Parquet file."""
    path = Path(source)
    quiet = logging.getLogger("datasets")  # it logs a damaged file's traceback before raising
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        return _load_split(source, path, split=split, cache_dir=cache_dir)
    except pa.ArrowException as err:
        raise SourceError(
            f"{source} cannot be read as Parquet ({_first_line(err)}); pass an intact Parquet copy of "
            "ImageNet, or another kind of source"
        ) from None
    finally:
        quiet.setLevel(level)


def _load_split(source: str | os.PathLike, path: Path, *, split: str, cache_dir: str | None):
    if path.is_file():
        return datasets.load_dataset("parquet", data_files=str(path), split="train", cache_dir=cache_dir)
    try:
        return datasets.load_dataset(str(source), split=split, cache_dir=cache_dir)
    except ValueError as err:
        if "split" not in str(err).lower():
            raise
        raise SourceError(
            f"{source} has no {split!r} split ({err}); pass the copy or the split that holds "
            "the images to annotate"
        ) from None
    except (ConnectionError, OSError, datasets.exceptions.DatasetNotFoundError) as err:
        if path.exists():
            raise SourceError(f"{source}: cannot be read as a Parquet copy ({_first_line(err)})") from None
        if datasets.config.HF_HUB_OFFLINE:
            raise SourceError(
                f"{source!r} is not a local file or folder, and as a Hub dataset id it is not in the "
                "local cache while the Hub is offline (HF_HUB_OFFLINE); pass an existing local copy, or "
                "download the dataset once online"
            ) from None
        raise SourceError(
            f"{source!r} is not a local file or folder, and the Hub has no dataset of that id that can "
            f"be read ({_first_line(err)}); check the path or the id (and your login for gated datasets)"
        ) from None


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _image_column(dataset) -> str:
    columns = [name for name, feature in dataset.features.items() if isinstance(feature, datasets.Image)]
    for preferred in ("image", "jpg", "jpeg", "png", "webp"):
        if preferred in columns:
            return preferred
    if columns:
        return columns[0]
    raise SourceError(
        f"this dataset has no image column (columns: {list(dataset.features)}); pass an ImageNet "
        "copy whose images are stored in a datasets Image column"
    )


def _stored_names(dataset, image_column: str) -> pa.ChunkedArray | None:
    """Per row, the string that holds the file name, or None when the copy keeps none."""
    table = dataset.data.table if hasattr(dataset.data, "table") else dataset.data
    # A WebDataset json names the original file; its image member path is only the key.
    if "json" in table.column_names:
        column = table.column("json")
        if pa.types.is_struct(column.type):
            for field in ("filename", "file_name", "fname", "path"):
                if column.type.get_field_index(field) >= 0:
                    return pa.chunked_array([c.field(field) for c in column.chunks])
    paths = pa.chunked_array([c.field("path") for c in table.column(image_column).chunks], pa.string())
    if paths.null_count < len(paths) and len(paths):
        return paths
    if "__key__" in table.column_names:
        return table.column("__key__")
    return None


def open_dataset(
    dataset, *, source: str, split: str, kind: str = "hub", wanted: Collection[str] | None = None
) -> Catalog:
    """Index an in-memory or memory-mapped ``datasets.Dataset`` holding ImageNet images."""
    if dataset._indices is not None:
        dataset = dataset.flatten_indices()
    column = _image_column(dataset)
    stored = _stored_names(dataset, column)
    if stored is None:
        raise SourceError(_NO_NAMES.format(source=source, split=split))
    table = dataset.data.table if hasattr(dataset.data, "table") else dataset.data
    chunks = table.column(column).chunks
    catalog = Catalog(kind, source)

    def read(location: tuple[int, int]) -> bytes:
        chunk, row = location
        data = chunks[chunk].field("bytes")[row].as_py()
        if data is None:
            path = chunks[chunk].field("path")[row].as_py()
            if path and os.path.isfile(path):
                with open(path, "rb") as f:
                    return f.read()
            raise SourceError(
                f"{source}: row {row} of chunk {chunk} has neither image bytes nor a readable path"
            )
        return data

    catalog.reader = read
    start = 0
    for number, chunk in enumerate(chunks):
        names = stored.slice(start, len(chunk)).to_pylist()
        start += len(chunk)
        for row, value in enumerate(names):
            if value is None:
                raise SourceError(
                    _NO_NAMES.format(source=source, split=split) + f" (row {start - len(chunk) + row})"
                )
            name = canonical_name(value)
            if wanted is None or name in wanted:
                catalog.add(name, (number, row), wnid=wnid_in(value))
    catalog.stats["rows"] = start
    return catalog


def open_hub(
    source: str | os.PathLike,
    *,
    split: str,
    kind: str = "hub",
    wanted: Collection[str] | None = None,
    cache_dir: str | None = None,
) -> Catalog:
    """Load one split of a Hub id or local Parquet copy and index it by file name."""
    dataset = load_split(source, split=split, cache_dir=cache_dir)
    return open_dataset(dataset, source=str(source), split=split, kind=kind, wanted=wanted)
