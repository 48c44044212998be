"""The runner's traps: no wrong numbers from changed images or half-loaded checkpoints, no
finished run lost to a failed overwrite, and resumes that follow only what changes a prediction.

Each run here is a tiny model on a 20-image synthetic source (shards of 8 rows, so a run
has 3 shards and an interrupted one leaves some behind).
"""

from __future__ import annotations

import json
import shutil
import tarfile
import warnings

import pyarrow.parquet as pq
import pytest

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.runner import RunOptions, evaluate_model, faults
from imagenet_x_hf.runner.faults import ENV, InjectedFault

N = 20


def _options(source, **kw):
    base = {
        "imagenet": str(source),
        "allow_missing": True,
        "batch_size": 4,
        "shard_size": 8,
        "num_workers": 0,
        "progress": False,
    }
    return RunOptions(**{**base, **kw})


def _run(model, out, source, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the synthetic source holds N of the annotated images
        return evaluate_model(str(model), out, options=_options(source, **kw))


def _interrupted(model, out, source, monkeypatch, after=1):
    """A run that fails after its ``after``-th shard, as a killed one leaves it."""
    monkeypatch.setattr(faults, "_counts", {})
    monkeypatch.setenv(ENV, f"shard-written:{after}:raise")
    with pytest.raises(InjectedFault):
        _run(model, out, source)
    monkeypatch.delenv(ENV)
    assert not (out / "results.json").exists()


def _predictions(out):
    return pq.read_table(out / "predictions.parquet")


def _source(root, n=N):
    from imagenet_x_hf.testing import make_synthetic_imagenet

    return make_synthetic_imagenet(root, layout="val_flat", n=n, size=(64, 48))


def _replace_images(source, tiny, names):
    """Other pictures under the same file names (what a re-download or a mix-up leaves)."""
    for i, name in enumerate(names):
        (source / name).write_bytes(tiny.textured_jpeg(100 + i, 64, 48))


@pytest.fixture
def vit(model_dirs, tmp_path):
    model = tmp_path / "vit"
    shutil.copytree(model_dirs["vit"], model)
    return model


# -- 1. the images' content, not their names -------------------------------------------------------


@pytest.mark.slow
def test_a_rerun_after_the_images_changed_predicts_them_again(vit, tmp_path, tiny):
    source = _source(tmp_path / "imagenet")
    out = tmp_path / "run"
    _run(vit, out, source)
    names = sorted(p.name for p in source.iterdir())[:3]
    _replace_images(source, tiny, names)
    again = _run(vit, out, source)
    clean = _run(vit, tmp_path / "clean", source)
    assert _predictions(out).equals(_predictions(tmp_path / "clean"))
    changed = again["run"]["dataset"]["images_changed_since_earlier_invocations"]
    assert changed["count"] == 3 and sorted(changed["first"]) == names
    assert again["run"]["dataset"]["content_sha256"] == clean["run"]["dataset"]["content_sha256"]


@pytest.mark.slow
def test_a_resumed_run_does_not_mix_predictions_of_replaced_images(vit, tmp_path, tiny, monkeypatch):
    source = _source(tmp_path / "imagenet")
    out = tmp_path / "run"
    _interrupted(vit, out, source, monkeypatch, after=2)  # 16 of 20 rows predicted
    _replace_images(source, tiny, sorted(p.name for p in source.iterdir())[:5])
    _run(vit, out, source)
    _run(vit, tmp_path / "clean", source)
    assert _predictions(out).equals(_predictions(tmp_path / "clean"))


@pytest.mark.slow
def test_the_same_images_moved_or_packed_in_a_tar_resume(vit, tmp_path, monkeypatch):
    source = _source(tmp_path / "imagenet")
    out = tmp_path / "run"
    _interrupted(vit, out, source, monkeypatch, after=2)
    moved = shutil.move(str(source), str(tmp_path / "elsewhere"))
    results = _run(vit, out, moved)
    assert results["run"]["timing"]["images_resumed_from_earlier_invocations"] == 16
    tar = tmp_path / "ILSVRC2012_img_val.tar"
    with tarfile.open(tar, "w") as archive:
        for path in sorted((tmp_path / "elsewhere").iterdir()):
            archive.add(path, arcname=path.name)
    (out / "results.json").unlink()
    next((out / "shards").glob("shard-000002-*")).unlink()
    results = _run(vit, out, tar)
    assert results["run"]["timing"]["images_resumed_from_earlier_invocations"] == 16
    assert _predictions(out).equals(_predictions(_rerun_clean(vit, tmp_path, moved)))


def _rerun_clean(model, tmp_path, source):
    _run(model, tmp_path / "clean", source)
    return tmp_path / "clean"


# -- 2. every weight of the checkpoint loaded ----------------------------------------------------


def _headless_vit(folder):
    """A ViTModel (no classifier) saved with 1000 labels in its config: the backbone-only
    checkpoints of the Hub (DINOv2, MAE, CLIP vision towers)."""
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    config = ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, num_labels=1000,
    )  # fmt: skip
    ViTModel(config, add_pooling_layer=False).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_a_backbone_without_its_classifier_is_refused(tmp_path):
    model = _headless_vit(tmp_path / "headless")
    source = _source(tmp_path / "imagenet", n=4)
    with pytest.raises(ImageNetXError, match=r"classifier\.weight") as raised:
        _run(model, tmp_path / "run", source)
    assert len(str(raised.value).splitlines()) == 1
    assert "not trained" in str(raised.value) or "random" in str(raised.value)


@pytest.mark.slow
def test_weights_of_another_architecture_are_refused(vit, model_dirs, tmp_path):
    shutil.copy(model_dirs["resnet"] / "model.safetensors", vit / "model.safetensors")
    source = _source(tmp_path / "imagenet", n=4)
    with pytest.raises(ImageNetXError, match=r"does not hold 40 weights .*classifier\.weight") as raised:
        _run(vit, tmp_path / "run", source)
    assert len(str(raised.value).splitlines()) == 1
    assert not (tmp_path / "run" / "results.json").exists()


@pytest.mark.slow
def test_results_record_the_load_report_source_identity_and_command(vit, tmp_path):
    source = _source(tmp_path / "imagenet", n=4)
    run = _run(vit, tmp_path / "run", source)["run"]
    assert run["load_report"] == {
        "missing_keys": [],
        "unexpected_keys": [],
        "mismatched_keys": [],
        "all_weights_loaded": True,
        "checked_by": "transformers loading info",
    }
    assert len(run["dataset"]["content_sha256"]) == 64
    for package in ("numpy", "pyarrow", "huggingface_hub"):
        assert run["versions"][package]
    assert run["cli_args"][:2] == ["--imagenet", str(source)] and run["model"] == str(vit)
    for key in ("model", "options", "fingerprint", "timing", "dataset", "preprocessing", "versions"):
        assert key in run  # the earlier keys stay (other readers use them)


# -- 4, 5. nothing lost ----------------------------------------------------------------------------


@pytest.mark.slow
def test_an_overwrite_whose_weights_fail_to_load_keeps_the_earlier_run(vit, tmp_path):
    source = _source(tmp_path / "imagenet", n=12)
    out = tmp_path / "run"
    _run(vit, out, source)
    before = {p.name: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    data = (vit / "model.safetensors").read_bytes()
    (vit / "model.safetensors").write_bytes(data[: len(data) // 2])  # a truncated download
    with pytest.raises(ImageNetXError, match="weights"):
        _run(vit, out, source, overwrite=True)
    after = {p.name: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before


@pytest.mark.slow
def test_an_overwrite_that_fails_before_its_first_shard_restores_the_earlier_run(vit, tmp_path, monkeypatch):
    source = _source(tmp_path / "imagenet", n=12)
    out = tmp_path / "run"
    _run(vit, out, source)
    before = {p.name: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    monkeypatch.setattr(faults, "_counts", {})
    monkeypatch.setenv(ENV, "shard-tmp-written:1:raise")  # fails while writing its first shard
    with pytest.raises(InjectedFault):
        _run(vit, out, source, overwrite=True, preprocessing="reference")
    monkeypatch.delenv(ENV)
    after = {p.name: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before
    results = _run(vit, out, source, overwrite=True, preprocessing="reference")
    assert results["run"]["timing"]["images_resumed_from_earlier_invocations"] == 0
    assert results["run"]["preprocessing"]["path"] == "reference"


@pytest.mark.slow
def test_a_results_folder_of_an_earlier_release_is_refused_without_overwrite(vit, tmp_path):
    source = _source(tmp_path / "imagenet", n=4)
    out = tmp_path / "old"
    out.mkdir()
    (out / "results.json").write_text('{"error_ratio": {}}')
    (out / "predictions.csv").write_text("file_name,predicted_class,predicted_probability\n")
    with pytest.raises(ImageNetXError, match="--overwrite"):
        _run(vit, out, source)
    assert (out / "results.json").read_text() == '{"error_ratio": {}}'
    _run(vit, out, source, overwrite=True)
    assert json.loads((out / "results.json").read_text())["run"]


# -- 8. resume follows what changes a prediction -------------------------------------------------


@pytest.mark.slow
def test_resume_keys_on_resolved_settings_and_the_weights_not_every_file(vit, tmp_path, monkeypatch):
    source = _source(tmp_path / "imagenet")
    out = tmp_path / "run"
    _interrupted(vit, out, source, monkeypatch, after=1)
    (vit / "README.md").write_text("# a model card added later\n")
    results = _run(vit, out, source, precision="fp32", preprocessing="fast")
    assert results["run"]["timing"]["images_resumed_from_earlier_invocations"] == 8


@pytest.mark.slow
def test_a_folder_whose_only_run_failed_loading_its_weights_takes_the_fixed_model(vit, tmp_path):
    source = _source(tmp_path / "imagenet", n=4)
    out = tmp_path / "run"
    good = (vit / "model.safetensors").read_bytes()
    (vit / "model.safetensors").write_bytes(good[: len(good) // 2])
    with pytest.raises(ImageNetXError, match="weights"):
        _run(vit, out, source)
    (vit / "model.safetensors").write_bytes(good)  # downloaded again
    results = _run(vit, out, source)  # nothing was predicted before: nothing to mix
    assert results["run"]["timing"]["images_predicted_this_invocation"] == 4


def test_weights_beyond_the_model_are_ignored_with_a_warning_and_recorded(vit):
    """Every weight the model uses is in the file, plus one it has no place for (an unused pooler)."""
    import torch
    from safetensors.torch import load_file, save_file

    from imagenet_x_hf.runner import model_spec

    weights = load_file(vit / "model.safetensors")
    weights["vit.pooler.dense.weight"] = torch.zeros(32, 32)
    save_file(weights, vit / "model.safetensors", metadata={"format": "pt"})
    with pytest.warns(
        UserWarning, match=r"holds 1 weights the model does not use \(vit\.pooler\.dense\.weight\)"
    ):
        loaded = model_spec(str(vit)).load_weights()
    assert loaded.report.to_dict()["unexpected_keys"] == ["vit.pooler.dense.weight"]
    assert loaded.report.all_weights_loaded
