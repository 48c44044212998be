"""The results contract: one typed object read from every shape written, and written back unchanged.

The fixture is the results.json a tiny run of release 0.1.0 wrote (paths shortened to /data):
it must keep reading, and round-trip to the same JSON apart from the scoring settings, which
that release kept twice (top level and run.options.scoring) and are now stored once.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from imagenet_x_hf.cli import main
from imagenet_x_hf.errors import ResultsFileError
from imagenet_x_hf.reports.inputs import read_run
from imagenet_x_hf.results import Placement, Results, RunRecord
from imagenet_x_hf.schema import FACTORS

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "results-0.1.0-tiny-run.json"


@pytest.fixture
def written() -> dict:
    return json.loads(FIXTURE.read_text())


def test_a_results_json_of_release_0_1_0_reads_and_round_trips(written):
    results = Results.from_dict(written)
    assert isinstance(results.run, RunRecord) and isinstance(results.zoo, Placement)
    assert results.images == 37 and results.scoring.which_factor == "top"
    assert results.run.imagenet == "/data/imagenet/val" and results.run.precision == "fp32"
    assert results.zoo.models == 2501 and results.zoo.factors["pose"].similar_models == 13
    expected = copy.deepcopy(written)
    del expected["run"]["options"]["scoring"]  # stored once now: at the top level
    assert json.dumps(results.to_dict()) == json.dumps(expected)  # same keys, same order, same values
    assert Results.from_dict(results.to_dict()) == results


def test_keys_of_a_newer_version_are_kept(written):
    written["reference_note"] = "added later"
    written["zoo"]["coverage"] = {"models": 2501}
    written["zoo"]["factors"]["pose"]["extrapolated"] = False
    written["run"]["predictions_export"] = "org/preds"
    out = Results.from_dict(written).to_dict()
    assert out["reference_note"] == "added later" and out["zoo"]["coverage"] == {"models": 2501}
    assert out["zoo"]["factors"]["pose"]["extrapolated"] is False
    assert out["run"]["predictions_export"] == "org/preds"


def test_scoring_settings_recorded_twice_must_agree(written):
    written["run"]["options"]["scoring"]["which_factor"] = "multi"
    with pytest.raises(
        ResultsFileError, match="run.options.scoring .* differs from the results' own settings"
    ):
        Results.from_dict(written)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["zoo"]["factors"]["pose"].update(excess=0.5), "zoo.factors.pose: the excess interval"),
        (lambda d: d["zoo"]["factors"]["pose"].update(percentile_all=140.0), "percentile_all' is 140.0"),
        (lambda d: d["zoo"]["factors"].pop("style"), "zoo.factors lacks ['style']"),
        (lambda d: d["run"].update(batch_size=-8), "'run.batch_size' is -8"),
    ],
)
def test_damaged_placement_or_run_record_is_refused(written, change, message):
    change(written)
    with pytest.raises(ResultsFileError) as err:
        Results.from_dict(written, source="'results.json'")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_card_of_the_old_run_folder_is_written_and_a_damaged_one_refused(written, tmp_path, capsys):
    run = tmp_path / "tiny-vit-run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(written))
    assert read_run(run).name == "tiny-vit"
    card = tmp_path / "README.md"
    assert main(["card", "--run", str(run), "--model-card", str(card), "--no-chart"]) == 0
    text = card.read_text()
    assert (
        "imagenet-x evaluate --model tiny-vit --adapter transformers --precision fp32 --batch-size 8" in text
    )
    assert "| pose | 1.00 | 0.73–1.00 | 8 | 0.0% |" in text
    # The pose interval turned around (2.00-0.76 around a ratio of 1.21): refused, never printed.
    pose = written["factors"]["pose"]
    pose.update(error_ratio=1.21, error_ratio_low=2.0, error_ratio_high=0.76)
    written["error_ratio"]["pose"] = 1.21
    shutil.rmtree(run)
    run.mkdir()
    (run / "results.json").write_text(json.dumps(written))
    capsys.readouterr()
    assert main(["card", "--run", str(run), "--model-card", str(tmp_path / "other.md")]) == 2
    err = capsys.readouterr().err.strip()
    assert "factors.pose: the interval 2.00-0.76 does not contain the error ratio 1.21" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "other.md").exists()


def test_every_factor_is_typed_in_the_paper_order(written):
    results = Results.from_dict(written)
    assert [f.factor for f in results.factors] == list(FACTORS)
    with pytest.raises(ResultsFileError, match="one FactorResult per factor"):
        results.replace(factors=results.factors[::-1])
