"""Two processes (torchrun, gloo on CPU) predict every image exactly once, identical to one process."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from imagenet_x_hf.runner import RunOptions, evaluate_model


@pytest.mark.slow
def test_two_processes_equal_one(
    model_dirs, imagenet_source, dataset, tmp_path, one_thread, cli_command, subprocess_env
):
    model = model_dirs["vit"]
    # 75 rows, shards of 16, batches of 8: neither divides the row count
    evaluate_model(
        str(model),
        tmp_path / "one",
        options=RunOptions(batch_size=8, shard_size=16, num_workers=1, progress=False),
        dataset=dataset,
    )
    command = cli_command(model, imagenet_source, tmp_path / "two", "--json")
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m"]
    done = subprocess.run(launcher + command[2:], env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    assert results["run"]["num_processes"] == 2
    assert results["run"]["timing"]["images_predicted_this_invocation"] == len(dataset)
    two = pq.read_table(tmp_path / "two" / "predictions.parquet")
    assert two.column("file_name").to_pylist() == dataset["file_name"]
    assert two.equals(pq.read_table(tmp_path / "one" / "predictions.parquet"))


@pytest.mark.slow
def test_an_error_in_one_process_stops_both(
    model_dirs, imagenet_source, tmp_path, cli_command, subprocess_env
):
    from imagenet_x_hf.runner.faults import ENV

    # rank 0 predicts shards 0, 2, 4 and fails after its third; rank 1 (shards 1, 3) finishes first
    command = cli_command(model_dirs["vit"], imagenet_source, tmp_path / "two")
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m"]
    env = subprocess_env(**{ENV: "shard-written:3:raise"})
    done = subprocess.run(launcher + command[2:], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode != 0
    assert "injected fault at shard-written #3" in done.stderr
    assert "another process failed while predicting" in done.stderr
    assert not (tmp_path / "two" / "results.json").exists()
