"""kill -9 at any point, then the same command again: exactly the output of an uninterrupted run."""

from __future__ import annotations

import signal
import subprocess

import pyarrow.parquet as pq
import pytest

from conftest import cli_command, subprocess_env
from imagenet_x_hf.runner import RunOptions, RunStateError, evaluate_model
from imagenet_x_hf.runner.faults import ENV


def _options(**kw):
    return RunOptions(batch_size=8, shard_size=16, num_workers=1, progress=False, **kw)


def _shards(out):
    return sorted(p.name for p in (out / "shards").iterdir() if not p.name.startswith("."))


@pytest.mark.slow
def test_killed_twice_then_resumed_equals_uninterrupted(
    model_dirs, imagenet_source, dataset, tmp_path, one_thread
):
    model = model_dirs["resnet"]
    evaluate_model(str(model), tmp_path / "clean", options=_options(), dataset=dataset)
    expected = pq.read_table(tmp_path / "clean" / "predictions.parquet")

    out = tmp_path / "run"
    command = cli_command(model, imagenet_source, out)
    # 1: killed while the second shard's temporary file is on disk, before its rename
    first = subprocess.run(command, env=subprocess_env(**{ENV: "shard-tmp-written:2"}), capture_output=True)
    assert first.returncode == -signal.SIGKILL, first.stderr.decode()[-2000:]
    assert _shards(out) == ["shard-000000-of-000005.parquet"]
    assert list((out / "shards").glob(".*.tmp-*")), "the half-written shard should be left behind"
    assert not (out / "results.json").exists()

    # 2: killed after all shards and predictions.parquet, before results.json
    second = subprocess.run(command, env=subprocess_env(**{ENV: "outputs-written:1"}), capture_output=True)
    assert second.returncode == -signal.SIGKILL, second.stderr.decode()[-2000:]
    assert len(_shards(out)) == 5 and not list((out / "shards").glob(".*.tmp-*"))
    assert not (out / "results.json").exists()

    # 3: started again (here in-process, same settings) it completes without predicting anything twice
    results = evaluate_model(
        str(model), out, options=_options(imagenet=str(imagenet_source), allow_missing=True)
    )
    assert results["run"]["timing"]["images_predicted_this_invocation"] == 0
    assert results["run"]["timing"]["images_resumed_from_earlier_invocations"] == len(dataset)
    assert pq.read_table(out / "predictions.parquet").equals(expected)
    assert (out / "predictions.csv").read_bytes() == (tmp_path / "clean" / "predictions.csv").read_bytes()


def test_resume_predicts_only_missing_shards(model_dirs, dataset, tmp_path):
    out = tmp_path / "run"
    evaluate_model(str(model_dirs["vit"]), out, options=_options(), dataset=dataset)
    clean = pq.read_table(out / "predictions.parquet")
    for k in (1, 4):
        next((out / "shards").glob(f"shard-00000{k}-*")).unlink()
    (out / "results.json").unlink()
    results = evaluate_model(str(model_dirs["vit"]), out, options=_options(), dataset=dataset)
    assert (
        results["run"]["timing"]["images_predicted_this_invocation"] == 16 + 11
    )  # shard 1 and the short last one
    assert pq.read_table(out / "predictions.parquet").equals(clean)


def test_other_settings_refuse_to_resume_until_overwrite(model_dirs, dataset, tmp_path):
    out = tmp_path / "run"
    evaluate_model(str(model_dirs["vit"]), out, options=_options(), dataset=dataset)
    with pytest.raises(RunStateError, match=r"changed: .*preprocessing.*--overwrite"):
        evaluate_model(
            str(model_dirs["vit"]), out, options=_options(preprocessing="reference"), dataset=dataset
        )
    with pytest.raises(RunStateError, match="changed: .*model"):
        evaluate_model(str(model_dirs["resnet"]), out, options=_options(), dataset=dataset)
    results = evaluate_model(
        str(model_dirs["vit"]),
        out,
        options=_options(preprocessing="reference", overwrite=True),
        dataset=dataset,
    )
    assert results["run"]["timing"]["images_resumed_from_earlier_invocations"] == 0
    assert results["run"]["preprocessing"]["path"] == "reference"
