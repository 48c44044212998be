"""Shared inputs of the report tests: the four real prediction files, scored once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PREDICTIONS_DIR = REPO_ROOT.parent / "shared" / "data" / "model_predictions"
MODEL_NAMES = ("ResNet50", "DINO", "SimCLR", "ViT")


@pytest.fixture(scope="session")
def real_models():
    """name -> ModelResults of the four real models (scored by the real metric, predictions kept)."""
    from imagenet_x_hf.reports.inputs import load_model_results

    missing = [n for n in MODEL_NAMES if not (PREDICTIONS_DIR / f"{n}.csv").is_file()]
    assert not missing, f"real prediction files missing from {PREDICTIONS_DIR}: {missing}"
    return {name: load_model_results(PREDICTIONS_DIR / f"{name}.csv") for name in MODEL_NAMES}


@pytest.fixture(scope="session")
def vit(real_models):
    return real_models["ViT"]


@pytest.fixture(scope="session")
def comparison(real_models):
    """The comparison of the four real models against ResNet50 (paired differences included)."""
    from imagenet_x_hf.reports.compare import compare_models

    return compare_models(list(real_models.values()), baseline="ResNet50")
