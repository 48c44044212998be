"""Bad ImageNet sources get one line naming the problem and the fix, never a traceback from a library."""

from __future__ import annotations

import gzip
import os

import pytest

import imagenet_x_hf
from imagenet_x_hf.errors import ImageNetXError, SourceError
from imagenet_x_hf.testing import make_synthetic_imagenet


def _random_tar(tmp_path):
    path = tmp_path / "ILSVRC2012_img_val.tar"
    path.write_bytes(os.urandom(64 * 1024))
    return path


def _gzip_tar(tmp_path):
    path = tmp_path / "ILSVRC2012_img_val.tar"
    path.write_bytes(gzip.compress(os.urandom(4096)))
    return path


def _folder_as_tar(tmp_path):
    return make_synthetic_imagenet(tmp_path, layout="val_flat", n=3), {"source_kind": "val_tar"}


def _tar_as_folder(tmp_path):
    return make_synthetic_imagenet(tmp_path, layout="val_tar", n=3), {"source_kind": "folder"}


def _not_imagenet(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    from PIL import Image

    for name in ("cat.jpg", "dog.jpg"):
        Image.new("RGB", (8, 8)).save(folder / name)
    return folder, {"allow_missing": True}


CASES = {
    "random bytes named like the val tar": (
        _random_tar,
        r"is not a readable tar \((no tar header|bad header checksum) at byte 0\)",
    ),
    "gzip named like the val tar": (_gzip_tar, "is a gzip-compressed file, not a plain tar; decompress it"),
    "val_tar kind on a folder": (
        _folder_as_tar,
        "source_kind='val_tar' needs a tar file, but .* is a folder",
    ),
    "folder kind on a tar": (
        _tar_as_folder,
        "source_kind='folder' needs a folder of images, but .* is a file",
    ),
    "non-ImageNet folder with allow_missing": (
        _not_imagenet,
        "holds none of the 46110 annotated validation images; ImageNet-X joins images by their",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_source_is_one_line(case, tmp_path):
    make, pattern = CASES[case]
    made = make(tmp_path)
    source, options = made if isinstance(made, tuple) else (made, {})
    with pytest.raises(SourceError, match=pattern) as caught:
        imagenet_x_hf.load("validation", source, cache_dir=tmp_path / "cache", **options)
    assert "\n" not in str(caught.value)
    assert "invalid literal" not in str(caught.value) and "Instruction" not in str(caught.value)


def test_relative_path_that_does_not_exist_is_not_a_hub_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()  # data/ exists, data/val does not: a local path
    with pytest.raises(SourceError, match=r"'data/val' does not exist \(no such file or folder\)"):
        imagenet_x_hf.load("validation", "data/val", cache_dir=tmp_path / "cache")


def test_uncached_hub_id_offline_is_said_to_be_uncached(tmp_path):
    # the suite runs offline (conftest): an id never downloaded is not in the cache
    with pytest.raises(SourceError, match="not in the local cache while the Hub is offline") as caught:
        imagenet_x_hf.load("validation", "nobody-here/imagenet-copy", cache_dir=tmp_path / "cache")
    assert "\n" not in str(caught.value)


def test_missing_images_name_the_cli_flag(tmp_path):
    source = make_synthetic_imagenet(tmp_path, layout="val_flat", n=3)
    with pytest.raises(SourceError, match=r"pass --allow-missing \(allow_missing=True\)"):
        imagenet_x_hf.load("validation", source, cache_dir=tmp_path / "cache")


def test_bad_split_and_flag_types(tmp_path):
    with pytest.raises(ImageNetXError, match="unknown split 'val'"):
        imagenet_x_hf.load("val")
    with pytest.raises(ImageNetXError, match="filter_prototypes must be True or False"):
        imagenet_x_hf.load("validation", filter_prototypes="yes")
