"""Sweeps: per model exactly what ``evaluate`` writes (byte for byte, same fingerprint), one decode per
preprocessing group, failures recorded while the others finish, and kill -9 then resume."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from imagenet_x_hf.reports.leaderboard import write_sweep_leaderboard
from imagenet_x_hf.runner import RunOptions, evaluate_model, faults
from imagenet_x_hf.runner.faults import ENV
from imagenet_x_hf.runner.sweep import sweep_models

# vit and vit-b share their preprocessing (32x32 resize); resnet and timm each have their own
MODELS = ("vit", "vit-b", "resnet", "timm")


def _options(source, **kw) -> RunOptions:
    base = {"batch_size": 8, "shard_size": 16, "num_workers": 0, "progress": False}
    return RunOptions(imagenet=str(source), allow_missing=True, **{**base, **kw})


@pytest.fixture(scope="module")
def models(model_dirs, tmp_path_factory):
    """The tiny models under the names the sweep's folders take; vit-b: a ViT with other weights."""
    import torch
    from transformers import ViTForImageClassification

    root = tmp_path_factory.mktemp("sweep-models")
    out = {}
    for name in ("vit", "resnet", "timm"):
        out[name] = shutil.copytree(model_dirs[name], root / name)
    out["vit-b"] = shutil.copytree(model_dirs["vit"], root / "vit-b")
    torch.manual_seed(11)
    config = ViTForImageClassification.config_class.from_pretrained(out["vit-b"])
    ViTForImageClassification(config).save_pretrained(out["vit-b"])
    return out


@pytest.fixture(scope="module")
def singles(models, dataset, imagenet_source, tmp_path_factory):
    """Each model evaluated on its own with ``evaluate_model``: the reference a sweep must equal."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("singles")
    try:
        return {
            name: evaluate_model(
                str(models[name]), root / name, options=_options(imagenet_source), dataset=dataset
            )
            | {"folder": root / name}
            for name in MODELS
        }
    finally:
        torch.set_num_threads(before)


def _assert_same_as_single(folder, single) -> dict:
    for name in ("predictions.parquet", "predictions.csv"):
        assert (folder / name).read_bytes() == (single["folder"] / name).read_bytes(), name
    results = json.loads((folder / "results.json").read_text())
    assert results["run"]["fingerprint"] == single["run"]["fingerprint"]
    assert json.loads((folder / "run.json").read_text()) == json.loads(
        (single["folder"] / "run.json").read_text()
    )
    assert results["error_ratio"] == single["error_ratio"]
    return results


@pytest.mark.slow
def test_sweep_equals_single_runs_and_decodes_once_per_group(
    models, singles, dataset, imagenet_source, tmp_path, one_thread, monkeypatch
):
    from imagenet_x_hf.runner import data

    decoded = []
    getitem = data.ImageRows.__getitem__
    monkeypatch.setattr(
        data.ImageRows, "__getitem__", lambda self, idx: decoded.append(len(idx)) or getitem(self, idx)
    )
    summary = sweep_models(
        [str(models[n]) for n in MODELS], tmp_path, options=_options(imagenet_source), dataset=dataset
    )
    assert [m["status"] for m in summary["models"]] == ["ok"] * 4 and summary["failed"] == 0
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    groups = [m["group"] for m in summary["models"]]
    assert groups[0] == groups[1] and len(set(groups)) == 3 == summary["groups"]
    # three groups, each image decoded once per group: 3 x 75, where four runs decode 4 x 75
    assert sum(decoded) == 3 * len(dataset)
    for name in MODELS:
        results = _assert_same_as_single(tmp_path / name, singles[name])
        assert results["run"]["timing"]["images_predicted_this_invocation"] == len(dataset)
    shared = json.loads((tmp_path / "vit-b" / "results.json").read_text())["run"]["sweep"]
    assert len(shared["decoded_once_for"]) == 2 and shared["round"] == 0


@pytest.mark.slow
def test_failures_are_recorded_and_the_others_finish_then_resume(
    models, singles, dataset, imagenet_source, tmp_path, one_thread, monkeypatch
):
    # weights cut short: the config and label space read fine, loading the weights fails
    no_weights = shutil.copytree(models["vit"], tmp_path / "models" / "truncated")
    weights = no_weights / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    listed = [str(models["vit"]), str(no_weights), str(models["resnet"]), str(models["timm"])]
    out = tmp_path / "sweep"
    # resnet raises at its 5th batch: after its shards 0 and 1 (2 batches of 8 each), inside shard 2
    monkeypatch.setattr(faults, "_counts", {})
    monkeypatch.setenv(ENV, "predict-resnet:5:raise")
    summary = sweep_models(listed, out, options=_options(imagenet_source), dataset=dataset)
    monkeypatch.delenv(ENV)
    assert not (out / "leaderboard.csv").exists()  # the runner writes runs; the leaderboard is a report
    summary = write_sweep_leaderboard(out, summary)
    assert json.loads((out / "summary.json").read_text()) == summary
    status = {m["model"]: m for m in summary["models"]}
    assert [m["status"] for m in summary["models"]] == ["ok", "failed", "failed", "ok"]
    assert status[str(no_weights)]["stage"] == "loading the weights"
    assert status[str(models["resnet"])]["stage"] == "predicting"
    assert "injected fault at predict-resnet #5" in status[str(models["resnet"])]["error"]
    assert summary["failed"] == 2
    for name in ("vit", "timm"):
        _assert_same_as_single(out / name, singles[name])
    assert len(list((out / "resnet" / "shards").glob("shard-*"))) == 2
    assert not (out / "resnet" / "results.json").exists()
    # the leaderboard: the finished models by accuracy, their numbers from results.json, the failed ones last
    board = list(csv.DictReader((out / "leaderboard.csv").open()))
    ok = sorted(("vit", "timm"), key=lambda n: -singles[n]["accuracy"])
    assert [Path(r["output"]).name for r in board] == [*ok, "truncated", "resnet"]
    assert [r["status"] for r in board] == ["ok", "ok", "failed", "failed"]
    assert float(board[0]["pose_error_ratio"]) == pytest.approx(
        singles[ok[0]]["error_ratio"]["pose"], abs=1e-6
    )
    assert board[3]["error"].startswith("predicting: ") and "InjectedFault" in board[3]["error"]
    assert summary["leaderboard"]["html"] == str(out / "leaderboard.html")

    # the same sweep again, without the weightless model: resnet resumes after its two shards
    again = sweep_models(
        [m for m in listed if m != str(no_weights)], out, options=_options(imagenet_source), dataset=dataset
    )
    assert [m["status"] for m in again["models"]] == ["ok"] * 3
    resnet = _assert_same_as_single(out / "resnet", singles["resnet"])
    assert resnet["run"]["timing"]["images_resumed_from_earlier_invocations"] == 32
    assert resnet["run"]["timing"]["invocations"] == 2
    vit = json.loads((out / "vit" / "results.json").read_text())
    assert vit["run"]["timing"]["images_predicted_this_invocation"] == 0


@pytest.mark.slow
def test_memory_budget_splits_a_group_into_rounds(
    models, singles, dataset, imagenet_source, tmp_path, one_thread
):
    listed = [str(models["vit"]), str(models["vit-b"])]
    summary = sweep_models(
        listed, tmp_path, options=_options(imagenet_source), dataset=dataset, memory_budget=1
    )
    assert [m["status"] for m in summary["models"]] == ["ok", "ok"]
    rounds = [
        json.loads((tmp_path / n / "results.json").read_text())["run"]["sweep"]["round"]
        for n in ("vit", "vit-b")
    ]
    assert rounds == [0, 1]
    for name in ("vit", "vit-b"):
        _assert_same_as_single(tmp_path / name, singles[name])


def _sweep_command(models, source, out, *extra):
    return [
        sys.executable, "-m", "imagenet_x_hf", "sweep", *(a for m in models for a in ("--model", str(m))),
        "--imagenet", str(source), "--allow-missing", "--output", str(out), "--batch-size", "8",
        "--shard-size", "16", "--workers", "0", "--no-progress", *extra,
    ]  # fmt: skip


@pytest.mark.slow
def test_killed_sweep_resumes_per_model(models, singles, imagenet_source, tmp_path, subprocess_env):
    from imagenet_x_hf.cli import main

    listed = [models[n] for n in MODELS]
    out = tmp_path / "sweep"
    # killed at the 7th shard written: vit and vit-b (one group) have 3 shards each, the rest none
    done = subprocess.run(
        _sweep_command(listed, imagenet_source, out), env=subprocess_env(**{ENV: "shard-written:7"}),
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    shards = {n: len(list((out / n / "shards").glob("shard-*"))) for n in MODELS}
    assert shards["vit"] + shards["vit-b"] == 7 and shards["resnet"] == shards["timm"] == 0
    assert not any((out / n / "results.json").exists() for n in MODELS)

    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        argv = _sweep_command(listed, imagenet_source, out, "--json")[3:]
        assert main(argv) == 0
    finally:
        torch.set_num_threads(before)
    for name in MODELS:
        results = _assert_same_as_single(out / name, singles[name])
        timing = results["run"]["timing"]
        assert timing["images_resumed_from_earlier_invocations"] == min(shards[name] * 16, 75)


@pytest.mark.slow
def test_two_processes_equal_single_runs(models, singles, imagenet_source, tmp_path, subprocess_env):
    listed = [models[n] for n in MODELS]
    command = _sweep_command(listed, imagenet_source, tmp_path, "--json")
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m"]
    done = subprocess.run(launcher + command[2:], env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert [m["status"] for m in summary["models"]] == ["ok"] * 4
    for name in MODELS:
        results = _assert_same_as_single(tmp_path / name, singles[name])
        assert results["run"]["num_processes"] == 2
        assert results["run"]["timing"]["images_predicted_this_invocation"] == 75


def test_command_line_errors_are_one_line(tmp_path, imagenet_source, capsys):
    from imagenet_x_hf.cli import main

    where = ["--imagenet", str(imagenet_source), "--output", str(tmp_path)]
    assert main(["sweep", *where]) == 2
    assert "no model given" in capsys.readouterr().err
    listing = tmp_path / "models.txt"
    listing.write_text("x/vit\nx/vit  # listed twice\n")
    for argv in (["--model", "a/vit", "--model", "a__vit"], ["--models-file", str(listing)]):
        assert main(["sweep", *argv, *where]) == 2
        err = capsys.readouterr().err
        assert "share the output folder" in err and len(err.strip().splitlines()) == 1
    assert main(["sweep", "--model", "x/y", "--memory-budget", "0", *where]) == 2
    assert "--memory-budget must be a positive" in capsys.readouterr().err


@pytest.mark.slow
def test_a_model_failing_on_one_process_fails_on_both(
    models, singles, imagenet_source, tmp_path, subprocess_env
):
    listed = [models[n] for n in ("vit", "resnet", "timm")]
    command = _sweep_command(listed, imagenet_source, tmp_path, "--json")
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m"]
    # the second process (shards 1 and 3) raises at its 3rd resnet batch; the first goes on
    env = subprocess_env(**{ENV: "predict-resnet-process1:3:raise"})
    done = subprocess.run(launcher + command[2:], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert [m["status"] for m in summary["models"]] == ["ok", "failed", "ok"]
    resnet = summary["models"][1]
    assert resnet["stage"] == "predicting"
    assert resnet["error"].startswith(
        "on process 1: InjectedFault: injected fault at predict-resnet-process1 #3"
    )
    for name in ("vit", "timm"):
        _assert_same_as_single(tmp_path / name, singles[name])
    # the first process's resnet shards (0, 2, 4) and the second's first one (1) are kept for a resume
    assert len(list((tmp_path / "resnet" / "shards").glob("shard-*"))) == 4
    assert not (tmp_path / "resnet" / "results.json").exists()
