"""Shared inputs of the metrics tests: the four real prediction files and the annotations."""

from pathlib import Path

import pytest

# The real predictions live next to the repository, never inside it.
PREDICTIONS_DIR = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "model_predictions"
).resolve()
MODELS = ("DINO", "ResNet50", "SimCLR", "ViT")


@pytest.fixture(scope="session")
def prediction_files() -> dict[str, Path]:
    files = {p.stem: p for p in sorted(PREDICTIONS_DIR.glob("*.csv"))}
    assert tuple(files) == MODELS, f"expected the 4 real prediction files in {PREDICTIONS_DIR}"
    return files


@pytest.fixture(scope="session")
def val_arrays():
    from imagenet_x_hf.annotations import split_annotations

    return split_annotations("validation")


def score(predictions, *, breakdowns: bool = True, **settings):
    """The JSON-ready results of ``score_predictions`` under ``ScoringOptions(**settings)``."""
    from imagenet_x_hf.metrics import score_predictions
    from imagenet_x_hf.settings import ScoringOptions

    return score_predictions(predictions, ScoringOptions(**settings), breakdowns=breakdowns).to_dict()
