"""The ``datasets`` builder of ImageNet-X, configured by ``imagenet_x_hf.load``.

One config per (split, prototype filter, ImageNet source). Without a source the
builder yields the annotations only (``imagenet_x_hf.annotations.split_table``); with
one, rows keep the annotation order and gain an ``image`` column holding each file's
original bytes (``{"bytes": ..., "path": file_name}``; nothing is re-encoded). The
``image`` feature decodes to RGB, so ImageNet's CMYK and grayscale JPEGs (and its PNG
named ``.JPEG``) come out like every other image.

``imagenet_x_hf.load`` checks the source before building (``loaders.report``), passes
the fingerprints of the annotation files and of the source so that the cache follows
their state, and hands the check's ``SourceReport`` to its caller. It also hands the
builder what that check produced (``CheckedSource``: the annotation rows, the open
index of the source and the report), so a build through ``load`` reads the annotations
and indexes the source once. A builder used directly indexes and checks its source
itself and refuses what that check refuses. Either way the builder records the files
that turn out not to be complete images (``unreadable``).

>>> builder = ImageNetX(split="validation")
>>> builder.config.name
'validation-annotations'

Used directly, a builder with a source checks it itself:

>>> import tempfile
>>> from imagenet_x_hf.testing import make_synthetic_imagenet
>>> work = tempfile.mkdtemp()
>>> folder = str(make_synthetic_imagenet(work, layout="val_flat", n=3))
>>> builder = ImageNetX(split="validation", imagenet=folder, allow_missing=True, cache_dir=work)
>>> builder.download_and_prepare()
>>> builder.as_dataset(split="validation").num_rows
3
>>> strict = ImageNetX(split="validation", imagenet=folder, cache_dir=work)
>>> try:
...     strict.download_and_prepare()
... except datasets.exceptions.DatasetGenerationError as err:
...     print(type(err.__cause__).__name__, str(err.__cause__).split(",")[0])
SourceError ... lacks 46107 of the 46110 annotated validation images
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import datasets
import pyarrow as pa

from imagenet_x_hf import annotations
from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.loaders import Catalog, check_kind, open_source
from imagenet_x_hf.loaders.check import image_problem
from imagenet_x_hf.loaders.report import SourceReport, check_source
from imagenet_x_hf.loaders.state import source_state
from imagenet_x_hf.schema import WNIDS, annotation_features, image_features

# datasets patches open(), os.path and pathlib inside every builder's module so that
# loading scripts can stream remote files. This builder reads local files through
# imagenet_x_hf.annotations and the loaders, so the patch is not wanted here; applying
# it costs the first load of every process ~0.3 s (benchmarks/streaming_patch.py).
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
        source_kind: the kind of ``imagenet`` (one of ``loaders.KINDS``).
        allow_missing: build even when annotated images are absent from the source or
            unreadable; they are left out (and reported by ``load``).
        annotations_dir: another copy of the authors' annotation files.
        annotations_fingerprint, source_fingerprint: the state of the annotation files
            and of the source (``loaders.state``), filled in when not given; the cache
            is named after them, so that it follows that state.
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
        annotations.check_split(self.split)
        if not isinstance(self.filter_prototypes, bool):
            raise ImageNetXError(
                f"filter_prototypes must be True or False, not {self.filter_prototypes!r} "
                f"({type(self.filter_prototypes).__name__})"
            )
        check_kind(self.source_kind)
        if self.annotations_fingerprint is None:
            self.annotations_fingerprint = annotations.fingerprint(self.annotations_dir)
        if self.imagenet is not None and self.source_fingerprint is None:
            self.source_fingerprint = source_state(self.imagenet, kind=self.source_kind)
        if self.name in (None, "", "default"):
            self.name = config_name(self.split, self.filter_prototypes, self.imagenet, self.source_place())
        super().__post_init__()

    def create_config_id(self, config_kwargs: dict, custom_features=None) -> str:
        # datasets names the cache after the keyword arguments the builder was given; the
        # files' state is part of what this config builds, however the builder was made
        state = {"annotations_fingerprint": self.annotations_fingerprint}
        if self.imagenet is not None:
            state["source_fingerprint"] = self.source_fingerprint
        return super().create_config_id({**config_kwargs, **state}, custom_features)

    def source_place(self) -> str:
        """What names one source's builds apart from another's (its fingerprint aside)."""
        return f"{self.imagenet}|{self.source_kind}|{self.allow_missing}|{self.annotations_dir}"


def config_name(split: str, filter_prototypes: bool, imagenet: str | None, place: str = "") -> str:
    """``validation-annotations``, ``train-images-<hash of the source>``, ..."""
    kept = "" if filter_prototypes or split == "train" else "-with-prototypes"
    if imagenet is None:
        return f"{split}{kept}-annotations"
    return f"{split}{kept}-images-{hashlib.sha256(place.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class CheckedSource:
    """What ``imagenet_x_hf.load`` already did for a build: read the rows, index and check the source.

    Attributes:
        table: the annotation rows of the builder's config (``ImageNetX.annotation_rows``).
        names: their ``file_name`` column, as a list.
        catalog: the source's index, open for reading while the build runs.
        report: ``check_source`` of that index against ``names``, already checked.
    """

    table: pa.Table
    names: Sequence[str]
    catalog: Catalog
    report: SourceReport


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
    # "name (problem)" of the source files the last generation found not to be complete images
    unreadable: tuple[str, ...] = ()
    # Set by imagenet_x_hf.load for the build it runs; None: the build indexes and checks itself.
    checked: CheckedSource | None = None

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=_DESCRIPTION,
            features=annotation_features() if self.config.imagenet is None else image_features(),
            citation=_CITATION,
            homepage="https://facebookresearch.github.io/imagenetx/site/home",
            license="cc-by-nc-4.0",
        )

    def annotation_rows(self) -> pa.Table:
        """The annotation rows this config covers, as an Arrow table."""
        config = self.config
        return annotations.split_table(
            config.split, config.annotations_dir, filter_prototypes=config.filter_prototypes
        )

    def _split_generators(self, dl_manager):
        return [datasets.SplitGenerator(name=self.config.split)]

    def _generate_tables(self):
        checked = self.checked
        table = self.annotation_rows() if checked is None else checked.table
        if self.config.imagenet is None:
            for start in range(0, table.num_rows, self.ANNOTATION_BATCH):
                yield start, table.slice(start, self.ANNOTATION_BATCH)
        elif checked is not None:
            yield from self._image_tables(table, checked.names, checked.catalog, checked.report)
        else:
            names = table.column("file_name").to_pylist()
            wnids = [WNIDS[label] for label in table.column("label").to_pylist()]
            with open_source(
                self.config.imagenet,
                split=self.config.split,
                kind=self.config.source_kind,
                file_names=names,
                cache_dir=self._cache_dir_root,
            ) as catalog:
                report = check_source(catalog, names, wnids, split=self.config.split)
                report.check(allow_missing=self.config.allow_missing)
                yield from self._image_tables(table, names, catalog, report)

    def _image_tables(self, table: pa.Table, names: Sequence[str], catalog: Catalog, report: SourceReport):
        rows: list[int] = []
        images: list[bytes] = []
        unreadable: list[str] = []
        size = 0
        held, read = catalog.locations, catalog.read
        # Annotation order, whatever order the source keeps its files in.
        for index, name in enumerate(names):
            if name not in held:
                continue
            data = read(name)
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
        self.unreadable = tuple(unreadable)
        report.with_unreadable(unreadable).check(allow_missing=self.config.allow_missing)


def _with_images(table: pa.Table, rows: list[int], images: list[bytes]) -> pa.Table:
    """The annotation rows ``rows`` with their images, as ``datasets`` stores an Image."""
    batch = table.take(pa.array(rows, pa.int64()))
    image = pa.StructArray.from_arrays(
        [pa.array(images, pa.binary()), batch.column("file_name").combine_chunks()], names=["bytes", "path"]
    )
    return batch.append_column("image", image)
