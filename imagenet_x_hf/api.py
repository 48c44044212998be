"""``imagenet_x_hf.load``: the one call most users need."""

from __future__ import annotations

import os
import warnings

import datasets

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.imagenet_x import MISSING_NOTE, UNREADABLE_NOTE, ImageNetX
from imagenet_x_hf.schema import SPLITS


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
            absent or unreadable: they are left out, and a warning (on every load) and
            the dataset's description still give their number and some names.
        streaming: return an ``IterableDataset`` over the same rows.
        annotations_dir: another copy of the authors' annotation files.
        cache_dir: where ``datasets`` keeps the built Arrow files (default: its own cache).

    The first call builds the dataset from the source files; later calls, in any
    process, read the cached Arrow files. With ``imagenet``, rows keep the annotation
    order and gain an ``image`` column with each file's original bytes, decoded to
    RGB on access. A ``SourceError`` names the problem when class folders disagree
    with the labels, when annotated images are missing, or when files are unreadable.

    >>> ds = load("validation")
    >>> ds.num_rows
    46110
    >>> row = ds[0]
    >>> row["file_name"], ds.features["label"].int2str(row["label"])
    ('ILSVRC2012_val_00004487.JPEG', 'restaurant')
    >>> [ds.features["top_factor"].int2str(row["top_factor"])]
    ['larger']
    """
    if split not in SPLITS:
        raise ImageNetXError(
            f"unknown split {split!r}: ImageNet-X annotates 'validation' and 'train'; pass one of those"
        )
    if not isinstance(filter_prototypes, bool):
        raise ImageNetXError(
            f"filter_prototypes must be True or False, not {filter_prototypes!r} "
            f"({type(filter_prototypes).__name__})"
        )
    builder = ImageNetX(
        cache_dir=None if cache_dir is None else str(cache_dir),
        split=split,
        filter_prototypes=filter_prototypes,
        imagenet=None if imagenet is None else str(imagenet),
        source_kind=source_kind,
        allow_missing=allow_missing,
        annotations_dir=None if annotations_dir is None else str(annotations_dir),
    )
    if streaming:
        return builder.as_streaming_dataset(split=split)
    try:
        builder.download_and_prepare()
    except datasets.exceptions.DatasetGenerationError as err:
        # datasets wraps whatever the generator raised; our errors carry the fix, so show them
        if isinstance(err.__cause__, ImageNetXError):
            raise err.__cause__ from None
        raise
    dataset = builder.as_dataset(split=split)
    if imagenet is not None and not builder.reported_gaps:
        _report_gaps(dataset)
    return dataset


def _report_gaps(dataset: datasets.Dataset) -> None:
    """Warn on every load, cached or not, that images were left out of the build."""
    notes = [
        line
        for line in (dataset.info.description or "").splitlines()
        if MISSING_NOTE in line or UNREADABLE_NOTE in line
    ]
    if notes:
        warnings.warn("ImageNet-X: " + " ".join(notes), stacklevel=3)
