"""Loaders on their own: detection, what each yields, what each reads, bad sources."""

from __future__ import annotations

import tarfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import imagenet_x_hf
from imagenet_x_hf import loaders
from imagenet_x_hf.errors import SourceError
from imagenet_x_hf.loaders import detect_kind, iter_images, open_source
from imagenet_x_hf.testing import LAYOUTS, label_of, make_synthetic_imagenet


@pytest.mark.parametrize("layout", LAYOUTS)
def test_kind_is_detected_from_the_path(layout, sources, layout_kind):
    path, _ = sources[layout]
    assert detect_kind(path) == layout_kind[layout]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_iter_images_yields_every_image_once_under_its_annotated_name(
    layout, sources, chosen, layout_split, layout_kind
):
    path, roles = sources[layout]
    split = layout_split[layout]
    names = [name for name, _ in iter_images(path, split=split, kind=layout_kind[layout])]
    present = set(chosen[split]) - set(roles["missing"])
    assert len(names) == len(set(names)) == len(present) + 11
    assert present <= set(names)
    unannotated = set(names) - present
    pattern = "ILSVRC2012_val_" if split == "validation" else "n"
    assert all(n.startswith(pattern) and n.endswith(".JPEG") for n in unannotated)
    wanted = sorted(present)[:5]
    assert sorted(n for n, _ in iter_images(path, split=split, file_names=wanted)) == wanted


def test_train_tar_reads_only_annotated_members_and_skips_other_classes(
    sources, chosen, small_annotations, tmp_path, monkeypatch
):
    path, roles = sources["train_tar"]
    with tarfile.open(path) as outer:
        class_tars = outer.getnames()
    present = [n for n in chosen["train"] if n not in roles["missing"]]
    annotated_classes = {n.split("_")[0] for n in present}
    assert len(class_tars) > len(annotated_classes)  # the tar holds classes with nothing annotated

    from imagenet_x_hf.loaders import catalog as catalog_module
    from imagenet_x_hf.loaders import tars

    read, opened = [], []
    original_read, original_members = catalog_module.Catalog.read, tars._members
    monkeypatch.setattr(
        catalog_module.Catalog, "read", lambda self, name: read.append(name) or original_read(self, name)
    )
    monkeypatch.setattr(
        tars,
        "_members",
        lambda fd, start, size, source: opened.append(source) or original_members(fd, start, size, source),
    )
    with pytest.warns(UserWarning):
        dataset = imagenet_x_hf.load(
            "train", path, annotations_dir=small_annotations, allow_missing=True, cache_dir=tmp_path
        )
    assert dataset.num_rows == len(present) - 1  # the truncated one is left out
    # Each annotated image present is read exactly once; no other member is read.
    assert sorted(read) == sorted(present)
    inner = {source.rsplit(":", 1)[1].removesuffix(".tar") for source in opened if ":" in source}
    assert inner == annotated_classes
    with open_source(path, file_names=present) as catalog:
        assert catalog.stats["containers_opened"] == len(annotated_classes)
        assert catalog.stats["containers_skipped"] == len(class_tars) - len(annotated_classes)
        assert catalog.stats["members_read"] == 0


def test_train_folders_look_up_only_the_wanted_files(sources, chosen):
    path, _ = sources["train_folders"]
    with open_source(path, split="train", file_names=chosen["train"]) as catalog:
        assert catalog.stats["files_checked"] == len(chosen["train"])
        assert catalog.stats["files_listed"] == 0


def test_a_class_folder_that_disagrees_with_the_label_is_an_error(chosen, small_annotations, tmp_path):
    from imagenet_x_hf import schema

    root = make_synthetic_imagenet(
        tmp_path / "src", layout="val_class_folders", file_names=chosen["validation"]
    )
    moved = chosen["validation"][4]
    right = schema.WNIDS[label_of(moved)]
    wrong = schema.WNIDS[(label_of(moved) + 1) % 1000]
    (root / wrong).mkdir(exist_ok=True)
    (root / right / moved).rename(root / wrong / moved)
    with pytest.raises(
        SourceError,
        match=rf"1 images sit under a class other than .*{moved} \(source says {wrong}, annotations say {right}\)",
    ):
        imagenet_x_hf.load("validation", root, annotations_dir=small_annotations, cache_dir=tmp_path / "c")


def test_explicit_kind_is_used(sources, small_annotations, tmp_path):
    path, _ = sources["val_tar"]
    renamed = path.with_name("images.tar")
    renamed.symlink_to(path)
    with pytest.warns(UserWarning):
        dataset = imagenet_x_hf.load(
            "validation",
            renamed,
            source_kind="val_tar",
            annotations_dir=small_annotations,
            allow_missing=True,
            cache_dir=tmp_path,
        )
    assert dataset.num_rows == 35
    with pytest.raises(SourceError, match="unknown source_kind 'zip'"):
        imagenet_x_hf.load("validation", renamed, source_kind="zip")


def test_a_file_name_twice_is_an_error(tmp_path, chosen):
    root = make_synthetic_imagenet(tmp_path, layout="val_flat", file_names=chosen["validation"][:3])
    name = chosen["validation"][1]
    (root / name.replace(".JPEG", ".jpg")).write_bytes((root / name).read_bytes())
    with pytest.raises(SourceError, match=rf"{name}' occurs twice"):
        list(iter_images(root))


def test_a_parquet_copy_without_file_names_is_refused(tmp_path, chosen):
    source = make_synthetic_imagenet(tmp_path / "src", layout="parquet", file_names=chosen["validation"][:4])
    (shard,) = source.glob("data/*.parquet")
    table = pq.read_table(shard)
    images = table.column("image").combine_chunks()
    nameless = pa.StructArray.from_arrays(
        [images.field("bytes"), pa.nulls(len(images), pa.string())], names=["bytes", "path"]
    )
    out = tmp_path / "nameless" / "validation.parquet"
    out.parent.mkdir()
    pq.write_table(table.set_column(0, "image", nameless).replace_schema_metadata(table.schema.metadata), out)
    assert detect_kind(out) == "parquet"
    with pytest.raises(SourceError, match="keeps no original file names"):
        open_source(out)


def test_detection_errors_say_what_to_pass(tmp_path):
    assert detect_kind("ILSVRC/imagenet-1k") == "hub"
    with pytest.raises(
        SourceError, match=r"does not exist \(no such file or folder\); pass an extracted folder"
    ):
        detect_kind(tmp_path / "nowhere")
    gz = tmp_path / "ILSVRC2012_img_val.tar.gz"
    gz.write_bytes(b"\x1f\x8b" + bytes(100))
    with pytest.raises(SourceError, match="decompressed first"):
        detect_kind(gz)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="holds no ImageNet images"):
        detect_kind(tmp_path / "empty")
    with pytest.raises(SourceError, match="unknown source_kind 'zip'"):
        open_source(tmp_path, kind="zip")
    assert "hub" in loaders.KINDS


def test_an_imagenet_root_resolves_to_the_split(tmp_path, chosen):
    val_tar = make_synthetic_imagenet(tmp_path, layout="val_tar", file_names=chosen["validation"][:3])
    train = make_synthetic_imagenet(tmp_path, layout="train_folders", file_names=chosen["train"][:4])
    assert loaders.resolve_source(tmp_path, split="validation") == val_tar
    assert loaders.resolve_source(tmp_path, split="train") == train
    assert sorted(n for n, _ in iter_images(tmp_path, split="train")) == sorted(chosen["train"][:4])
    assert loaders.resolve_source(train, split="validation") == train  # a source stays itself


def test_webdataset_shards_of_another_split_are_refused(sources):
    path, _ = sources["webdataset"]
    with pytest.raises(SourceError, match="named for other splits, none for 'train'"):
        open_source(path, split="train")


@pytest.mark.parametrize("format", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_the_tar_header_reader_agrees_with_tarfile(tmp_path, format):
    import io
    import os

    from imagenet_x_hf.loaders.tars import _members

    path = tmp_path / "some.tar"
    names = ["a.JPEG", "deep/" * 12 + "ILSVRC2012_val_00000001.JPEG", "café/n01440764_1.JPEG", "empty.JPEG"]
    if format == tarfile.USTAR_FORMAT:
        names = names[:2] + names[3:]  # ustar holds neither long nor non-ASCII names
    with tarfile.open(path, "w", format=format) as tar:
        tar.addfile(tarfile.TarInfo("folder"))  # a non-file member
        for i, name in enumerate(names):
            info = tarfile.TarInfo(name)
            data = bytes([i]) * (0 if name == "empty.JPEG" else 700 + 513 * i)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with tarfile.open(path) as tar:
        expected = [(m.name, m.offset_data, m.size, m.isfile()) for m in tar.getmembers()]
    fd = os.open(path, os.O_RDONLY)
    try:
        got = [
            (m.name, m.offset_data, m.size, m.isfile())
            for m in _members(fd, 0, path.stat().st_size, str(path))
        ]
    finally:
        os.close(fd)
    assert got == expected


def test_a_damaged_or_truncated_tar_is_refused(tmp_path, chosen):
    tar = make_synthetic_imagenet(tmp_path, layout="val_tar", file_names=chosen["validation"][:3])
    original = tar.read_bytes()
    damaged = bytearray(original)
    damaged[5] ^= 0xFF  # the first header's name: its checksum no longer matches
    (tmp_path / "damaged.tar").write_bytes(bytes(damaged))
    with pytest.raises(SourceError, match="bad header checksum"):
        open_source(tmp_path / "damaged.tar", kind="val_tar")
    with tarfile.open(tar) as archive:
        second = archive.getmembers()[1]
    (tmp_path / "cut.tar").write_bytes(original[: second.offset_data + second.size // 2])
    with pytest.raises(SourceError, match=rf"truncated: member '{second.name}' runs past the end"):
        open_source(tmp_path / "cut.tar", kind="val_tar")
