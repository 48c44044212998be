"""Evaluation preprocessing, resolved once from the model and run in DataLoader workers.

A ``Preprocessing`` holds every number of a model's eval transform (resize, crop,
interpolation, mean, std). Workers only decode, resize and crop, and hand over
``uint8`` tensors (4x less to copy than float); the device converts and
normalises. ``jpeg_draft`` (off by default, because it changes some predictions)
lets the JPEG decoder downscale by 2, 4 or 8 while decoding when the image is at
least that much larger than the resize target.

>>> p = Preprocessing(resize=(32, 32), crop=None, interpolation="bilinear", kernel="pil",
...                   mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
>>> p.draft_request() is None, p.with_draft().draft_request()
(True, (32, 32))
>>> from PIL import Image
>>> PixelTransform(p)(Image.new("RGB", (60, 40), (255, 0, 0))).shape
torch.Size([3, 32, 32])
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
from PIL import Image

_PIL_FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}
# The interpolation names above, by PIL's integer codes (how processors store them).
PIL_CODE_TO_NAME = {int(v): k for k, v in _PIL_FILTERS.items()}


@dataclass(frozen=True)
class Preprocessing:
    """One model's eval transform: resize -> center crop -> (x * scale - mean) / std.

    Args:
        resize: an ``int`` resizes the shorter side to it (the longer one to
            ``int(size * long / short)``); ``(height, width)`` resizes to exactly that;
            ``None`` keeps the size.
        crop: ``(height, width)`` of the center crop, or ``None``.
        interpolation: ``"bilinear"``, ``"bicubic"``, ... (PIL names).
        kernel: ``"pil"`` (PIL's resize) or ``"torchvision"`` (its antialiased tensor
            resize); the two give slightly different pixels, so this follows the model.
        crop_rounding: ``"floor"`` (transformers) or ``"round"`` (torchvision, timm)
            for an odd margin.
        mean, std: per channel, applied after ``scale``.
        scale: the factor that maps ``uint8`` to the model's range (``1/255``).
        jpeg_draft: let the JPEG decoder downscale large images (see module doc).
    """

    resize: int | tuple[int, int] | None
    crop: tuple[int, int] | None
    interpolation: str
    kernel: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    scale: float = 1 / 255
    crop_rounding: str = "floor"
    jpeg_draft: bool = False

    def __post_init__(self):
        if self.interpolation not in _PIL_FILTERS:
            raise ValueError(
                f"unknown interpolation {self.interpolation!r}; use one of {sorted(_PIL_FILTERS)}"
            )
        if self.kernel not in ("pil", "torchvision"):
            raise ValueError(f"unknown resize kernel {self.kernel!r}; use 'pil' or 'torchvision'")

    @property
    def output_size(self) -> tuple[int, int] | None:
        """``(height, width)`` of every output, when it does not depend on the image."""
        if self.crop is not None:
            return self.crop
        if isinstance(self.resize, tuple):
            return self.resize
        return None

    def draft_request(self) -> tuple[int, int] | None:
        """The ``(width, height)`` below which JPEG draft decoding must not go."""
        if not self.jpeg_draft or self.resize is None:
            return None
        if isinstance(self.resize, int):
            return (self.resize, self.resize)
        return (self.resize[1], self.resize[0])

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def without_draft(self) -> Preprocessing:
        return replace(self, jpeg_draft=False)

    def with_draft(self) -> Preprocessing:
        return replace(self, jpeg_draft=True)


def decode_image(data: bytes, *, draft: tuple[int, int] | None = None) -> Image.Image:
    """JPEG/PNG/... bytes -> an RGB PIL image, letting a JPEG decode at reduced size when allowed.

    >>> buf = io.BytesIO(); Image.new("RGB", (400, 300)).save(buf, "JPEG")
    >>> decode_image(buf.getvalue(), draft=(100, 100)).size
    (200, 150)
    >>> decode_image(buf.getvalue()).size
    (400, 300)
    """
    image = Image.open(io.BytesIO(data))
    if draft is not None and image.format == "JPEG":
        # draft() keeps the result at least as large as requested in both dimensions.
        image.draft("RGB", draft)
    image.load()
    return image if image.mode == "RGB" else image.convert("RGB")


def resized_shape(height: int, width: int, resize: int | tuple[int, int]) -> tuple[int, int]:
    """Output ``(height, width)`` of the resize step.

    >>> resized_shape(375, 500, 256)
    (256, 341)
    """
    if isinstance(resize, tuple):
        return resize
    if width <= height:
        return int(resize * height / width), resize
    return resize, int(resize * width / height)


def _crop_offsets(height: int, width: int, crop: tuple[int, int], rounding: str) -> tuple[int, int]:
    dh, dw = height - crop[0], width - crop[1]
    if rounding == "round":
        return int(round(dh / 2.0)), int(round(dw / 2.0))
    return dh // 2, dw // 2


class PixelTransform:
    """PIL image -> ``uint8`` tensor ``(3, H, W)``: the resize and crop of a ``Preprocessing``.

    Picklable, so it runs in DataLoader workers.
    """

    def __init__(self, preprocessing: Preprocessing):
        self.p = preprocessing

    def __call__(self, image: Image.Image) -> torch.Tensor:
        p = self.p
        if p.kernel == "pil":
            if p.resize is not None:
                h, w = resized_shape(image.height, image.width, p.resize)
                if (h, w) != (image.height, image.width):
                    image = image.resize((w, h), _PIL_FILTERS[p.interpolation])
            pixels = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)
        else:
            # Left in HWC memory (a permuted view): torch's uint8 antialiased resize has a fast
            # path for that layout, with results identical to the contiguous one.
            pixels = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)
            if p.resize is not None:
                h, w = resized_shape(pixels.shape[1], pixels.shape[2], p.resize)
                if (h, w) != tuple(pixels.shape[1:]):
                    pixels = _torchvision_resize(pixels, (h, w), p.interpolation)
        if p.crop is not None:
            pixels = _center_crop(pixels, p.crop, p.crop_rounding)
        return pixels.contiguous()


def _torchvision_resize(pixels: torch.Tensor, size: tuple[int, int], interpolation: str) -> torch.Tensor:
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as tvF

    mode = {"nearest": InterpolationMode.NEAREST_EXACT}.get(interpolation) or InterpolationMode(interpolation)
    return tvF.resize(pixels, list(size), interpolation=mode, antialias=True)


def _center_crop(pixels: torch.Tensor, crop: tuple[int, int], rounding: str) -> torch.Tensor:
    _, h, w = pixels.shape
    if crop[0] > h or crop[1] > w:
        # Smaller than the crop: pad with zeros around it, as both libraries do.
        ph, pw = max(crop[0] - h, 0), max(crop[1] - w, 0)
        pixels = torch.nn.functional.pad(pixels, (pw // 2, (pw + 1) // 2, ph // 2, (ph + 1) // 2))
        _, h, w = pixels.shape
    top, left = _crop_offsets(h, w, crop, rounding)
    return pixels[:, top : top + crop[0], left : left + crop[1]]


class Normalizer:
    """On the device: ``uint8`` batch -> float ``(x * scale - mean) / std``; float input passes through."""

    def __init__(self, preprocessing: Preprocessing | None, device: torch.device):
        self.enabled = preprocessing is not None
        if preprocessing is not None:
            mean = torch.tensor(preprocessing.mean, dtype=torch.float64).view(1, 3, 1, 1)
            std = torch.tensor(preprocessing.std, dtype=torch.float64).view(1, 3, 1, 1)
            # x * scale / std - mean / std in one fused pass; factors folded in float64
            self.factor = (preprocessing.scale / std).float().to(device)
            self.offset = (-mean / std).float().to(device)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        if not self.enabled or batch.dtype != torch.uint8:
            return batch.float()
        return torch.addcmul(self.offset, batch.float(), self.factor)


# Probe sizes as ImageNet photos come (about 500x375, both orientations, one odd size):
# large enough that every decoding shortcut a model's resize allows would trigger.
PROBE_SIZES = ((500, 375), (375, 500), (500, 333))


def probe_images() -> list[bytes]:
    """JPEG-encoded probe photos at ImageNet sizes: smooth shapes plus fine noise, detail in every region."""
    rng = np.random.default_rng(0)
    out = []
    for w, h in PROBE_SIZES:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        base = np.stack(
            [np.sin(xx / rng.uniform(5, 40)), np.cos(yy / rng.uniform(5, 40)), np.sin((xx + yy) / 17)], -1
        )
        pixels = (base * 60 + 128 + rng.normal(0, 25, (h, w, 3))).clip(0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def matches_reference(
    preprocessing: Preprocessing,
    reference: Callable[[Image.Image], torch.Tensor],
    *,
    images: list[Image.Image | bytes] | None = None,
    atol: float = 1e-4,
) -> tuple[bool, float]:
    """Does the fast path (decoding included) reproduce ``reference``, the model's own transform
    on the fully decoded image?

    ``images`` are PIL images or encoded bytes (default: ``probe_images()``). Encoded images
    go through ``decode_image`` with the preprocessing's own draft request, so a fast path
    with ``jpeg_draft`` is checked with that decoding. Returns ``(agrees, max_abs_difference)``;
    a shape mismatch gives ``inf``.
    """
    transform, normalise = PixelTransform(preprocessing), Normalizer(preprocessing, torch.device("cpu"))
    worst = 0.0
    for item in images if images is not None else probe_images():
        if isinstance(item, bytes):
            ours_image, full_image = (
                decode_image(item, draft=preprocessing.draft_request()),
                decode_image(item),
            )
        else:
            ours_image = full_image = item
        ours = normalise(transform(ours_image)[None])[0]
        theirs = torch.as_tensor(reference(full_image)).float()
        if ours.shape != theirs.shape:
            return False, float("inf")
        worst = max(worst, float((ours - theirs).abs().max()))
    return worst <= atol, worst
