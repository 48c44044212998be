"""The ``datasets`` builder of ImageNet-X.

One config per (split, prototype filter, ImageNet source). Without a source the
builder yields the annotations only; the cache lives where ``datasets`` keeps its
caches, keyed by the config (which includes a fingerprint of the annotation files),
so a second build of the same config is a memory-mapped read.

>>> builder = ImageNetX(split="validation")
>>> builder.config.name
'validation-annotations'
"""

from __future__ import annotations

from dataclasses import dataclass

import datasets

from imagenet_x_hf import annotations
from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.schema import SPLITS, annotation_features, image_features

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
        imagenet: an ImageNet source (folder, tar, Hub id); ``None`` for annotations only.
        source_kind: force the kind of ``imagenet`` instead of detecting it.
        allow_missing: build even when annotated images are absent from the source
            (the count is still reported).
        annotations_dir: another copy of the authors' annotation files.
        annotations_fingerprint: set automatically; keys the cache to the files' state.
    """

    split: str = "validation"
    filter_prototypes: bool = True
    imagenet: str | None = None
    source_kind: str | None = None
    allow_missing: bool = False
    annotations_dir: str | None = None
    annotations_fingerprint: str | None = None

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
        if self.name in (None, "", "default"):
            kept = "" if self.filter_prototypes or self.split == "train" else "-with-prototypes"
            what = "images" if self.imagenet is not None else "annotations"
            self.name = f"{self.split}{kept}-{what}"
        super().__post_init__()


class ImageNetX(datasets.GeneratorBasedBuilder):
    """ImageNet-X as a ``datasets`` builder (see ``ImageNetXConfig``)."""

    BUILDER_CONFIG_CLASS = ImageNetXConfig
    VERSION = datasets.Version("1.0.0")
    config: ImageNetXConfig

    def _info(self) -> datasets.DatasetInfo:
        features = annotation_features() if self.config.imagenet is None else image_features()
        return datasets.DatasetInfo(
            description=_DESCRIPTION,
            features=features,
            citation=_CITATION,
            homepage="https://facebookresearch.github.io/imagenetx/site/home",
            license="cc-by-nc-4.0",
        )

    def _split_generators(self, dl_manager):
        return [datasets.SplitGenerator(name=self.config.split, gen_kwargs={})]

    def annotation_table(self):
        """The annotation rows this config covers, as an Arrow table."""
        table = annotations.read_split(self.config.split, self.config.annotations_dir)
        if self.config.filter_prototypes:
            keep = [not p for p in table.column("is_prototype").to_pylist()]
            table = table.filter(keep)
        return table

    def _generate_examples(self):
        table = self.annotation_table()
        if self.config.imagenet is not None:
            raise ImageNetXError("attaching images is not available yet")
        yield from enumerate(table.to_pylist())
