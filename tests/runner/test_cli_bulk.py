"""The command line: help, one model with --json, bulk mode where one failure does not stop the rest."""

from __future__ import annotations

import json

import pytest

from imagenet_x_hf.cli import main
from imagenet_x_hf.runner import RunOptions
from imagenet_x_hf.runner.bulk import evaluate_models


def test_help_has_argument_groups(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for group in ("model:", "data:", "output:", "speed and numerics:", "scoring (results.json):"):
        assert group in text
    assert "--trust-remote-code" in text and "--label-map" in text and "--models-file" in text


@pytest.mark.slow
def test_single_model_json(model_dirs, imagenet_source, tmp_path, capsys):
    code = main(
        ["evaluate", "--model", str(model_dirs["timm"]), "--imagenet", str(imagenet_source), "--allow-missing",
         "--output", str(tmp_path / "out"), "--batch-size", "10", "--workers", "0", "--no-progress", "--json"]
    )  # fmt: skip
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((tmp_path / "out" / "results.json").read_text())
    assert printed["run"]["adapter"] == "timm" and printed["coverage"]["predictions"] == 75
    assert printed["error_type"] == "class" and printed["empty_real"] == "error"

    # the same run scored under the ReaL protocol: the predictions are reused, the results follow the options
    code = main(
        ["evaluate", "--model", str(model_dirs["timm"]), "--imagenet", str(imagenet_source), "--allow-missing",
         "--output", str(tmp_path / "out"), "--batch-size", "10", "--workers", "0", "--no-progress", "--json",
         "--error-type", "real_class", "--empty-real", "exclude"]
    )  # fmt: skip
    assert code == 0
    real = json.loads(capsys.readouterr().out)
    assert real["error_type"] == "real_class" and real["empty_real"] == "exclude"
    assert real["coverage"]["used"] == real["images"] == 75 - real["coverage"]["real_empty_excluded"] < 75


def test_bad_model_is_a_clear_error(tmp_path, imagenet_source, capsys):
    code = main(["evaluate", "--model", str(tmp_path / "nope"), "--imagenet", str(imagenet_source),
                 "--output", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_bulk_records_a_failure_and_goes_on(model_dirs, dataset, tmp_path, tiny):
    broken = tiny.write_config_only(tmp_path / "ten", num_labels=10)
    models = [str(model_dirs["vit"]), str(broken), str(model_dirs["resnet1001"])]
    options = RunOptions(batch_size=16, num_workers=0, progress=False)
    summary = evaluate_models(models, tmp_path / "bulk", options=options, dataset=dataset.select(range(20)))
    assert [m["status"] for m in summary["models"]] == ["ok", "failed", "ok"]
    assert "LabelSpaceError" in summary["models"][1]["error"]
    assert summary["failed"] == 1
    assert json.loads((tmp_path / "bulk" / "summary.json").read_text()) == json.loads(json.dumps(summary))
    for folder in ("vit", "resnet1001"):
        assert (tmp_path / "bulk" / folder / "results.json").is_file()


@pytest.mark.slow
def test_models_file_via_cli(model_dirs, imagenet_source, tmp_path, capsys):
    listing = tmp_path / "models.txt"
    listing.write_text(f"# two models\n{model_dirs['vit']}\n\n{tmp_path / 'missing-model'}  # not there\n")
    code = main(["evaluate", "--models-file", str(listing), "--imagenet", str(imagenet_source), "--allow-missing",
                 "--output", str(tmp_path / "bulk"), "--workers", "0", "--no-progress"])  # fmt: skip
    assert code == 1  # one model failed
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("ok ") and out.splitlines()[1].startswith("failed")


def test_rebuild_reaches_the_dataset_loader(monkeypatch):
    """--rebuild is passed to imagenet_x_hf.load as rebuild=True (and only when given)."""
    import imagenet_x_hf
    from imagenet_x_hf.cli import build_parser
    from imagenet_x_hf.commands.evaluate import run_options
    from imagenet_x_hf.runner.context import load_dataset_for

    calls = []

    def load(
        split, imagenet=None, filter_prototypes=True, *, source_kind=None, allow_missing=False, rebuild=False
    ):
        calls.append(
            {"split": split, "imagenet": imagenet, "rebuild": rebuild, "allow_missing": allow_missing}
        )
        return "dataset"

    monkeypatch.setattr(imagenet_x_hf, "load", load)
    parser = build_parser()
    for extra, expected in (([], False), (["--rebuild"], True)):
        args = parser.parse_args(["evaluate", "--model", "m", "--imagenet", "src", "--output", "o", *extra])
        options = run_options(args)
        assert options.rebuild is expected
        assert load_dataset_for(options) == "dataset"
        assert calls[-1] == {
            "split": "validation",
            "imagenet": "src",
            "rebuild": expected,
            "allow_missing": False,
        }
