"""Shared inputs of the predictions-repository tests: the authors' four files and a run, exported once."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PREDICTIONS_DIR = REPO_ROOT.parent / "shared" / "data" / "model_predictions"
ZOO_DIR = REPO_ROOT.parent / "shared" / "data" / "zoo"
MODEL_NAMES = ("DINO", "ResNet50", "SimCLR", "ViT")
RUN_MODEL = "org/tiny-vit"


def authors_files() -> list[Path]:
    files = [PREDICTIONS_DIR / f"{n}.csv" for n in MODEL_NAMES]
    missing = [str(f) for f in files if not f.is_file()]
    assert not missing, f"real prediction files missing: {missing}"
    return files


@pytest.fixture(scope="session")
def authors_repo(tmp_path_factory):
    """The authors' four released files exported as one repository folder."""
    from imagenet_x_hf.share import export_predictions

    folder = tmp_path_factory.mktemp("authors") / "repo"
    export_predictions(authors_files(), folder)
    return folder


def run_table(seed: int = 0) -> pa.Table:
    """A run's predictions table as the runner writes it (float32 probabilities, fixed top-5 lists), on the
    50,000 validation names, its top-1 taken from ResNet50's real predictions and the rest drawn at random."""
    real = pacsv.read_csv(PREDICTIONS_DIR / "ResNet50.csv")
    n = real.num_rows
    rng = np.random.default_rng(seed)
    top1 = real.column("predicted_class").to_numpy().astype(np.int32)
    others = (top1[:, None] + rng.integers(1, 999, size=(n, 4))) % 1000
    classes = np.concatenate([top1[:, None], others], axis=1).astype(np.int32)
    raw = np.sort(rng.dirichlet(np.ones(8), size=n)[:, :5], axis=1)[:, ::-1].astype(np.float32)
    return pa.table(
        {
            "file_name": real.column("file_name"),
            "predicted_class": pa.array(top1),
            "predicted_probability": pa.array(raw[:, 0]),
            "top5_classes": pa.FixedSizeListArray.from_arrays(pa.array(classes.ravel()), 5),
            "top5_probabilities": pa.FixedSizeListArray.from_arrays(pa.array(raw.ravel()), 5),
        }
    )


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """A finished run directory, written by the runner's own output writer."""
    from imagenet_x_hf.runner.outputs import write_outputs

    folder = tmp_path_factory.mktemp("run") / "tiny-vit"
    folder.mkdir()
    run_info = {
        "model": RUN_MODEL,
        "revision": "main",
        "commit": "c" * 40,
        "options": {"imagenet": "/data/imagenet/val", "batch_size": 64},
        "fingerprint": "f" * 64,
        "load_report": {"missing_keys": [], "unexpected_keys": []},
    }
    # no zoo at hand: results.json gets the zoo's note instead of a placement (not what is tested here)
    quiet = {"HF_HUB_OFFLINE": "1", "IMAGENET_X_ZOO_CACHE": str(folder.parent / "no-zoo")}
    with mock.patch.dict(os.environ, quiet):
        os.environ.pop("IMAGENET_X_ZOO", None)
        write_outputs(folder, run_table(), model_name=RUN_MODEL, run_info=run_info)
    return folder
