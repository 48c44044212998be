"""The worker-side fast path reproduces each library's own eval transform; JPEG draft decoding is bounded."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from imagenet_x_hf.runner.adapters.timm_adapter import preprocessing_from_data_config
from imagenet_x_hf.runner.adapters.transformers_adapter import preprocessing_from_processor
from imagenet_x_hf.runner.preprocess import (
    Normalizer,
    PixelTransform,
    decode_image,
    matches_reference,
    probe_images,
)


def _images():
    rng = np.random.default_rng(5)
    sizes = [(500, 375), (375, 500), (333, 333), (41, 97), (224, 225)]
    return probe_images() + [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in sizes
    ]


def _processors():
    from transformers import (
        CLIPImageProcessor,
        ConvNextImageProcessor,
        SiglipImageProcessor,
        ViTImageProcessor,
    )

    for backend in ("torchvision", "pil"):
        suffix = "" if backend == "torchvision" else "Pil"
        import transformers

        def cls(name, suffix=suffix):
            return getattr(transformers, name + suffix, None) or getattr(transformers, name)

        yield backend, cls("ViTImageProcessor")(size={"height": 224, "width": 224})
        yield backend, cls("ConvNextImageProcessor")(size={"shortest_edge": 224})
        yield backend, cls("ConvNextImageProcessor")(size={"shortest_edge": 384})
        yield backend, cls("CLIPImageProcessor")()
        yield backend, cls("SiglipImageProcessor")()
    del CLIPImageProcessor, ConvNextImageProcessor, SiglipImageProcessor, ViTImageProcessor


@pytest.mark.parametrize(
    "backend,processor",
    list(_processors()),
    ids=lambda v: getattr(v, "__class__", v).__name__ if not isinstance(v, str) else v,
)
def test_fast_path_equals_image_processor(backend, processor):
    prep = preprocessing_from_processor(processor)
    assert prep is not None
    assert prep.kernel == backend
    ok, diff = matches_reference(
        prep,
        lambda im: processor(images=im, return_tensors="pt")["pixel_values"][0],
        images=_images(),
        atol=1e-5,
    )
    assert ok, diff


@pytest.mark.parametrize(
    "cfg",
    [
        {"input_size": (3, 224, 224), "interpolation": "bicubic", "crop_pct": 0.875, "crop_mode": "center"},
        {"input_size": (3, 288, 288), "interpolation": "bilinear", "crop_pct": 0.95, "crop_mode": "center"},
        {"input_size": (3, 224, 224), "interpolation": "bicubic", "crop_pct": 1.0, "crop_mode": "squash"},
    ],
)
def test_fast_path_equals_timm_transform(cfg):
    import timm.data

    cfg = {**cfg, "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
    prep = preprocessing_from_data_config(cfg)
    reference = timm.data.create_transform(**cfg, is_training=False)
    ok, diff = matches_reference(prep, reference, images=_images(), atol=1e-5)
    assert ok, diff


def test_unexpressible_processor_falls_back_to_reference():
    from transformers import MobileViTImageProcessor

    # MobileViT flips RGB to BGR: not a resize/crop/normalise chain
    assert preprocessing_from_processor(MobileViTImageProcessor()) is None


def test_disagreeing_fast_path_is_detected():
    from transformers import ViTImageProcessor

    processor = ViTImageProcessor(size={"height": 224, "width": 224})
    prep = preprocessing_from_processor(processor)
    other = type(prep)(**{**prep.__dict__, "interpolation": "nearest"})
    ok, diff = matches_reference(
        other, lambda im: processor(images=im, return_tensors="pt")["pixel_values"][0]
    )
    assert not ok and diff > 1e-3


def test_jpeg_draft_decodes_smaller_and_stays_close():
    from transformers import ConvNextImageProcessor

    prep = preprocessing_from_processor(ConvNextImageProcessor(size={"shortest_edge": 64}), jpeg_draft=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:600, 0:800]
    smooth = np.stack([xx * 255 // 800, yy * 255 // 600, (xx + yy) % 256], -1)
    pixels = np.clip(smooth + rng.integers(0, 30, smooth.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=90)
    drafted = decode_image(buf.getvalue(), draft=prep.draft_request())
    full = decode_image(buf.getvalue())
    assert full.size == (800, 600) and drafted.size == (100, 75)  # 1/8: still >= the 73 px resize
    transform, norm = PixelTransform(prep), Normalizer(prep, torch.device("cpu"))
    a, b = norm(transform(drafted)[None]), norm(transform(full)[None])
    assert a.shape == b.shape
    assert float((a - b).abs().mean()) < 0.05  # normalised units; std 0.5 -> about 3 grey levels
    assert prep.without_draft().draft_request() is None


def test_decode_handles_grayscale_cmyk_and_png():
    for mode, fmt in (("L", "JPEG"), ("CMYK", "JPEG"), ("RGB", "PNG")):
        buf = io.BytesIO()
        Image.new(mode, (40, 30)).save(buf, fmt)
        assert decode_image(buf.getvalue(), draft=(10, 10)).mode == "RGB"
