"""File-level scoring: coverage accounting, Parquet input, options, paired comparison, CLI."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from imagenet_x_hf import FACTORS
from imagenet_x_hf.cli import main
from imagenet_x_hf.metrics import (
    Predictions,
    factor_counts,
    paired_comparison,
    read_predictions,
    score_arrays,
    score_predictions,
)
from imagenet_x_hf.settings import ScoringOptions

from .conftest import score


@pytest.fixture(scope="module")
def resnet(prediction_files):
    return read_predictions(prediction_files["ResNet50"])


def subset(pred, keep, name=None):
    probs = None if pred.predicted_probability is None else pred.predicted_probability[keep]
    return Predictions.from_arrays(
        pred.file_names[keep], pred.predicted_class[keep], probs, name=name or pred.name
    )


def test_coverage_counts_add_up(resnet, val_arrays):
    rng = np.random.default_rng(3)
    keep = np.sort(rng.choice(len(resnet), 30_011, replace=False))
    part = subset(resnet, keep)
    out = score(part)
    cov = out["coverage"]
    names = set(part.file_names.tolist())
    annotated = dict(zip(np.asarray(val_arrays.file_names).tolist(), val_arrays.is_prototype.tolist()))
    expected_used = sum(1 for n in names if n in annotated and not annotated[n])
    assert cov["used"] == expected_used == out["images"]
    assert cov["unannotated_ignored"] == sum(1 for n in names if n not in annotated)
    assert cov["prototypes_ignored"] == sum(1 for n in names if annotated.get(n, False))
    assert (
        cov["used"] + cov["unannotated_ignored"] + cov["prototypes_ignored"] == cov["predictions"] == 30_011
    )
    assert cov["annotated"] == 46_110 and cov["missing"] == 46_110 - cov["used"]
    # computed on the overlap: the same as scoring the overlapping images by hand
    row = {n: i for i, n in enumerate(np.asarray(val_arrays.file_names).tolist())}
    rows = np.array([row[n] for n in part.file_names if n in row and not annotated[n]])
    preds = np.array(
        [c for n, c in zip(part.file_names, part.predicted_class) if n in row and not annotated[n]]
    )
    expected = score_arrays(preds == val_arrays.labels[rows], val_arrays.top.dense(16, rows))
    assert out["error_ratio"] == expected["error_ratio"]


@pytest.mark.parametrize("filter_prototypes", [True, False])
def test_validation_names_align_as_strings_do(resnet, val_arrays, filter_prototypes):
    """The image-number lookup gives the rows and counts of matching the names as strings."""
    names = resnet.file_names[:5000].tolist() + [
        "ILSVRC2012_val_99999999.JPEG",
        "ILSVRC2012_val_00000000.JPEG",
    ]
    classes = np.r_[resnet.predicted_class[:5000], 1, 2]
    fast = Predictions.from_arrays(names, classes, name="fast")
    assert fast.val_numbers is not None
    # a trailing space makes one name unmatchable and sends the whole set down the string path
    slow = Predictions.from_arrays(names + ["x "], np.r_[classes, 3], name="slow")
    assert slow.val_numbers is None
    options = {"filter_prototypes": filter_prototypes}
    a, b = score(fast, **options), score(slow, **options)
    assert b["coverage"]["unannotated_ignored"] == a["coverage"]["unannotated_ignored"] + 1 >= 3
    assert (a["coverage"]["prototypes_ignored"] > 0) == filter_prototypes
    for key in ("used", "missing", "prototypes_ignored", "annotated"):
        assert a["coverage"][key] == b["coverage"][key]
    assert a["factors"] == b["factors"] and a["metaclass"] == b["metaclass"]


def test_keep_prototypes(resnet):
    out = score(resnet, filter_prototypes=False)
    assert out["coverage"]["annotated"] == 48_868 and out["coverage"]["used"] == 48_868
    assert out["coverage"]["prototypes_ignored"] == 0 and out["filter_prototypes"] is False


def test_real_class_conventions(resnet, val_arrays):
    counted = score(resnet, error_type="real_class")
    excluded = score(resnet, error_type="real_class", empty_real="exclude")
    empty = int(((val_arrays.real.lengths() == 0) & ~val_arrays.is_prototype).sum())
    assert excluded["coverage"]["real_empty_excluded"] == empty > 0
    assert excluded["images"] == counted["images"] - empty
    # the coverage block adds up: every prediction is used or ignored for one stated reason
    cov = excluded["coverage"]
    assert cov["used"] == excluded["images"]
    assert (
        cov["used"] + cov["unannotated_ignored"] + cov["prototypes_ignored"] + cov["real_empty_excluded"]
        == cov["predictions"]
    )
    # images without ReaL labels are always errors under the toolkit's convention
    wrong_counted = counted["images"] - round(counted["accuracy"] * counted["images"])
    wrong_excluded = excluded["images"] - round(excluded["accuracy"] * excluded["images"])
    assert wrong_counted - wrong_excluded == empty


def test_parquet_equals_csv(resnet, prediction_files, tmp_path):
    path = tmp_path / "run" / "predictions.parquet"
    path.parent.mkdir()
    table = pa.table(
        {
            "file_name": resnet.file_names.tolist(),
            "predicted_class": resnet.predicted_class,
            "predicted_probability": resnet.predicted_probability,
            "logit_max": np.zeros(len(resnet)),  # extra columns are ignored
        }
    )
    pq.write_table(table, path)
    from_parquet = read_predictions(path, name="ResNet50")
    assert score(from_parquet) == score(resnet)
    assert read_predictions(path).name == "predictions"


def test_train_split_by_file_name():
    from imagenet_x_hf.annotations import split_annotations

    train = split_annotations("train")
    names = np.asarray(train.file_names)[:1201]
    preds = np.where(np.arange(1201) % 4 == 0, (train.labels[:1201] + 1) % 1000, train.labels[:1201])
    out = score(Predictions.from_arrays(names, preds), split="train")
    assert out["coverage"]["used"] == 1201 and out["split"] == "train"
    counts = factor_counts(preds == train.labels[:1201], train.top.dense()[:1201])
    assert out["factors"]["pose"]["correct"] == counts.correct[0, 0]


def test_paired_comparison_on_shared_images(prediction_files):
    a = read_predictions(prediction_files["ResNet50"])
    b = read_predictions(prediction_files["ViT"])
    keep = np.arange(len(b)) % 3 != 0
    b_part = subset(b, keep)
    out = paired_comparison(a, b_part, ScoringOptions(which_factor="multi"))
    shared_a = subset(a, keep, name="a")
    sa = score(shared_a, which_factor="multi")
    sb = score(b_part, which_factor="multi")
    assert out["images"] == sa["images"] == sb["images"]
    for f in FACTORS:
        d = out["factors"][f]
        assert d["difference"] == pytest.approx(sa["error_ratio"][f] - sb["error_ratio"][f], abs=1e-12)
        assert d["low"] < d["difference"] < d["high"]
    assert json.loads(json.dumps(out)) == out


def test_results_are_json_ready(resnet):
    out = score(resnet, which_factor="multi", error_type="metaclass")
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    assert list(out["error_ratio"]) == list(FACTORS)
    for key in (
        "model",
        "split",
        "which_factor",
        "error_type",
        "filter_prototypes",
        "confidence_level",
        "interval_method",
    ):
        assert key in out


def test_cli_table_and_json(prediction_files, capsys):
    files = [str(prediction_files[m]) for m in ("DINO", "ViT")]
    assert main(["score", *files]) == 0
    table = capsys.readouterr().out
    assert "DINO" in table and "ViT" in table and "texture" in table
    assert main(["score", "--json", "--which-factor", "multi", "--error-type", "metaclass", *files]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["model"] for r in results] == ["DINO", "ViT"]
    direct = score(read_predictions(files[1]), which_factor="multi", error_type="metaclass")
    assert results[1]["error_ratio"] == direct["error_ratio"]
    assert results[1]["factors"]["style"]["error_ratio_low"] == direct["factors"]["style"]["error_ratio_low"]


def test_cli_options_and_errors(prediction_files, tmp_path, capsys):
    path = str(prediction_files["SimCLR"])
    args = ["score", "--json", "--keep-prototypes", "--error-type", "real_class", "--empty-real", "exclude"]
    assert main([*args, "--confidence-level", "0.9", path]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["filter_prototypes"] is False and result["empty_real"] == "exclude"
    assert result["confidence_level"] == 0.9 and result["coverage"]["real_empty_excluded"] > 0
    bad = tmp_path / "bad.csv"
    bad.write_text("file_name,predicted_class\nILSVRC2012_val_00000001.JPEG,1000\n")
    assert main(["score", str(bad)]) == 2
    assert "outside 0-999" in capsys.readouterr().err


def test_breakdowns_can_be_left_out(resnet):
    full = score(resnet)
    lean = score(resnet, breakdowns=False)
    assert lean["metaclass"] is None and lean["calibration"] is None
    assert full["metaclass"] is not None and full["calibration"] is not None
    assert lean["factors"] == full["factors"] and lean["coverage"] == full["coverage"]


def test_scoring_takes_one_options_object_and_records_it_once(resnet):
    from imagenet_x_hf.settings import ScoringOptions

    options = ScoringOptions(which_factor="multi", error_type="real_class", empty_real="exclude")
    out = score_predictions(resnet, options)
    assert out.scoring == options and out.to_dict()["which_factor"] == "multi"
    with pytest.raises(TypeError):
        score_predictions(resnet, which_factor="multi")  # keywords only at the evaluate module


def test_scoring_options_are_checked_before_any_work(resnet):
    from imagenet_x_hf.errors import ImageNetXError, SettingsError
    from imagenet_x_hf.settings import ScoringOptions

    with pytest.raises(ImageNetXError, match="options must be an imagenet_x_hf.settings.ScoringOptions"):
        score_predictions(resnet, {"which_factor": "multi"})
    with pytest.raises(ImageNetXError, match="options must be an imagenet_x_hf.settings.ScoringOptions"):
        paired_comparison(resnet, resnet, {"which_factor": "multi"})
    with pytest.raises(SettingsError, match=r"unknown scoring settings \['which'\]"):
        ScoringOptions.from_dict({"which": "multi"})
