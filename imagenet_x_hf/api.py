"""``imagenet_x_hf.load``: the one call most users need."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import datasets

from imagenet_x_hf import annotations
from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.imagenet_x import CheckedSource, ImageNetX, ImageNetXConfig
from imagenet_x_hf.loaders import locate, open_source
from imagenet_x_hf.loaders.report import SourceReport, check_source
from imagenet_x_hf.loaders.state import source_state
from imagenet_x_hf.schema import WNIDS

# Kept beside the cached Arrow files of a dataset with images.
REPORT_FILE = "source_report.json"


def load(
    split: str = "validation",
    imagenet: str | os.PathLike | None = None,
    filter_prototypes: bool = True,
    *,
    source_kind: str | None = None,
    allow_missing: bool = False,
    streaming: bool = False,
    annotations_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    rebuild: bool = False,
) -> datasets.Dataset | datasets.IterableDataset:
    """ImageNet-X as a ``datasets.Dataset``: one row per annotated image.

    Args:
        split: ``"validation"`` (ImageNet-1k val) or ``"train"`` (the annotated subset).
        imagenet: where your ImageNet images are: an extracted folder (flat, or one
            folder per class), ``ILSVRC2012_img_val.tar``, ``ILSVRC2012_img_train.tar``,
            WebDataset shards, a Parquet copy, a Hub id, or the ImageNet root holding
            ``val/``/``train/`` or the tars; ``None`` gives the annotations alone.
        filter_prototypes: drop the prototype images shown to annotators, as the paper does.
        source_kind: the kind of ``imagenet`` (see ``imagenet_x_hf.loaders.KINDS``) when
            detection should be skipped.
        allow_missing: with ``imagenet``, build even when some annotated images are
            absent or unreadable: they are left out, counted and named in the dataset's
            ``source_report`` and in a warning on every load.
        streaming: return an ``IterableDataset`` over the same rows.
        annotations_dir: another copy of the authors' annotation files.
        cache_dir: where ``datasets`` keeps the built Arrow files (default: its own cache).
        rebuild: build again even when a cached dataset matches the source.

    The first call builds the dataset from the source files; later calls, in any
    process, read the cached Arrow files. The cache follows the state of the annotation
    files and of a local source (the size and modification time of every file): a source
    changed in place is built anew, and the cache of its earlier state removed. With
    ``imagenet``, rows keep the annotation order and gain an ``image`` column with each
    file's original bytes, decoded to RGB on access, and the returned dataset carries
    ``source_report``: a ``loaders.report.SourceReport`` saying which annotated images
    the source lacks or holds unreadable (a plain attribute: datasets derived with
    ``map``/``select`` do not carry it). A ``SourceError`` names the problem when class
    folders disagree with the labels, when annotated images are missing or unreadable
    (unless ``allow_missing``), or when the source holds none of them.

    >>> ds = load("validation")
    >>> ds.num_rows
    46110
    >>> row = ds[0]
    >>> row["file_name"], ds.features["label"].int2str(row["label"])
    ('ILSVRC2012_val_00004487.JPEG', 'restaurant')
    >>> [ds.features["top_factor"].int2str(row["top_factor"])]
    ['larger']
    """
    config = {
        "split": annotations.check_split(split),
        "filter_prototypes": filter_prototypes,
        "annotations_dir": None if annotations_dir is None else os.fspath(annotations_dir),
        "annotations_fingerprint": annotations.fingerprint(annotations_dir),
    }
    ImageNetXConfig(**config)  # checks the settings before any work
    cache = None if cache_dir is None else os.fspath(cache_dir)
    mode = datasets.DownloadMode.FORCE_REDOWNLOAD if rebuild else None
    if imagenet is None:
        builder = ImageNetX(cache_dir=cache, **config)
        if streaming:
            return builder.as_streaming_dataset(split=split)
        _prepare(builder, mode)
        return builder.as_dataset(split=split)

    source, kind = locate(imagenet, split=split, kind=source_kind)
    table = annotations.split_table(split, annotations_dir, filter_prototypes=filter_prototypes)
    names = table.column("file_name").to_pylist()
    config.update(
        imagenet=source,
        source_kind=kind,
        allow_missing=allow_missing,
        source_fingerprint=source_state(source, kind=kind, file_names=names),
    )
    builder = ImageNetX(cache_dir=cache, **config)
    report_path = Path(builder.cache_dir) / REPORT_FILE
    report = None if rebuild or streaming else SourceReport.load(report_path, names)
    if report is None:
        wnids = [WNIDS[label] for label in table.column("label").to_pylist()]
        with open_source(source, split=split, kind=kind, file_names=names, cache_dir=cache) as catalog:
            report = check_source(catalog, names, wnids, split=split)
            report.check(allow_missing=allow_missing)
            if streaming:
                dataset = builder.as_streaming_dataset(split=split)
                dataset.source_report = report
                return dataset
            # the build reads the rows, the index and the check made here instead of redoing them
            builder.checked = CheckedSource(table, names, catalog, report)
            try:
                _prepare(builder, datasets.DownloadMode.FORCE_REDOWNLOAD)
            finally:
                builder.checked = None
        report = report.with_unreadable(builder.unreadable)
        report.save(report_path, names)
        _remove_stale(builder)
    dataset = builder.as_dataset(split=split)
    dataset.source_report = report
    if report.left_out:
        warnings.warn(f"ImageNet-X: {report.summary()}", stacklevel=2)
    return dataset


def _prepare(builder: ImageNetX, mode: datasets.DownloadMode | None) -> None:
    try:
        builder.download_and_prepare(download_mode=mode)
    except datasets.exceptions.DatasetGenerationError as err:
        # datasets wraps whatever the generator raised; our errors carry the fix, so show them
        if isinstance(err.__cause__, ImageNetXError):
            raise err.__cause__ from None
        raise


def _remove_stale(builder: ImageNetX) -> None:
    """Remove the caches of the same source in an earlier state (another fingerprint)."""
    # the cache is <root>/<dataset>/<config id>/<version>[/<hash>]
    current = next(p for p in Path(builder.cache_dir).parents if p.name == builder.config_id)
    for other in current.parent.glob(f"{builder.config.name}-*"):
        if other != current and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)
