"""End to end: ``imagenet-x evaluate`` writes a run directory, ``card`` and ``compare`` read it.

A tiny random-weight ViT on 37 synthetic images (not a multiple of the batch size 8):
most factors then have no image, which is the case a real card must also survive.
"""

from __future__ import annotations

import json

import pytest
from huggingface_hub import ModelCard

from imagenet_x_hf.cli import main
from imagenet_x_hf.schema import FACTORS

N_IMAGES = 37


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_vit_run):
    root = tmp_path_factory.mktemp("runner")
    return tiny_vit_run(root, layout="val_flat", n=N_IMAGES, size=(48, 40), batch_size=8)


@pytest.mark.slow
def test_card_from_a_real_run(run_dir, capsys, tmp_path):
    results = json.loads((run_dir / "results.json").read_text())
    assert results["images"] == N_IMAGES
    capsys.readouterr()
    card_path = tmp_path / "README.md"
    assert main(["card", "--run", str(run_dir), "--model-card", str(card_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    with_images = [f for f in FACTORS if results["factors"][f]["error_ratio"] is not None]
    assert 0 < len(with_images) < len(FACTORS)
    assert summary["eval_results"] == 1 + len(with_images)
    card = ModelCard.load(card_path)
    ours = {(r.metric_type, r.metric_config): r.metric_value for r in card.data.eval_results}
    assert ours[("accuracy", None)] == results["accuracy"]
    assert {t.removeprefix("error_ratio_") for (t, _) in ours if t.startswith("error_ratio_")} == set(
        with_images
    )
    for factor in with_images:
        assert ours[(f"error_ratio_{factor}", None)] == results["factors"][factor]["error_ratio"]
    text = card_path.read_text()
    # The run's model was a local folder: the card names it, but shows no local path.
    assert "imagenet-x evaluate --model tiny-vit --adapter transformers" in text
    assert "--output tiny-vit-run" in text and str(run_dir.parent) not in text
    assert card.data.model_name == "tiny-vit"
    for factor in set(FACTORS) - set(with_images):
        assert f"| {factor.replace('_', ' ')} | n/a | n/a | 0 | n/a |" in text


@pytest.mark.slow
def test_compare_reads_the_run_predictions(run_dir, real_models, capsys):
    capsys.readouterr()
    assert main(["compare", str(run_dir), str(real_models["ViT"].source), "--baseline", "ViT", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (c,) = report["comparisons"]
    assert c["a"] == "tiny-vit" and c["b"] == "ViT"
    assert c["images"] == N_IMAGES  # paired on the images both cover: the run's
