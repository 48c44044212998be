"""kill -9 at any point, then the same command again: exactly the output of an uninterrupted run;
and a run whose model, label map or processor changed in between is refused, never mixed."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess

import pyarrow.parquet as pq
import pytest

from imagenet_x_hf.runner import LoadOptions, RunOptions, RunStateError, evaluate_model, faults
from imagenet_x_hf.runner.faults import ENV, InjectedFault


def _options(**kw):
    return RunOptions(**{"batch_size": 8, "shard_size": 16, "num_workers": 1, "progress": False, **kw})


def _shards(out):
    return sorted(p.name for p in (out / "shards").iterdir() if not p.name.startswith("."))


@pytest.mark.slow
def test_killed_twice_then_resumed_equals_uninterrupted(
    model_dirs, imagenet_source, dataset, tmp_path, one_thread, cli_command, subprocess_env
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_other_settings_refuse_to_resume_until_overwrite(model_dirs, dataset, tmp_path):
    out = tmp_path / "run"
    evaluate_model(str(model_dirs["vit"]), out, options=_options(), dataset=dataset)
    with pytest.raises(RunStateError, match=r"changed since: .*preprocessing.*--overwrite"):
        evaluate_model(
            str(model_dirs["vit"]), out, options=_options(preprocessing="reference"), dataset=dataset
        )
    with pytest.raises(RunStateError, match="changed since: .*model"):
        evaluate_model(str(model_dirs["resnet"]), out, options=_options(), dataset=dataset)
    results = evaluate_model(
        str(model_dirs["vit"]),
        out,
        options=_options(preprocessing="reference", overwrite=True),
        dataset=dataset,
    )
    assert results["run"]["timing"]["images_resumed_from_earlier_invocations"] == 0
    assert results["run"]["preprocessing"]["path"] == "reference"


# -- the resume fingerprint ---------------------------------------------------------------------


def _interrupted(model, out, dataset, monkeypatch, **kw):
    """A run that fails after its second shard (as a killed one would leave it: 2 of 5 shards)."""
    monkeypatch.setattr(faults, "_counts", {})
    monkeypatch.setenv(ENV, "shard-written:2:raise")
    with pytest.raises(InjectedFault):  # no worker processes: a failing loader's would take 5 s to stop
        evaluate_model(str(model), out, options=_options(num_workers=0, **kw), dataset=dataset)
    monkeypatch.delenv(ENV)
    assert len(_shards(out)) == 2 and not (out / "results.json").exists()


def _resave_weights(folder, tiny, seed):
    """New random weights written over the old ones, in place (same file name, same config)."""
    import torch
    from transformers import ViTForImageClassification

    torch.manual_seed(seed)
    config = json.loads((folder / "config.json").read_text())
    model = ViTForImageClassification(ViTForImageClassification.config_class(**config))
    model.save_pretrained(folder)


@pytest.mark.slow
def test_weights_overwritten_in_place_between_kill_and_restart(tiny, dataset, tmp_path, monkeypatch):
    model = tiny.build_vit(tmp_path / "vit")
    out = tmp_path / "run"
    _interrupted(model, out, dataset, monkeypatch)
    _resave_weights(model, tiny, seed=7)
    with pytest.raises(
        RunStateError, match=r"changed since: .*model_files_sha256\.model\.safetensors.*--overwrite"
    ):
        evaluate_model(str(model), out, options=_options(), dataset=dataset)
    assert len(_shards(out)) == 2  # nothing of the new weights was mixed in
    results = evaluate_model(str(model), out, options=_options(overwrite=True), dataset=dataset)
    clean = evaluate_model(str(model), tmp_path / "clean", options=_options(), dataset=dataset)
    assert pq.read_table(out / "predictions.parquet").equals(
        pq.read_table(tmp_path / "clean" / "predictions.parquet")
    )
    assert results["run"]["fingerprint"] == clean["run"]["fingerprint"]


def test_finished_run_with_new_weights_does_not_return_old_results(tiny, dataset, tmp_path):
    model = tiny.build_vit(tmp_path / "vit")
    out = tmp_path / "run"
    dataset = dataset.select(range(20))
    first = evaluate_model(str(model), out, options=_options(), dataset=dataset)
    _resave_weights(model, tiny, seed=8)
    with pytest.raises(RunStateError, match="model_files_sha256"):
        evaluate_model(str(model), out, options=_options(), dataset=dataset)
    second = evaluate_model(str(model), out, options=_options(overwrite=True), dataset=dataset)
    assert second["run"]["model_files_sha256"] != first["run"]["model_files_sha256"]
    assert second["run"]["timing"]["images_predicted_this_invocation"] == len(dataset)


def test_label_map_contents_changed(model_dirs, dataset, tmp_path, monkeypatch):
    label_map = tmp_path / "map.json"
    label_map.write_text(json.dumps({str(i): i for i in range(1000)}))
    out = tmp_path / "run"
    _interrupted(model_dirs["vit"], out, dataset, monkeypatch, load=LoadOptions(label_map=str(label_map)))
    label_map.write_text(json.dumps({str(i): 999 - i for i in range(1000)}))  # same file, other content
    with pytest.raises(RunStateError, match=r"changed since: .*label_map.*--overwrite"):
        evaluate_model(
            str(model_dirs["vit"]),
            out,
            options=_options(load=LoadOptions(label_map=str(label_map))),
            dataset=dataset,
        )
    assert len(_shards(out)) == 2


@pytest.mark.slow
def test_processor_config_changed(tiny, dataset, tmp_path):
    model = tiny.build_vit(tmp_path / "vit")
    out = tmp_path / "run"
    evaluate_model(str(model), out, options=_options(), dataset=dataset)
    config = json.loads((model / "preprocessor_config.json").read_text())
    config["resample"] = 3  # bicubic instead of bilinear
    (model / "preprocessor_config.json").write_text(json.dumps(config))
    with pytest.raises(RunStateError, match=r"preprocessor_config\.json"):
        evaluate_model(str(model), out, options=_options(), dataset=dataset)


def test_timing_adds_up_over_resumed_invocations(model_dirs, dataset, tmp_path, monkeypatch):
    out = tmp_path / "run"
    _interrupted(model_dirs["vit"], out, dataset, monkeypatch)
    results = evaluate_model(str(model_dirs["vit"]), out, options=_options(), dataset=dataset)
    timing = results["run"]["timing"]
    assert timing["invocations"] == 2
    assert timing["images_resumed_from_earlier_invocations"] == 32
    assert timing["images_predicted_this_invocation"] == len(dataset) - 32
    assert timing["predict_seconds"] > timing["this_invocation"]["predict_seconds"] > 0
    books = json.loads((out / "invocations.json").read_text())
    assert [b["rows_done_at_end"] - b["rows_done_at_start"] for b in books] == [32, len(dataset) - 32]


def test_results_record_the_resolved_settings(model_dirs, dataset, tmp_path):
    from imagenet_x_hf.runner import RunOptions

    label_map = tmp_path / "map.json"
    label_map.write_text(json.dumps({str(i): i for i in range(1000)}))
    options = _options(load=LoadOptions(label_map=str(label_map)), channels_last=False)
    results = evaluate_model(str(model_dirs["vit"]), tmp_path / "run", options=options, dataset=dataset)
    run = results["run"]
    assert RunOptions(**{**run["options"], "load": LoadOptions(**run["options"]["load"]),
                         "scoring": options.scoring}) == options  # fmt: skip
    assert run["options"]["allow_missing"] is False and run["options"]["load"]["allow_pickle"] is False
    assert run["preprocessing"]["asked"] == "auto" and run["preprocessing"]["path"] == "fast"
    assert run["preprocessing"]["jpeg_draft_used"] is False
    assert run["num_workers"] == 1 and run["channels_last"] is False
    assert run["label_map"]["entries"] == 1000 and run["label_map"]["file"] == str(label_map)
    assert set(run["model_files_sha256"]) >= {"config.json", "model.safetensors", "preprocessor_config.json"}
    assert run["dataset"]["left_out_of_source"]["missing"] > 0  # the synthetic source holds 75 images
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["fingerprint"] == run["fingerprint"]
    shutil.rmtree(tmp_path / "run")
