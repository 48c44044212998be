"""add_factors on datasets users already have, checked against the authors' toolkit."""

from __future__ import annotations

import datasets
import pytest

from imagenet_x_hf import FACTORS, add_factors
from imagenet_x_hf.errors import SourceError
from imagenet_x_hf.testing import label_of, make_synthetic_imagenet


@pytest.fixture(scope="module")
def hub_copy(tmp_path_factory, chosen):
    """A Hub-like Parquet copy (image + label, the name only in the image path), as datasets loads it."""
    root = tmp_path_factory.mktemp("hub")
    repo = make_synthetic_imagenet(
        root, layout="parquet", file_names=chosen["validation"], extra=11, shard_size=10
    )
    return datasets.load_dataset(str(repo), split="validation", cache_dir=str(root / "cache"))


@pytest.fixture(scope="module")
def authors():
    """The authors' top- and multi-factor annotations, by file name (prototypes filtered)."""
    from imagenet_x.utils import load_annotations

    out = {}
    for which in ("top", "multi"):
        frame = load_annotations(which_factor=which, partition="val", filter_prototypes=True)
        out[which] = {
            row["file_name"]: sorted(f for f in FACTORS if row[f] == 1) for row in frame.to_dict("records")
        }
    return out


def test_a_hub_copy_gains_the_factors_of_each_image(hub_copy, authors, chosen):
    joined = add_factors(hub_copy)
    assert joined.num_rows == hub_copy.num_rows == 48
    names = joined["file_name"]
    paths = [image["path"] for image in hub_copy.cast_column("image", datasets.Image(decode=False))["image"]]
    assert [p.split("_n")[0] + ".JPEG" for p in paths] == list(names)
    top_names = joined.features["top_factor"].names
    annotated = 0
    for row in joined.remove_columns("image"):
        name = row["file_name"]
        if name not in authors["top"]:
            assert row["top_factor"] is None and row["factors"] is None and row["metaclass"] is None
            continue
        annotated += 1
        assert [top_names[row["top_factor"]]] == authors["top"][name]
        assert sorted(top_names[f] for f in row["factors"]) == authors["multi"][name]
        assert row["label"] == label_of(name)
    assert annotated == len(chosen["validation"])
    assert add_factors(hub_copy, drop_unannotated=True)["file_name"] == sorted(chosen["validation"])


def test_names_come_from_any_column_that_holds_them(hub_copy):
    by_image = add_factors(hub_copy, file_name_column="image")
    shuffled = hub_copy.shuffle(seed=3).select(range(13))
    joined = add_factors(shuffled)
    paths = [image["path"] for image in shuffled.cast_column("image", datasets.Image(decode=False))["image"]]
    assert list(joined["file_name"]) == [p.split("_n")[0] + ".JPEG" for p in paths]
    plain = datasets.Dataset.from_dict({"file_name": list(by_image["file_name"])})
    from_names = add_factors(plain)
    assert from_names["top_factor"] == by_image["top_factor"]
    annotated = [m is not None for m in by_image["metaclass"]]
    assert [a for a, keep in zip(from_names["label"], annotated) if keep] == [
        b for b, keep in zip(by_image["label"], annotated) if keep
    ]
    assert all(a is None for a, keep in zip(from_names["label"], annotated) if not keep)


def test_no_file_names_is_a_clear_error(hub_copy):
    with pytest.raises(SourceError, match="carries no file names .*file_name_column="):
        add_factors(datasets.Dataset.from_dict({"label": [1, 2]}))
    bytes_only = hub_copy.cast_column("image", datasets.Image(decode=False)).map(
        lambda row: {"image": {"bytes": row["image"]["bytes"], "path": None}}
    )
    with pytest.raises(SourceError, match="carries no file names"):
        add_factors(bytes_only)
    with pytest.raises(SourceError, match="'label' holds"):
        add_factors(hub_copy, file_name_column="label")
    with pytest.raises(SourceError, match="not a column"):
        add_factors(hub_copy, file_name_column="name")


def test_labels_in_another_order_are_refused(hub_copy):
    shifted = hub_copy.cast_column("label", datasets.Value("int64")).map(
        lambda row: {"label": (row["label"] + 1) % 1000}
    )
    with pytest.raises(SourceError, match=r"disagrees with the annotations for 37 images"):
        add_factors(shifted)
