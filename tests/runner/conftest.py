"""Shared fixtures: one synthetic ImageNet, its dataset, and tiny models, built once per session.

75 images (not a multiple of any batch or shard size used here) of 64x48 pixels, so
that no model input (32 px) lets JPEG draft decoding kick in: the naive reference
decodes at full size and the two must agree exactly.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import models as tiny  # noqa: E402

N_IMAGES = 75
ZERO_SHOT_TEMPLATES = ("this is a photo of {}.",)


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
def model_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "vit": tiny.build_vit(root / "vit"),
        "resnet": tiny.build_resnet(root / "resnet", names=tiny.imagenet_lemmas()),
        "resnet1001": tiny.build_resnet_1001(root / "resnet1001"),
        "timm": tiny.build_timm(root / "timm"),
        "clip": tiny.build_clip(root / "clip", templates=ZERO_SHOT_TEMPLATES),
    }


def cli_command(model_dir, imagenet_source, output, *extra: str) -> list[str]:
    """``python -m imagenet_x_hf evaluate`` on the synthetic source, small batches and shards."""
    return [
        sys.executable,
        "-m",
        "imagenet_x_hf",
        "evaluate",
        "--model",
        str(model_dir),
        "--imagenet",
        str(imagenet_source),
        "--allow-missing",
        "--output",
        str(output),
        "--batch-size",
        "8",
        "--shard-size",
        "16",
        "--workers",
        "1",
        "--no-progress",
        *extra,
    ]


def subprocess_env(**extra: str) -> dict[str, str]:
    import os

    # one intra-op thread everywhere, so in-process and subprocess runs do identical arithmetic
    return {**os.environ, "OMP_NUM_THREADS": "1", **extra}


@pytest.fixture
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
