"""Shared inputs of the zoo tests: the authors' tables in ../shared/data/zoo, read once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ZOO_DIR = REPO_ROOT.parent / "shared" / "data" / "zoo"
PREDICTIONS_DIR = REPO_ROOT.parent / "shared" / "data" / "model_predictions"
MODEL_NAMES = ("DINO", "ResNet50", "SimCLR", "ViT")


@pytest.fixture(autouse=True)
def _no_zoo_environment(monkeypatch):
    """Each test names its zoo itself: no local copy, cache or URL leaks in from the environment."""
    for name in ("IMAGENET_X_ZOO", "IMAGENET_X_ZOO_CACHE", "IMAGENET_X_ZOO_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def zoo():
    from imagenet_x_hf.zoo import load_zoo

    assert (ZOO_DIR / "results" / "val").is_dir(), f"the shared zoo copy is missing at {ZOO_DIR}"
    return load_zoo(ZOO_DIR)


@pytest.fixture(scope="session")
def vit_results():
    from imagenet_x_hf.metrics import read_predictions, score_predictions

    return score_predictions(read_predictions(PREDICTIONS_DIR / "ViT.csv"))


def copy_zoo(target: Path, relatives: list[str]) -> Path:
    """A partial copy of the shared zoo (the named files) under ``target``."""
    for rel in relatives:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ZOO_DIR / rel, target / rel)
    return target
