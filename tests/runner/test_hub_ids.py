"""Hub ids resolve like local directories (here from a pre-filled Hub cache, offline)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imagenet_x_hf.runner import RunOptions, evaluate_model, model_spec

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _into_hub_cache(folder, repo_id):
    from huggingface_hub import constants

    repo = Path(constants.HF_HUB_CACHE) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / COMMIT
    if snapshot.exists():
        shutil.rmtree(repo)
    shutil.copytree(folder, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)


@pytest.mark.parametrize(
    "name,repo_id,adapter",
    [
        ("vit", "tiny-org/vit", "transformers"),
        pytest.param("timm", "timm/tiny-resnet10t", "timm", marks=pytest.mark.slow),
    ],
)
def test_hub_id_from_cache(model_dirs, dataset, tmp_path, name, repo_id, adapter):
    _into_hub_cache(model_dirs[name], repo_id)
    spec = model_spec(repo_id)
    assert (spec.adapter, spec.commit, spec.model) == (adapter, COMMIT, repo_id)
    subset = dataset.select(range(12))
    options = RunOptions(batch_size=5, num_workers=0, progress=False)
    from_hub = evaluate_model(repo_id, tmp_path / "hub", options=options, dataset=subset)
    local = evaluate_model(str(model_dirs[name]), tmp_path / "local", options=options, dataset=subset)
    assert from_hub["run"]["commit"] == COMMIT and local["run"]["commit"] is None
    assert (tmp_path / "hub" / "predictions.csv").read_bytes() == (
        tmp_path / "local" / "predictions.csv"
    ).read_bytes()
