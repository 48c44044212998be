"""What a run works on, built once: the images (``ImageSet``) and the run around one model (``RunContext``).

``ImageSet`` is everything about the images that does not depend on the model: the
dataset, its file names, each image's content digest and what the source lacked. It is
built once and can serve any number of models (a sweep of models over one set of images
shares it). ``RunContext`` adds one model: its spec, the resolved plan, the output
store, the options and the accelerator; every later step of the run reads it instead of
being handed the options again.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.loaders import expand
from imagenet_x_hf.runner.adapters import ModelSpec
from imagenet_x_hf.runner.content import content_sha256, image_digests
from imagenet_x_hf.runner.plan import RunPlan
from imagenet_x_hf.runner.store import RunStore
from imagenet_x_hf.settings import RunOptions

MISSING_NAMES_RECORDED = 20


@dataclass(frozen=True)
class ImageSet:
    """The images of a run, independent of any model.

    Attributes:
        dataset: the ``datasets.Dataset`` (annotation features + ``image``).
        split: the annotated split the rows belong to.
        file_names: the rows' file names, in row order.
        digests: ``(rows, 32)`` uint8, each image's sha256 (``runner.content``).
        source: where the images came from (a resolved path or an id), for the record only.
        gaps: what the dataset build left out of the source (``source_gaps``).
    """

    dataset: Any
    split: str
    file_names: list[str]
    digests: np.ndarray = field(repr=False)
    source: str | None
    gaps: dict[str, Any]

    @classmethod
    def from_dataset(cls, dataset, *, split: str, source: str | None = None) -> ImageSet:
        file_names = list(dataset["file_name"])
        if not file_names:
            raise ImageNetXError("the dataset has no rows: nothing to evaluate")
        if source is not None and expand(source).exists():
            source = str(expand(source).resolve())  # ./val and /data/val are one source
        return cls(dataset, split, file_names, image_digests(dataset), source, source_gaps(dataset))

    @property
    def content_sha256(self) -> str:
        return content_sha256(self.digests)

    def identity(self) -> dict[str, Any]:
        """What the fingerprint holds of the images: the split and the names in order. The
        content is matched image by image instead, and the source's path not at all (the same
        images moved or packed into a tar are the same run)."""
        names = hashlib.sha256("\n".join(self.file_names).encode()).hexdigest()
        return {"split": self.split, "rows": len(self.file_names), "file_names_sha256": names}

    def record(self) -> dict[str, Any]:
        """``results.json["run"]["dataset"]``'s description of the images."""
        return {
            **self.identity(),
            "imagenet": self.source,
            "content_sha256": self.content_sha256,
            "left_out_of_source": self.gaps,
        }


def require_source(options: RunOptions) -> None:
    """Refuse options without an ImageNet source, before any output folder or dataset work."""
    if options.imagenet is None:
        raise ImageNetXError("no ImageNet source: pass --imagenet (a folder, tar, or Hub id of ImageNet)")


def load_dataset_for(options: RunOptions):
    """Every annotated image of the split with its image, prototypes included (the metric filters)."""
    from imagenet_x_hf import load

    require_source(options)
    return load(
        options.split,
        imagenet=options.imagenet,
        filter_prototypes=False,
        source_kind=options.source_kind,
        allow_missing=options.allow_missing,
        rebuild=options.rebuild,
    )


def source_gaps(ds) -> dict[str, Any]:
    """What the dataset build left out of the source, from its ``SourceReport``.

    Unreadable and mislabelled files are listed whole (they are few, and name files to fix);
    absent images are counted, with the first few names (a partial source lacks thousands).
    A dataset passed in by the caller without its report gets a note instead.
    """
    report = getattr(ds, "source_report", None)
    if report is None:  # a dataset handed in by the caller, derived with map/select
        return {"note": "the dataset was passed in: what its source lacks is not known here"}
    return {
        "annotated": report.annotated,
        "found": report.found,
        "missing": len(report.missing),
        "missing_first": list(report.missing[:MISSING_NAMES_RECORDED]),
        "unreadable": list(report.unreadable),
        "mislabelled": list(report.mislabelled),
        "left_out": report.left_out,
    }


@dataclass(frozen=True)
class RunContext:
    """One model's run over an ``ImageSet``: built once by ``evaluate_model``, read by every step."""

    spec: ModelSpec
    images: ImageSet
    options: RunOptions
    plan: RunPlan
    store: RunStore
    accelerator: Any
    started: float = field(default_factory=time.time)

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process

    @property
    def device(self):
        return self.accelerator.device
