"""Building ImageNet-X with images, from every layout of source.

Each source holds 37 annotated images of the small annotation copy (one CMYK, one
grayscale, one PNG named .JPEG, one truncated, one left out) and 11 unannotated
ones. The oracle for rows is the annotations-only dataset; for bytes, the encoder
that wrote the source; for colours, the class colour the source was painted with.
"""

from __future__ import annotations

import io
import os
import sys
import warnings

import datasets
import numpy as np
import pytest
from PIL import Image

import imagenet_x_hf
from imagenet_x_hf.errors import SourceError
from imagenet_x_hf.imagenet_x import ImageNetX
from imagenet_x_hf.testing import LAYOUTS, _encode, make_synthetic_imagenet, synthetic_colour

SIZE = (44, 36)


@pytest.fixture(scope="module")
def built(sources, small_annotations, layout_split, tmp_path_factory):
    """Per layout, the dataset built with allow_missing=True and the warnings it gave."""
    cache: dict = {}

    def get(layout: str):
        if layout not in cache:
            path, roles = sources[layout]
            batch = ImageNetX.IMAGE_BATCH
            ImageNetX.IMAGE_BATCH = 6  # several Arrow batches, the last one partial
            try:
                with warnings.catch_warnings(record=True) as record:
                    warnings.simplefilter("always")
                    dataset = imagenet_x_hf.load(
                        layout_split[layout],
                        path,
                        annotations_dir=small_annotations,
                        allow_missing=True,
                        cache_dir=tmp_path_factory.mktemp(f"cache-{layout}"),
                    )
            finally:
                ImageNetX.IMAGE_BATCH = batch
            messages = [str(w.message) for w in record if "ImageNet-X" in str(w.message)]
            cache[layout] = (dataset, roles, messages)
        return cache[layout]

    return get


def _expected(annotations_only, split, roles):
    gone = set(roles["missing"]) | set(roles["corrupt"])
    return annotations_only[split].filter(lambda name: name not in gone, input_columns="file_name")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_rows_and_features_match_the_annotations(layout, built, annotations_only, layout_split):
    dataset, roles, _ = built(layout)
    expected = _expected(annotations_only, layout_split[layout], roles)
    assert dataset.num_rows == expected.num_rows == 35
    assert dataset.remove_columns("image").to_list() == expected.to_list()
    features = dict(dataset.features)
    assert features.pop("image") == datasets.Image(mode="RGB")
    assert features == dict(expected.features)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_images_keep_their_bytes_and_decode_to_rgb(layout, built):
    dataset, roles, _ = built(layout)
    role_of = {name: role for role, names in roles.items() for name in names}
    raw = dataset.cast_column("image", datasets.Image(decode=False))
    for row, stored in zip(dataset, raw, strict=True):
        name, label, image = row["file_name"], row["label"], row["image"]
        role = role_of.get(name)
        assert stored["image"]["bytes"] == _encode(name, label, SIZE, role, 85), name
        assert image.mode == "RGB" and image.size == SIZE, (name, role)
        pixels = np.asarray(image).reshape(-1, 3)
        median = np.median(pixels, axis=0)
        colour = np.array(synthetic_colour(label))
        if role == "grayscale":
            assert (pixels[:, 0] == pixels[:, 1]).all() and (pixels[:, 1] == pixels[:, 2]).all()
        else:
            tolerance = 24 if role == "cmyk" else 8
            assert np.abs(median - colour).max() <= tolerance, (name, role, median, colour)
    assert (
        Image.open(
            io.BytesIO(raw[[r["file_name"] for r in raw].index(roles["png"][0])]["image"]["bytes"])
        ).format
        == "PNG"
    )


@pytest.mark.parametrize("layout", LAYOUTS)
def test_missing_and_unreadable_files_are_reported(layout, built, sources, small_annotations, layout_split):
    dataset, roles, messages = built(layout)
    (missing,), (corrupt,) = roles["missing"], roles["corrupt"]
    report = dataset.source_report
    assert report.missing == (missing,) and len(report.unreadable) == 1
    assert report.unreadable[0].startswith(f"{corrupt} (truncated JPEG")
    assert (report.annotated, report.found, report.left_out) == (37, 36, 2)
    assert report.to_dict()["left_out"] == 2 and report.split == layout_split[layout]
    text = " ".join(messages)
    assert "2 of the 37 annotated" in text and missing in text and corrupt in text
    # A cached load says it again, from the report kept with the cache.
    path, _ = sources[layout]
    cache_dir = dataset.cache_files[0]["filename"].split("/imagenet_x/")[0]
    with pytest.warns(UserWarning, match=missing):
        again = imagenet_x_hf.load(
            layout_split[layout],
            path,
            annotations_dir=small_annotations,
            allow_missing=True,
            cache_dir=cache_dir,
        )
    assert again.cache_files == dataset.cache_files
    assert again.source_report == report
    assert again.features == dataset.features  # the RGB decoding survives the cache


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_missing_file_is_an_error_by_default(layout, sources, small_annotations, layout_split, tmp_path):
    path, roles = sources[layout]
    (missing,) = roles["missing"]
    with pytest.raises(SourceError, match=rf"lacks 1 of the 37 annotated .*{missing}.*allow_missing=True"):
        imagenet_x_hf.load(layout_split[layout], path, annotations_dir=small_annotations, cache_dir=tmp_path)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_an_unreadable_file_is_an_error_naming_it(layout, chosen, small_annotations, layout_split, tmp_path):
    split = layout_split[layout]
    path = make_synthetic_imagenet(
        tmp_path / "src", layout=layout, split=split, file_names=chosen[split], size=SIZE, corrupt=1
    )
    corrupt = chosen[split][0]
    with pytest.raises(
        SourceError, match=rf"1 files of .* are not complete images: {corrupt} \(truncated JPEG"
    ):
        imagenet_x_hf.load(split, path, annotations_dir=small_annotations, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("layout", ["val_tar", "train_folders", "parquet", "webdataset"])
def test_streaming_gives_the_same_rows(layout, built, sources, small_annotations, layout_split):
    dataset, _, _ = built(layout)
    path, _ = sources[layout]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stream = imagenet_x_hf.load(
            layout_split[layout], path, annotations_dir=small_annotations, allow_missing=True, streaming=True
        )
        rows = list(stream)
    assert isinstance(stream, datasets.IterableDataset)
    assert [r["file_name"] for r in rows] == dataset["file_name"]
    assert [r["factors"] for r in rows] == dataset["factors"]
    assert all(r["image"].mode == "RGB" for r in rows)
    assert [np.asarray(r["image"]).tolist() for r in rows[:3]] == [
        np.asarray(im).tolist() for im in dataset[:3]["image"]
    ]


def test_a_second_load_reads_the_cache(sources, small_annotations, tmp_path):
    path, _ = sources["val_tar"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = imagenet_x_hf.load(
            "validation", path, annotations_dir=small_annotations, allow_missing=True, cache_dir=tmp_path
        )
        calls = []
        original = ImageNetX._generate_tables
        ImageNetX._generate_tables = lambda self: calls.append(1) or original(self)
        try:
            b = imagenet_x_hf.load(
                "validation", path, annotations_dir=small_annotations, allow_missing=True, cache_dir=tmp_path
            )
        finally:
            ImageNetX._generate_tables = original
    assert calls == [] and b.cache_files == a.cache_files and b.num_rows == a.num_rows


def test_webdataset_shards_read_through_datasets_give_the_same_rows(
    built, sources, small_annotations, tmp_path
):
    """The Hub route (``datasets.load_dataset`` of the shards, as for timm/imagenet-1k-wds)."""
    dataset, _, _ = built("webdataset")
    path, _ = sources["webdataset"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        via_hub = imagenet_x_hf.load(
            "validation",
            path,
            source_kind="hub",
            annotations_dir=small_annotations,
            allow_missing=True,
            cache_dir=tmp_path,
        )
    assert via_hub.remove_columns("image").to_list() == dataset.remove_columns("image").to_list()
    raw = datasets.Image(decode=False)
    assert via_hub.cast_column("image", raw)["image"] == dataset.cast_column("image", raw)["image"]


# Files the process opens, seen through Python's audit events (every os.open and io.open raises
# one), so a test observes file-system access from outside the code, whichever path opens a file.
# A hook stays for the life of the process: it is added by the first test that needs it.
_watched_opens: list[str] | None = None
_hook_added = False


def _on_audit_event(event: str, args: tuple) -> None:
    if event == "open" and _watched_opens is not None and isinstance(args[0], (str, bytes, os.PathLike)):
        _watched_opens.append(os.path.realpath(os.fsdecode(args[0])))


def test_a_build_indexes_its_source_once(sources, small_annotations, tmp_path):
    """load() hands the builder the index it checked the source with, instead of indexing again.

    Indexing a tar opens it and reads its member headers; the build then reads the images through
    that same open file. So a build that indexes once opens the tar exactly once."""
    global _watched_opens, _hook_added
    if not _hook_added:
        sys.addaudithook(_on_audit_event)
        _hook_added = True
    path, _ = sources["val_tar"]
    _watched_opens = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = imagenet_x_hf.load(
                "validation", path, annotations_dir=small_annotations, allow_missing=True, cache_dir=tmp_path
            )
        opened = [p for p in _watched_opens if p == os.path.realpath(path)]
    finally:
        _watched_opens = None
    assert ds.num_rows > 0 and ds[0]["image"].size == SIZE  # the images came out of the tar
    assert len(opened) == 1
