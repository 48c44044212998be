"""Shared fixtures: a small copy of the annotations and synthetic sources built on it.

The small copy keeps the authors' files but only a few dozen annotated images per
split, so a test can state exactly which annotated image is missing from a source
and what its error must say; the sources hold those images (one CMYK, one grayscale,
one PNG named .JPEG, one truncated, one left out) plus unannotated ones, as real
copies do.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import imagenet_x_hf
from imagenet_x_hf import annotations
from imagenet_x_hf.testing import make_synthetic_imagenet, synthetic_roles

# Sizes that divide no batch size.
N_IMAGES = 37
EXTRA = 11
SIZE = (44, 36)
LAYOUT_SPLIT = {
    "val_flat": "validation",
    "val_class_folders": "validation",
    "val_tar": "validation",
    "train_folders": "train",
    "train_tar": "train",
    "parquet": "validation",
    "webdataset": "validation",
}
LAYOUT_KIND = {
    "val_flat": "folder",
    "val_class_folders": "class_folders",
    "val_tar": "val_tar",
    "train_folders": "class_folders",
    "train_tar": "train_tar",
    "parquet": "parquet",
    "webdataset": "webdataset",
}


def _chosen(split: str) -> list[str]:
    from imagenet_x_hf.testing import annotated_file_names

    pool = annotated_file_names(split)
    step = len(pool) // N_IMAGES
    return [pool[i * step + 7] for i in range(N_IMAGES)]


@pytest.fixture(scope="session")
def small_annotations(tmp_path_factory) -> Path:
    """The authors' annotation folder, with the factor files cut to N_IMAGES per split."""
    source = annotations.annotations_dir()
    folder = tmp_path_factory.mktemp("annotations")
    keep = set(_chosen("validation")) | set(_chosen("train"))
    for key, name in annotations.FILES.items():
        if key.endswith(("_multi", "_top")):
            lines = (source / name).read_text(encoding="utf-8").splitlines()
            kept = [line for line in lines if line.strip() and json.loads(line)["file_name"] in keep]
            (folder / name).write_text("\n".join(kept) + "\n", encoding="utf-8")
        else:
            (folder / name).symlink_to(source / name)
    return folder


@pytest.fixture(scope="session")
def chosen():
    return {"validation": _chosen("validation"), "train": _chosen("train")}


@pytest.fixture(scope="session")
def annotations_only(small_annotations):
    """The annotations-only datasets of the small copy: the rows every source must reproduce."""
    return {
        split: imagenet_x_hf.load(split, annotations_dir=small_annotations)
        for split in ("validation", "train")
    }


@pytest.fixture(scope="session")
def sources(tmp_path_factory, chosen):
    """Per layout: a source with odd files, one truncated file and one missing file."""
    out = {}
    for layout, split in LAYOUT_SPLIT.items():
        root = tmp_path_factory.mktemp(layout)
        options = dict(odd_files=True, corrupt=1, missing=1)
        path = make_synthetic_imagenet(
            root,
            layout=layout,
            split=split,
            file_names=chosen[split],
            size=SIZE,
            extra=EXTRA,
            shard_size=10,
            **options,
        )
        out[layout] = (path, synthetic_roles(chosen[split], **options))
    return out


@pytest.fixture(scope="session")
def layout_split():
    return LAYOUT_SPLIT


@pytest.fixture(scope="session")
def layout_kind():
    return LAYOUT_KIND


def _quiet_load(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return imagenet_x_hf.load(*args, **kwargs)


@pytest.fixture(scope="session")
def quiet_load():
    """``imagenet_x_hf.load`` with its (expected) warnings about left-out images silenced."""
    return _quiet_load
