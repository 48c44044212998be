"""Bad input gives an error that names the problem and the fix."""

from __future__ import annotations

import shutil

import pytest

import imagenet_x_hf
from imagenet_x_hf import annotations
from imagenet_x_hf.errors import AnnotationFileError, ImageNetXError

SOURCE = annotations.annotations_dir()


@pytest.fixture
def copy(tmp_path):
    folder = tmp_path / "annotations"
    shutil.copytree(SOURCE, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return folder


@pytest.mark.parametrize("split", ["val", "test", "Validation", ""])
def test_unknown_split(split):
    with pytest.raises(ImageNetXError, match=r"unknown split .*'validation' .*and 'train'"):
        imagenet_x_hf.load(split)


@pytest.mark.parametrize("value", ["yes", 1, None, 0.0])
def test_filter_prototypes_must_be_a_bool(value):
    with pytest.raises(ImageNetXError, match="filter_prototypes must be True or False"):
        imagenet_x_hf.load("validation", filter_prototypes=value)


def test_missing_annotation_file(copy, tmp_path):
    (copy / "imagenet_x_train_top_factor.jsonl").unlink()
    with pytest.raises(
        AnnotationFileError, match=r"imagenet_x_train_top_factor.jsonl.* is missing.*reinstall"
    ):
        imagenet_x_hf.load("train", annotations_dir=copy, cache_dir=tmp_path / "cache")


def test_truncated_annotation_file_mid_line(copy, tmp_path):
    path = copy / "imagenet_x_val_multi_factor.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        AnnotationFileError, match=r"imagenet_x_val_multi_factor.jsonl line \d+ is not valid JSON.*truncated"
    ):
        imagenet_x_hf.load("validation", annotations_dir=copy, cache_dir=tmp_path / "cache")


def test_truncated_annotation_file_at_a_line_boundary(copy, tmp_path):
    path = copy / "imagenet_x_train_top_factor.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:5000]))
    with pytest.raises(AnnotationFileError, match=r"no match at the same line.*truncated"):
        imagenet_x_hf.load("train", annotations_dir=copy, cache_dir=tmp_path / "cache")


def test_damaged_real_labels(copy, tmp_path):
    (copy / "imagenet_real_labels.jsonl").write_text("[[1], [2]")
    with pytest.raises(AnnotationFileError, match="imagenet_real_labels.jsonl is not valid JSON"):
        imagenet_x_hf.load("validation", annotations_dir=copy, cache_dir=tmp_path / "cache")


def test_missing_annotations_folder(tmp_path):
    with pytest.raises(AnnotationFileError, match="does not exist"):
        imagenet_x_hf.load("validation", annotations_dir=tmp_path / "nowhere")


def test_repaired_files_rebuild(copy, tmp_path):
    """A fixed copy is picked up: the cache is keyed to the files' state, not reused blindly."""
    path = copy / "imagenet_x_train_multi_factor.jsonl"
    good = path.read_bytes()
    path.write_bytes(good[:1000])
    with pytest.raises(AnnotationFileError):
        imagenet_x_hf.load("train", annotations_dir=copy, cache_dir=tmp_path / "cache")
    path.write_bytes(good)
    assert imagenet_x_hf.load("train", annotations_dir=copy, cache_dir=tmp_path / "cache").num_rows == 11_233


def test_a_builder_made_directly_is_keyed_to_the_files_state(copy, tmp_path):
    from imagenet_x_hf.imagenet_x import ImageNetX

    def cache_dir():
        return ImageNetX(split="train", annotations_dir=str(copy), cache_dir=str(tmp_path / "c")).cache_dir

    before = cache_dir()
    path = copy / "imagenet_x_train_multi_factor.jsonl"
    path.write_bytes(path.read_bytes()[:-1])
    assert cache_dir() != before
