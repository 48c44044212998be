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
