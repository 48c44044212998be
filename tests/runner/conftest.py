"""Runner fixtures: one synthetic ImageNet and its dataset, built once per session, and the
command line of a small run.

75 images (not a multiple of any batch or shard size used here) of 64x48 pixels; the
tiny models themselves come from ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest

N_IMAGES = 75


@pytest.fixture(scope="session")
def imagenet_source(tmp_path_factory) -> Path:
    from imagenet_x_hf.testing import make_synthetic_imagenet

    return make_synthetic_imagenet(
        tmp_path_factory.mktemp("imagenet"), layout="val_flat", n=N_IMAGES, size=(64, 48)
    )


@pytest.fixture(scope="session")
def dataset(imagenet_source):
    import imagenet_x_hf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the synthetic source holds 75 of the annotated images
        return imagenet_x_hf.load(
            "validation", imagenet=imagenet_source, filter_prototypes=False, allow_missing=True
        )


@pytest.fixture(scope="session")
def cli_command():
    """``python -m imagenet_x_hf evaluate`` on a source, small batches and shards."""

    def command(model_dir, imagenet_source, output, *extra: str) -> list[str]:
        return [
            sys.executable, "-m", "imagenet_x_hf", "evaluate", "--model", str(model_dir),
            "--imagenet", str(imagenet_source), "--allow-missing", "--output", str(output),
            "--batch-size", "8", "--shard-size", "16", "--workers", "1", "--no-progress", *extra,
        ]  # fmt: skip

    return command


@pytest.fixture(scope="session")
def subprocess_env():
    def env(**extra: str) -> dict[str, str]:
        # one intra-op thread everywhere, so in-process and subprocess runs do identical arithmetic
        return {**os.environ, "OMP_NUM_THREADS": "1", **extra}

    return env


@pytest.fixture
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
