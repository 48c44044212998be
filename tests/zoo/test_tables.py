"""The authors' tables as one typed table: counts, types read as data, settings, and our metric agrees."""

from __future__ import annotations

import numpy as np
import pytest

from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.zoo import GROUPS, ZooError
from imagenet_x_hf.zoo.table import parse_model_types, settings_from_name

from .conftest import MODEL_NAMES, PREDICTIONS_DIR, ZOO_DIR

# Models per group in every table (the data README's counts); real_class tables add a human row.
COUNTS = {
    "crop": 1272,
    "colorjitter": 664,
    "imagenet_testbed": 335,
    "gaussian_blur": 161,
    "modelvshuman": 54,
    "colorjitter_crop": 12,
    "adaptive_colorjitter": 8,
    "base": 4,
}
COMBOS = [(w, e) for w in ("top", "multi") for e in ("class", "real_class", "metaclass")]


@pytest.mark.parametrize(("which", "error_type"), COMBOS)
def test_model_counts_per_group_and_table(zoo, which, error_type):
    s = zoo.slice(which, error_type)
    assert s.counts() == COUNTS
    humans = int((s.model == "human").sum())
    assert humans == (len(GROUPS) if error_type == "real_class" else 0)  # one per group's table
    assert len(s.model) == sum(COUNTS.values()) + humans
    # nine names appear in both imagenet_testbed and modelvshuman: counted once as zoo models
    assert s.use.sum() == 2501
    assert not s.use[s.model == "human"].any()
    if error_type == "real_class":
        human = s.human()
        assert 0.5 < human["accuracy"] < 1 and set(human["error_ratio"]) == set(FACTORS)


def test_typed_arrow_table(zoo):
    table = zoo.table("top", "class")
    assert table.num_rows == 2510
    assert table.schema.field("accuracy").type == "double"
    assert table.schema.field("run_id").type == "int64"
    names = table.column("model").to_pylist()
    row = names.index("eval_resnet50_crop0.2_wd0.0001_id1660252539")
    assert table.column("group")[row].as_py() == "crop"
    assert table.column("crop_strength")[row].as_py() == pytest.approx(99.8)
    assert table.column("color_strength")[row].as_py() is None
    acc = table.column("accuracy")[row].as_py()
    pose = table.column("accuracy_pose")[row].as_py()
    assert table.column("error_ratio_pose")[row].as_py() == pytest.approx((1 - pose) / (1 - acc))
    assert table.column("model_type")[names.index("alexnet")].as_py() == "Supervised on ImageNet-1K"
    assert table.column("model_type")[names.index("resnet18_50k_7_epochs")].as_py() == "Low Accuracy CNN"
    full = zoo.table()
    assert full.num_rows == 6 * 2510 + 2 * len(GROUPS)
    assert set(full.column("which_factor").unique().to_pylist()) == {"top", "multi"}


def test_model_types_are_read_not_executed(tmp_path, zoo):
    types = zoo.model_types()
    assert types["DINO"] == "Self-supervised"
    assert types["BiT-M-R50x1-ILSVRC2012"] == "Supervised on more data"
    assert types["resnet101_9_epochs"] == "Low Accuracy CNN"  # from a for-loop in the file
    assert len([n for n in types if n.startswith("resnet18_50k_")]) == 100
    marker = tmp_path / "executed"
    text = (ZOO_DIR / "imagenet_x" / "model_types.py").read_text()
    hostile = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\n" + text
    assert parse_model_types(hostile) == types
    assert not marker.exists()
    with pytest.raises(ZooError, match="not in the form of the authors' pinned file"):
        parse_model_types(text + "model_types_map[name_from_elsewhere] = ModelTypes.STANDARD\n")


def test_settings_parsed_from_names(zoo):
    s = zoo.slice()
    crop = s.group == "crop"
    assert np.all(s.settings["crop_strength"][crop] == 100 - s.settings["crop"][crop])
    assert np.isfinite(s.settings["color_strength"][s.group == "colorjitter"]).all()
    assert np.isfinite(s.settings["blur_strength"][s.group == "gaussian_blur"]).all()
    assert len(np.unique(s.settings["blur_strength"][s.group == "gaussian_blur"])) == 8
    assert np.isnan(s.settings["crop"][s.group == "imagenet_testbed"]).all()
    assert settings_from_name("eval_resnet50_crop100.0_wd1e-05_color0.0_smoothing91.0_id1662150863") == {
        "crop": 100.0,
        "crop_strength": 0.0,
        "color_strength": 0.0,
        "blur_strength": 91.0,
        "weight_decay": 1e-05,
        "run_id": 1662150863,
    }


@pytest.mark.slow
@pytest.mark.parametrize(("which", "error_type"), COMBOS)
def test_base_group_equals_our_metric(zoo, which, error_type):
    """Two independent sources agree: the authors' released rows and our metric on their predictions."""
    from imagenet_x_hf.metrics import read_predictions, score_predictions
    from imagenet_x_hf.settings import ScoringOptions

    s = zoo.slice(which, error_type)
    for name in MODEL_NAMES:
        ours = score_predictions(
            read_predictions(PREDICTIONS_DIR / f"{name}.csv"),
            ScoringOptions(which_factor=which, error_type=error_type),
            breakdowns=False,
        ).to_dict()
        row = s.row(name, "base")
        assert ours["accuracy"] == pytest.approx(s.accuracy[row], abs=1e-9)
        for k, factor in enumerate(FACTORS):
            assert ours["factors"][factor]["accuracy"] == pytest.approx(s.factor_accuracy[row, k], abs=1e-9)
            assert ours["error_ratio"][factor] == pytest.approx(s.error_ratio[row, k], abs=1e-9)
