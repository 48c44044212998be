"""A cached dataset follows its source: changed in place, it is built anew and the stale cache removed."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

import imagenet_x_hf
from imagenet_x_hf.imagenet_x import ImageNetX
from imagenet_x_hf.testing import make_synthetic_imagenet

N = 6


def _load(source, cache, annotations_dir, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return imagenet_x_hf.load(
            "validation",
            source,
            annotations_dir=annotations_dir,
            allow_missing=True,
            cache_dir=cache,
            **kwargs,
        )


def _config_folders(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "imagenet_x").iterdir() if p.is_dir() and "-images-" in p.name)


@pytest.fixture
def class_folders(tmp_path, chosen):
    names = chosen["validation"][:N]
    source = make_synthetic_imagenet(
        tmp_path / "src", layout="val_class_folders", file_names=names, missing=1
    )
    return source, names


def _touch_later(path: Path) -> None:
    # a new modification time even on file systems with coarse timestamps
    later = path.stat().st_mtime_ns + 2_000_000_000
    os.utime(path, ns=(later, later))


def test_a_file_replaced_inside_a_subfolder_rebuilds(class_folders, small_annotations, tmp_path):
    source, names = class_folders
    cache = tmp_path / "cache"
    first = _load(source, cache, small_annotations)
    target = next(source.rglob(first[0]["file_name"]))
    replacement = make_synthetic_imagenet(
        tmp_path / "other", layout="val_flat", file_names=[target.name], size=(20, 10)
    )
    target.write_bytes((replacement / target.name).read_bytes())  # in place: the folder's time stays
    _touch_later(target)
    second = _load(source, cache, small_annotations)
    assert second[0]["image"].size == (20, 10) != first[0]["image"].size
    assert len(_config_folders(cache)) == 1  # the earlier state's cache is gone
    assert second.cache_files != first.cache_files


def test_a_file_added_to_a_class_folder_rebuilds(class_folders, small_annotations, tmp_path):
    source, names = class_folders
    cache = tmp_path / "cache"
    first = _load(source, cache, small_annotations)
    absent = names[-1]  # make_synthetic_imagenet(missing=1) leaves out the last name
    assert absent in first.source_report.missing
    complete = make_synthetic_imagenet(tmp_path / "full", layout="val_class_folders", file_names=names)
    added = next(complete.rglob(absent))
    (source / added.parent.name).mkdir(exist_ok=True)
    (source / added.parent.name / absent).write_bytes(added.read_bytes())
    second = _load(source, cache, small_annotations)
    assert second.num_rows == first.num_rows + 1
    assert set(first.source_report.missing) - set(second.source_report.missing) == {absent}
    assert len(_config_folders(cache)) == 1


def test_a_file_deleted_rebuilds(class_folders, small_annotations, tmp_path):
    source, names = class_folders
    cache = tmp_path / "cache"
    first = _load(source, cache, small_annotations)
    gone = next(source.rglob(first[-1]["file_name"]))
    gone.unlink()
    second = _load(source, cache, small_annotations)
    assert second.num_rows == first.num_rows - 1 and gone.name in second.source_report.missing


def test_an_unchanged_source_reads_the_cache_and_rebuild_forces_a_build(
    class_folders, small_annotations, tmp_path
):
    source, _ = class_folders
    cache = tmp_path / "cache"
    first = _load(source, cache, small_annotations)
    calls = []
    original = ImageNetX._generate_tables
    ImageNetX._generate_tables = lambda self: calls.append(1) or original(self)
    try:
        again = _load(source, cache, small_annotations)
        assert calls == [] and again.cache_files == first.cache_files
        forced = _load(source, cache, small_annotations, rebuild=True)
    finally:
        ImageNetX._generate_tables = original
    assert calls == [1] and forced.num_rows == first.num_rows
    assert forced.source_report == first.source_report
