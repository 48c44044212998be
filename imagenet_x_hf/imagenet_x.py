"""The ``datasets`` builder of ImageNet-X.

One config per (split, prototype filter, ImageNet source). Without a source the
builder yields the annotations only; the cache lives where ``datasets`` keeps its
caches, keyed by the config (which includes a fingerprint of the annotation files),
so a second build of the same config is a memory-mapped read.

With a source, rows keep the annotation order and gain an ``image`` column holding
each file's original bytes (``{"bytes": ..., "path": file_name}``; nothing is
re-encoded). The source is checked before anything is written: class folders must
agree with the annotated labels, and annotated images absent from the source are an
error unless ``allow_missing=True`` (then counted in a warning and in the dataset's
description). Files that are not complete images are reported by name. The ``image``
feature decodes to RGB, so ImageNet's CMYK and grayscale JPEGs (and its PNG named
``.JPEG``) come out like every other image.

>>> builder = ImageNetX(split="validation")
>>> builder.config.name
'validation-annotations'
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.compute as pc

from imagenet_x_hf import annotations
from imagenet_x_hf.errors import ImageNetXError, SourceError
from imagenet_x_hf.schema import SPLITS, annotation_features, image_features

# How many names an error or warning lists before it only counts the rest.
_SHOWN = 5
MISSING_NOTE = "annotated images absent from the source"
UNREADABLE_NOTE = "unreadable files left out"

# datasets patches open(), os.path and pathlib inside every builder's module so that
# loading scripts can stream remote files. This builder reads local files through
# imagenet_x_hf.annotations and the loaders, so the patch is not wanted here, and
# applying it imports scipy.io (about 0.3 s) on the first load of every process.
_patched_for_streaming = True

_CITATION = """\
@inproceedings{idrissi2023imagenetx,
  title     = {ImageNet-X: Understanding Model Mistakes with Factor of Variation Annotations},
  author    = {Idrissi, Badr Youbi and Bouchacourt, Diane and Balestriero, Randall and
               Evtimov, Ivan and Hazirbas, Caner and Ballas, Nicolas and Vincent, Pascal and
               Drozdzal, Michal and Lopez-Paz, David and Ibrahim, Mark},
  booktitle = {International Conference on Learning Representations},
  year      = {2023},
  url       = {https://openreview.net/forum?id=HXz7Vcm3VgM}
}
"""

_DESCRIPTION = (
    "ImageNet-X: 16 human-annotated factors of variation (pose, background, lighting, ...) "
    "for the ImageNet-1k validation set and a ~11k-image subset of its train set."
)


@dataclass
class ImageNetXConfig(datasets.BuilderConfig):
    """What to build: a split, whether prototypes stay, and where images come from.

    Args:
        split: ``"validation"`` or ``"train"``.
        filter_prototypes: drop the prototype images shown to annotators (the paper's default).
        imagenet: an ImageNet source (folder, tar, WebDataset shards, Parquet copy, Hub id;
            see ``imagenet_x_hf.loaders``); ``None`` for annotations only.
        source_kind: force the kind of ``imagenet`` (one of ``loaders.KINDS``) instead of
            detecting it.
        allow_missing: build even when annotated images are absent from the source or
            unreadable; they are left out, and still counted and named in a warning and
            in the dataset's description.
        annotations_dir: another copy of the authors' annotation files.
        annotations_fingerprint: set automatically; keys the cache to the files' state.
        source_fingerprint: set automatically from the source's size and modification
            time; keys the cache to the source's state.
    """

    split: str = "validation"
    filter_prototypes: bool = True
    imagenet: str | None = None
    source_kind: str | None = None
    allow_missing: bool = False
    annotations_dir: str | None = None
    annotations_fingerprint: str | None = None
    source_fingerprint: str | None = None

    def __post_init__(self):
        if self.split not in SPLITS:
            raise ImageNetXError(f"unknown split {self.split!r}: pass one of {SPLITS}")
        if not isinstance(self.filter_prototypes, bool):
            raise ImageNetXError(
                f"filter_prototypes must be True or False, not {self.filter_prototypes!r} "
                f"({type(self.filter_prototypes).__name__})"
            )
        if self.annotations_fingerprint is None:
            self.annotations_fingerprint = annotations.fingerprint(self.annotations_dir)
        if self.imagenet is not None:
            self.imagenet = os.fspath(self.imagenet)
            if self.source_fingerprint is None:
                self.source_fingerprint = source_fingerprint(self.imagenet)
        if self.source_kind is not None:
            from imagenet_x_hf.loaders import KINDS

            if self.source_kind not in KINDS:
                raise SourceError(f"unknown source_kind {self.source_kind!r}: pass one of {KINDS} or None")
        if self.name in (None, "", "default"):
            kept = "" if self.filter_prototypes or self.split == "train" else "-with-prototypes"
            what = "images" if self.imagenet is not None else "annotations"
            self.name = f"{self.split}{kept}-{what}"
        super().__post_init__()


def source_fingerprint(source: str) -> str:
    """Size and modification time of a local source (its path as given for a Hub id)."""
    path = Path(source).expanduser()
    if not path.exists():
        return f"id:{source}"
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


@functools.lru_cache(maxsize=4)
def _annotation_table(split: str, folder: str | None, fingerprint: str, filter_prototypes: bool) -> pa.Table:
    # Keyed by the fingerprint, so repaired files are read anew; parsing the
    # validation files takes seconds, so a process parses them once.
    table = annotations.read_split(split, folder)
    if filter_prototypes:
        table = table.filter(pc.invert(table.column("is_prototype")))
    return table


def _names(items, total: int | None = None) -> str:
    items = list(items)
    total = len(items) if total is None else total
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {total - _SHOWN} more" if total > _SHOWN else "")


class ImageNetX(datasets.ArrowBasedBuilder):
    """ImageNet-X as a ``datasets`` builder (see ``ImageNetXConfig``)."""

    BUILDER_CONFIG_CLASS = ImageNetXConfig
    VERSION = datasets.Version("1.0.0")
    # Rows are written in Arrow batches: whole columns of annotations at once, and
    # images a batch at a time, so no row passes through Python-level encoding.
    ANNOTATION_BATCH = 10_000
    IMAGE_BATCH = 1000
    IMAGE_BATCH_BYTES = 256 << 20
    config: ImageNetXConfig
    # Set once this builder has warned about left-out images, so a load warns once.
    reported_gaps: bool = False

    def __init__(self, *args, **kwargs):
        # datasets keys the cache on the keyword arguments given here, not on fields a
        # config fills in itself, so the state of the files is added here: repaired
        # annotation files or a changed source build anew, however the builder is made.
        if kwargs.get("annotations_fingerprint") is None:
            kwargs["annotations_fingerprint"] = annotations.fingerprint(kwargs.get("annotations_dir"))
        if kwargs.get("imagenet") is not None and kwargs.get("source_fingerprint") is None:
            kwargs["source_fingerprint"] = source_fingerprint(os.fspath(kwargs["imagenet"]))
        super().__init__(*args, **kwargs)

    def __getstate__(self):
        # An open source index (file descriptors, a loaded dataset) stays in this process.
        state = dict(super().__getstate__())
        state.pop("_catalog", None)
        return state

    def _info(self) -> datasets.DatasetInfo:
        features = annotation_features() if self.config.imagenet is None else image_features()
        return datasets.DatasetInfo(
            description=_DESCRIPTION,
            features=features,
            citation=_CITATION,
            homepage="https://facebookresearch.github.io/imagenetx/site/home",
            license="cc-by-nc-4.0",
        )

    def annotation_table(self) -> pa.Table:
        """The annotation rows this config covers, as an Arrow table."""
        return _annotation_table(
            self.config.split,
            self.config.annotations_dir,
            self.config.annotations_fingerprint,
            self.config.filter_prototypes,
        )

    def _open_source(self, names):
        from imagenet_x_hf.loaders import open_source

        return open_source(
            self.config.imagenet,
            split=self.config.split,
            kind=self.config.source_kind,
            file_names=names,
            cache_dir=self._cache_dir_root,
        )

    def _split_generators(self, dl_manager):
        if self.config.imagenet is not None:
            self._check_source()
        return [datasets.SplitGenerator(name=self.config.split, gen_kwargs={})]

    def _check_source(self) -> None:
        """Refuse a source that disagrees with the annotations, before writing anything."""
        from imagenet_x_hf import schema

        table = self.annotation_table()
        names = table.column("file_name").to_pylist()
        labels = table.column("label").to_pylist()
        source = self.config.imagenet
        catalog = self._open_source(names)
        try:
            wrong = [
                (name, catalog.wnids[name], schema.WNIDS[label])
                for name, label in zip(names, labels, strict=True)
                if name in catalog.wnids and catalog.wnids[name] != schema.WNIDS[label]
            ]
            if wrong:
                examples = [f"{n} (source says {got}, annotations say {want})" for n, got, want in wrong]
                raise SourceError(
                    f"{source}: {len(wrong)} images sit under a class other than their annotated "
                    f"label: {_names(examples, len(wrong))}; the folders (or per-class tars) are "
                    "mislabelled: rebuild them from the official validation labels, or use the "
                    "flat folder or ILSVRC2012_img_val.tar"
                )
            missing = [name for name in names if name not in catalog]
            kind = catalog.kind
        except BaseException:
            catalog.close()
            raise
        self._found = len(names) - len(missing)
        if missing and not self.config.allow_missing:
            catalog.close()
            raise SourceError(
                f"{source} ({kind}) lacks {len(missing)} of the {len(names)} annotated "
                f"{self.config.split} images, e.g. {_names(missing)}; point imagenet= at a "
                "complete copy, or pass allow_missing=True to build from the images present"
            )
        # Kept for the generation that follows, so the source is indexed once per build.
        self._catalog = catalog
        if missing:
            note = f"{len(missing)} {MISSING_NOTE} ({kind} source {source}), e.g. {_names(missing)}"
            warnings.warn(f"ImageNet-X: {note}; built from the other {self._found}", stacklevel=2)
            self.reported_gaps = True
            self.info.description = f"{_DESCRIPTION}\n{note}."

    def _generate_tables(self):
        table = self.annotation_table()
        if self.config.imagenet is None:
            for start in range(0, table.num_rows, self.ANNOTATION_BATCH):
                yield start, table.slice(start, self.ANNOTATION_BATCH)
            return
        from imagenet_x_hf.loaders.check import image_problem

        names = table.column("file_name").to_pylist()
        unreadable: list[str] = []
        rows: list[int] = []
        images: list[bytes] = []
        size = 0
        catalog = self.__dict__.pop("_catalog", None) or self._open_source(names)
        with catalog:
            # Annotation order, whatever order the source keeps its files in.
            for index, name in enumerate(names):
                if name not in catalog:
                    continue
                data = catalog.read(name)
                problem = image_problem(data)
                if problem is not None:
                    unreadable.append(f"{name} ({problem})")
                    continue
                rows.append(index)
                images.append(data)
                size += len(data)
                if len(rows) >= self.IMAGE_BATCH or size >= self.IMAGE_BATCH_BYTES:
                    yield rows[0], _with_images(table, rows, images)
                    rows, images, size = [], [], 0
        if rows:
            yield rows[0], _with_images(table, rows, images)
        if unreadable:
            message = (
                f"{len(unreadable)} files of {self.config.imagenet} are not complete images: "
                f"{_names(unreadable)}"
            )
            if not self.config.allow_missing:
                raise SourceError(
                    f"{message}; replace them with intact copies, or pass allow_missing=True "
                    "to leave them out (they are still reported)"
                )
            warnings.warn(f"ImageNet-X: {message}; left out", stacklevel=2)
            self.reported_gaps = True
            self.info.description = (
                f"{self.info.description}\n{len(unreadable)} {UNREADABLE_NOTE}: {_names(unreadable)}."
            )


def _with_images(table: pa.Table, rows: list[int], images: list[bytes]) -> pa.Table:
    """The annotation rows ``rows`` with their images, as ``datasets`` stores an Image."""
    batch = table.take(pa.array(rows, pa.int64()))
    image = pa.StructArray.from_arrays(
        [pa.array(images, pa.binary()), batch.column("file_name").combine_chunks()], names=["bytes", "path"]
    )
    return batch.append_column("image", image)
