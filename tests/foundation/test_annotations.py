"""The annotations dataset against the authors' files, read independently here."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import imagenet_x_hf
from imagenet_x_hf import annotations, schema
from imagenet_x_hf.schema import FACTORS, METACLASSES

SOURCE = annotations.annotations_dir()


def _source_rows(name: str) -> list[dict]:
    with open(SOURCE / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _prototypes() -> set[str]:
    with open(SOURCE / "prototypical_paths.csv", newline="") as f:
        return {row["file_name"] for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def validation():
    return imagenet_x_hf.load("validation")


@pytest.fixture(scope="module")
def validation_all():
    return imagenet_x_hf.load("validation", filter_prototypes=False)


@pytest.fixture(scope="module")
def train():
    return imagenet_x_hf.load("train")


def test_row_counts(validation, validation_all, train):
    assert validation_all.num_rows == 48_868
    assert validation.num_rows == 46_110
    assert train.num_rows == 11_233
    # 2,758 of the 3,000 prototypes are annotated, and those are the rows dropped
    assert validation_all.num_rows - validation.num_rows == len(
        _prototypes() & set(validation_all["file_name"])
    )
    assert not any(validation["is_prototype"])


@pytest.mark.parametrize("split,prefix", [("validation", "val"), ("train", "train")])
@pytest.mark.parametrize("which", ["multi", "top"])
def test_factor_totals_equal_the_source_sums(split, prefix, which):
    rows = _source_rows(f"imagenet_x_{prefix}_{which}_factor.jsonl")
    ds = imagenet_x_hf.load(split, filter_prototypes=False)
    matrix = annotations.split_annotations(split).factors(which).dense()
    expected = {f: sum(int(r[f]) for r in rows) for f in FACTORS}
    assert dict(zip(FACTORS, matrix.sum(axis=0).tolist())) == expected
    # and through the dataset's own list / class-label columns
    column = "factors" if which == "multi" else "top_factor"
    counted = dict.fromkeys(FACTORS, 0)
    for value in ds[column]:
        for factor_id in value if isinstance(value, list) else ([] if value is None else [value]):
            counted[FACTORS[factor_id]] += 1
    assert counted == expected


def test_filtered_totals_equal_the_authors_loader():
    imagenet_x = pytest.importorskip("imagenet_x")  # a declared dependency: always present
    for which, attr in (("top", "top"), ("multi", "multi")):
        theirs = imagenet_x.load_annotations(which_factor=which, partition="val", filter_prototypes=True)
        ours = annotations.split_annotations("validation")
        rows = ours.kept_rows(filter_prototypes=True)
        assert ours.file_names.take(rows).to_pylist() == theirs["file_name"].tolist()
        flags = ours.factors(attr).dense(rows=rows)
        np.testing.assert_array_equal(flags.astype(int), theirs[list(FACTORS)].to_numpy())
        np.testing.assert_array_equal(ours.labels[rows], theirs["class"].to_numpy())
        assert [METACLASSES[m] for m in ours.metaclass[rows]] == theirs["metaclass"].tolist()


def test_top_factor_and_multi_factor_shapes(validation_all, train):
    # the release has 2 validation and 6 train rows without a top factor, and
    # multi-factor rows with 0 to 11 factors; both are kept as they are
    for ds, prefix, no_top in ((validation_all, "val", 2), (train, "train", 6)):
        assert sum(t is None for t in ds["top_factor"]) == no_top
        source = _source_rows(f"imagenet_x_{prefix}_multi_factor.jsonl")
        expected = sorted(sum(int(r[f]) for f in FACTORS) for r in source)
        assert sorted(len(f) for f in ds["factors"]) == expected
    assert max(len(f) for f in validation_all["factors"]) == 11


def test_row_content_matches_source(validation_all):
    rows = _source_rows("imagenet_x_val_multi_factor.jsonl")
    real = json.loads((SOURCE / "imagenet_real_labels.jsonl").read_text())
    labels = schema.CLASS_NAMES
    for i in (0, 1, 777, len(rows) - 1):
        ours, src = validation_all[i], rows[i]
        assert ours["file_name"] == src["file_name"]
        assert ours["label"] == src["class"]
        assert validation_all.features["label"].int2str(ours["label"]) == labels[src["class"]]
        assert [FACTORS[f] for f in ours["factors"]] == [f for f in FACTORS if src[f]]
        assert ours["justification"] == src["justification"]
        assert ours["one_word"] == src["one_word"]
        index = int(src["file_name"][15:23]) - 1
        assert ours["real_labels"] == real[index]
    assert train_real_labels_are_null()


def train_real_labels_are_null() -> bool:
    return all(r is None for r in imagenet_x_hf.load("train")["real_labels"])


def test_features_are_the_schema(validation, train):
    assert validation.features == schema.annotation_features()
    assert train.features == schema.annotation_features()
    names = validation.features["label"].names
    assert len(names) == 1000 and len(set(names)) == 1000
    assert names[134] == "crane (n02012849)" and names[517] == "crane (n03126707)"


def test_metaclasses_follow_the_toolkit_mapping(validation_all):
    with open(SOURCE / "imagenet_1k_classes_to_100_metaclasses.csv", newline="") as f:
        groups = [row["name"] for row in csv.DictReader(f)]
    for label, meta in zip(validation_all["label"][:2000], validation_all["metaclass"][:2000]):
        expected = groups[label] if groups[label] in METACLASSES else "other"
        assert METACLASSES[meta] == expected


def test_second_load_in_a_new_process_reads_the_cache():
    imagenet_x_hf.load("validation")  # built in this session's cache
    code = (
        "import imagenet_x_hf, imagenet_x_hf.annotations as a\n"
        "def boom(*args, **kwargs): raise RuntimeError('annotation JSONL parsed again')\n"
        "a.read_split = boom\n"
        "print(imagenet_x_hf.load('validation').num_rows)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "46110"


def test_annotations_dir_from_environment(tmp_path, monkeypatch):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in annotations.FILES.values():
        (copy / name).write_bytes((SOURCE / name).read_bytes())
    monkeypatch.setenv(annotations.ENV_VAR, str(copy))
    assert annotations.annotations_dir() == copy
    # another copy means another cache entry, built from that copy
    assert annotations.fingerprint() != annotations.fingerprint(SOURCE)
    assert imagenet_x_hf.load("train", cache_dir=tmp_path / "cache").num_rows == 11_233


def test_arrays_equal_the_dataset_rows(validation_all):
    """The array form (what metrics, stats, torch view read) and the built dataset agree row by row."""
    ann = annotations.split_annotations("validation")
    assert ann.file_names.to_pylist() == validation_all["file_name"]
    rows = np.array([0, 1, 777, 20_000, len(ann) - 1])
    for i in rows.tolist():
        row = validation_all[i]
        assert ann.multi.row(i).tolist() == row["factors"]
        assert ann.top.row(i).tolist() == ([] if row["top_factor"] is None else [row["top_factor"]])
        assert ann.real.row(i).tolist() == row["real_labels"]
        assert ann.labels[i] == row["label"] and ann.metaclass[i] == row["metaclass"]
    # a selection of rows: the same flags as the full matrix's rows
    np.testing.assert_array_equal(ann.multi.dense(rows=rows[::-1]), ann.multi.dense()[rows[::-1]])
    assert (ann.real_dense[rows[2], : len(ann.real.row(rows[2]))] == ann.real.row(rows[2])).all()


def test_parsed_tables_are_cached_and_stale_copies_removed(tmp_path, monkeypatch):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in annotations.FILES.values():
        (copy / name).symlink_to(SOURCE / name)
    cache = tmp_path / "cache"
    monkeypatch.setenv(annotations.CACHE_ENV_VAR, str(cache))
    first = annotations.split_table("train", copy)
    assert len(list(cache.glob("train-*.arrow"))) == 1
    # a repaired file: a new fingerprint, parsed anew, the old cache file removed
    top = copy / annotations.FILES["train_top"]
    top.unlink()
    top.write_bytes((SOURCE / annotations.FILES["train_top"]).read_bytes())
    second = annotations.split_table("train", copy)
    assert second.equals(first)
    assert [p.name.split("-")[2] for p in cache.glob("train-*.arrow")] == [annotations.fingerprint(copy)]


def test_schema_imports_nothing_of_ours():
    code = (
        "import sys, imagenet_x_hf.schema as s\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'imagenet_x_hf'))\n"
        "print(len(s.CLASS_NAMES), s.WNIDS[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["['imagenet_x_hf', 'imagenet_x_hf.schema']", "1000 n01440764"]


def test_package_data_paths_exist():
    assert Path(annotations.annotation_file("val_multi")).name == "imagenet_x_val_multi_factor.jsonl"
