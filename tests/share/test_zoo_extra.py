"""rank --zoo-extra: your own models join the reference, sweeps as one family, never a model's own reference."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from imagenet_x_hf.cli import main
from imagenet_x_hf.metrics import Predictions, read_predictions, score_predictions
from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.share import export_predictions, extra_models

from .conftest import PREDICTIONS_DIR, ZOO_DIR


@pytest.fixture(scope="module")
def own_models(tmp_path_factory):
    """Three models of one's own: two runs of a sweep (one family) and a single model."""
    base = read_predictions(PREDICTIONS_DIR / "ViT.csv")
    rng = np.random.default_rng(0)
    runs = []
    for i in range(3):
        classes = base.predicted_class.copy()
        moved = rng.random(len(classes)) < 0.05 * (i + 1)
        classes[moved] = rng.integers(0, 1000, int(moved.sum()))
        runs.append(Predictions.from_arrays(base.file_names, classes, name=f"mine-{i}"))
    folder = tmp_path_factory.mktemp("own") / "repo"
    export_predictions(runs[:2], folder, family="my-sweep", model_type="Supervised on ImageNet-1K")
    export_predictions(runs[2:], folder)
    return folder


@pytest.fixture(scope="module")
def zoo():
    from imagenet_x_hf.zoo import load_zoo

    return load_zoo(ZOO_DIR)


def test_added_models_join_as_families(own_models, zoo):
    from imagenet_x_hf.zoo import place

    extra = extra_models(own_models)
    assert extra.family.tolist() == ["extra:my-sweep", "extra:my-sweep", "extra:mine-2"]
    assert extra.model_type.tolist()[:2] == ["Supervised on ImageNet-1K"] * 2
    results = score_predictions(read_predictions(PREDICTIONS_DIR / "SimCLR.csv"))
    alone = place(results, zoo=zoo)
    joined = place(results, zoo=zoo, extra=extra)
    assert joined["reference"]["models"] == alone["reference"]["models"] + 3
    assert joined["reference"]["families"] == alone["reference"]["families"] + 2  # the sweep counts once
    assert joined["reference"]["added_models"] == 3
    # the sentence counts them as the families they weigh as, not as 3 separate models
    assert "3 of your models counted as 2 families" in joined["reference"]["description"]
    others = re.compile(r"([\d,]+) other models?")
    assert others.findall(joined["reference"]["description"]) == others.findall(
        alone["reference"]["description"]
    )
    # the added models move the reference: the same model gets other percentiles
    assert any(
        joined["factors"][f]["percentile_all"] != alone["factors"][f]["percentile_all"] for f in FACTORS
    )


def test_a_model_is_never_its_own_reference(own_models, zoo):
    from imagenet_x_hf.zoo import place

    extra = extra_models(own_models)
    repo_results = score_predictions(
        read_predictions(own_models / "predictions" / "mine-0.parquet", name="mine-0")
    )
    placed = place(repo_results, zoo=zoo, extra=extra)
    assert placed["reference"]["added_models"] == 1  # its sweep (itself and mine-1) is left out
    assert "extra:my-sweep" in placed["notes"][0]
    renamed = repo_results.replace(model="renamed")  # the same numbers under another name
    assert place(renamed, zoo=zoo, extra=extra)["reference"]["added_models"] == 1
    single = score_predictions(read_predictions(own_models / "predictions" / "mine-2.parquet")).replace(
        model="mine-2"
    )
    assert place(single, zoo=zoo, extra=extra)["reference"]["added_models"] == 2


def test_rank_command_with_zoo_extra(own_models, capsys):
    argv = ["rank", str(PREDICTIONS_DIR / "ViT.csv"), str(own_models / "mine-2"), "--zoo-dir", str(ZOO_DIR)]
    assert main([*argv, "--zoo-extra", str(own_models), "--json"]) == 0
    placements = json.loads(capsys.readouterr().out)["models"]
    assert [p["model"] for p in placements] == ["ViT", "mine-2"]
    assert [p["reference"]["added_models"] for p in placements] == [3, 2]
    assert placements[0]["reference"]["name"] == "all + 3 added models"
    assert main([*argv, "--zoo-extra", str(own_models)]) == 0
    assert "all + 2 added models" in capsys.readouterr().out


def test_a_typed_reference_takes_the_added_models_of_its_type(own_models, zoo):
    from imagenet_x_hf.zoo import place

    extra = extra_models(own_models)
    results = score_predictions(read_predictions(PREDICTIONS_DIR / "SimCLR.csv"))
    typed = place(results, zoo=zoo, extra=extra, reference="type:supervised-on-imagenet-1k")
    assert typed["reference"]["added_models"] == 2  # the typed sweep, not the untyped model
    assert set(typed["reference"]["types"]) == {"Supervised on ImageNet-1K"}
    alone = place(results, zoo=zoo, reference="type:supervised-on-imagenet-1k")
    assert typed["reference"]["models"] == alone["reference"]["models"] + 2
