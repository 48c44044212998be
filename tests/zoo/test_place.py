"""The accuracy-adjusted view: the excess leaves accuracy behind, and a model is placed sensibly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imagenet_x_hf.results import Results
from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.settings import ScoringOptions
from imagenet_x_hf.zoo import ZooError, adjustment_check, place, zoo_block

KEYS = {
    "error_ratio",
    "error_ratio_interval",
    "expected_error_ratio",
    "excess",
    "excess_interval",
    "band",
    "percentile_all",
    "percentile_similar_accuracy",
    "similar_models",
    "trend_r2",
}


@pytest.mark.parametrize(
    ("which", "error_type"), [(w, e) for w in ("top", "multi") for e in ("class", "real_class", "metaclass")]
)
def test_excess_is_nearly_uncorrelated_with_accuracy(zoo, which, error_type):
    check = adjustment_check(which, error_type, zoo=zoo)
    assert set(check) == set(FACTORS)
    strong = 0
    for factor, d in check.items():
        assert abs(d["rho_excess"]) < 0.2, (factor, d)
        if abs(d["rho_raw"]) > 0.5:
            strong += 1
            assert abs(d["rho_excess"]) < abs(d["rho_raw"]) / 3, (factor, d)
        assert d["r2"] is not None and 0 <= d["r2"] <= 1
    assert strong >= 5  # the raw ratios really do move with accuracy


def test_place_one_model(zoo, vit_results):
    out = place(vit_results, zoo=zoo)
    assert out["model"] == "ViT" and out["zoo"]["models"] == 2500  # the zoo's own ViT row left out
    assert out["reference"]["excluded_family"] == "ViT" and "itself in the zoo" in out["notes"][0]
    assert out["zoo"]["commit"].startswith("6403d41")
    assert out["coverage"]["placed"] and not out["extrapolation"]["extrapolated"]
    near = out["reference"]["near"]
    assert near["models"] > 600 and near["families"] < near["models"] / 5  # the sweeps count as families
    assert "runs of 2 ResNet-50 augmentation sweeps" in near["description"]
    # above the sweeps (most runs sit below 0.77), but a family-weighted reference holds many more accurate models
    assert 55 < out["accuracy_percentile"] < 80
    for factor in FACTORS:
        d = out["factors"][factor]
        assert set(d) == KEYS
        assert d["error_ratio"] == vit_results.factor(factor).error_ratio
        assert d["excess"] == pytest.approx(d["error_ratio"] - d["expected_error_ratio"])
        low, high = d["excess_interval"]
        assert low < d["excess"] < high
        assert high - low == pytest.approx(d["band"][1] - d["band"][0])  # excess -+ the band's half-width
        assert 0 <= d["percentile_all"] <= 100 and 0 <= d["percentile_similar_accuracy"] <= 100
        assert d["similar_models"] > 100
    # what the zoo says for pose: better models make relatively fewer pose errors
    assert out["factors"]["pose"]["expected_error_ratio"] < 0.8


def test_a_zoo_model_is_placed_at_its_own_excess(zoo):
    """Placing a zoo row as if it were a user's model gives that row's excess and a matching percentile."""
    from imagenet_x_hf.zoo.place import reference_of

    s = zoo.slice("top", "class")
    ref = reference_of(s)
    i = s.row("vit_base_patch16_224")
    results = {
        "model": "copy",
        "accuracy": float(s.accuracy[i]),
        "images": 50_000,
        "which_factor": "top",
        "error_type": "class",
        "factors": {f: {"error_ratio": float(s.error_ratio[i, k])} for k, f in enumerate(FACTORS)},
    }
    out = place(Results.from_dict(results), zoo=zoo)
    j = int(np.flatnonzero(ref.names == "vit_base_patch16_224")[0])
    for k, f in enumerate(FACTORS):
        assert out["factors"][f]["excess"] == pytest.approx(ref.excess[j, k], abs=1e-12)
        share = 100 * np.sum(ref.weight * (ref.excess[:, k] < ref.excess[j, k])) / ref.weight.sum()
        assert out["factors"][f]["percentile_all"] == pytest.approx(
            share, abs=100 * ref.weight[j] / ref.weight.sum()
        )


def test_settings_mismatch_notes_and_errors(zoo, vit_results):
    kept = vit_results.replace(scoring=vit_results.scoring.replace(filter_prototypes=False))
    assert any("prototype" in n for n in place(kept, zoo=zoo)["notes"])
    high = place(vit_results.replace(accuracy=0.99), zoo=zoo)
    assert high["extrapolation"]["extrapolated"] and "above the highest" in high["extrapolation"]["reason"]
    with pytest.raises(ZooError, match="validation split"):
        place(vit_results.replace(scoring=vit_results.scoring.replace(split="train")), zoo=zoo)
    with pytest.raises(ZooError, match="needs one model's Results"):
        place({"accuracy": 0.5}, zoo=zoo)


def test_zoo_block_skips_with_a_note_offline(vit_results, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("IMAGENET_X_ZOO_CACHE", str(tmp_path / "empty"))
    block = zoo_block(vit_results)
    assert block.skipped is True and "HF_HUB_OFFLINE" in block.note


def test_results_json_of_a_run_has_the_zoo_block(tmp_path, monkeypatch):
    """write_outputs (the end of 'imagenet-x evaluate') adds the block, or the note when offline."""
    import json

    import pyarrow.csv as pacsv

    from imagenet_x_hf.runner.outputs import write_outputs

    from .conftest import PREDICTIONS_DIR, ZOO_DIR

    table = pacsv.read_csv(PREDICTIONS_DIR / "ResNet50.csv")
    common = dict(model_name="ResNet50", run_info={"model": "ResNet50"}, scoring=ScoringOptions())
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("IMAGENET_X_ZOO", str(ZOO_DIR))
    write_outputs(tmp_path / "a", table, **common)
    block = json.loads((tmp_path / "a" / "results.json").read_text())["zoo"]
    assert block["zoo"]["models"] == 2500 and set(block["factors"]["pose"]) == KEYS
    monkeypatch.delenv("IMAGENET_X_ZOO")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("IMAGENET_X_ZOO_CACHE", str(tmp_path / "empty"))
    write_outputs(tmp_path / "b", table, **common)
    block = json.loads((tmp_path / "b" / "results.json").read_text())["zoo"]
    assert block["skipped"] and "not placed" in block["note"]
    assert math.isfinite(json.loads((tmp_path / "b" / "results.json").read_text())["accuracy"])


def test_derived_arrays_give_the_same_placement(tmp_path, monkeypatch, vit_results):
    """A new process starts from the parsed tables and fitted trend an earlier one kept; damage means a rebuild."""
    from imagenet_x_hf.zoo import load_zoo

    from .conftest import ZOO_DIR

    monkeypatch.setenv("IMAGENET_X_ZOO_CACHE", str(tmp_path / "cache"))
    first = place(vit_results, zoo=load_zoo(ZOO_DIR))  # the session's zoo object is cached: start afresh
    derived = sorted(p.name for p in (tmp_path / "cache" / "derived").iterdir())
    assert [n.split("-")[0] for n in derived] == ["table", "trend", "trend"]  # all, and all without ViT
    load_zoo.cache_clear()
    assert place(vit_results, zoo=load_zoo(ZOO_DIR)) == first
    for path in (tmp_path / "cache" / "derived").iterdir():
        path.write_bytes(b"not an npz file")
    load_zoo.cache_clear()
    assert place(vit_results, zoo=load_zoo(ZOO_DIR)) == first
