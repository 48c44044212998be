"""A torch ``Dataset`` over ImageNet-X images, for code outside ``datasets``.

Each item is ``(pixels, label, factors)``: the image decoded to RGB and passed
through ``transform`` (a uint8 ``(3, H, W)`` tensor when there is none), the
ImageNet class index, and a float vector of the 16 factors in ``FACTORS`` order
(one-hot top factor, or the multi-factor annotation).

>>> import tempfile, imagenet_x_hf
>>> from imagenet_x_hf.testing import make_synthetic_imagenet
>>> folder = make_synthetic_imagenet(tempfile.mkdtemp(), layout="val_flat", n=3)
>>> import warnings
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")  # most annotated images are absent here
...     dataset = imagenet_x_hf.load("validation", folder, allow_missing=True)
>>> view = ImageNetXTorch(dataset)
>>> pixels, label, factors = view[0]
>>> tuple(pixels.shape), pixels.dtype, factors.shape, float(factors.sum())
((3, 40, 48), torch.uint8, torch.Size([16]), 1.0)
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import datasets
import numpy as np
import torch
from PIL import Image

from imagenet_x_hf.annotations import Csr
from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.settings import WHICH_FACTORS


def factor_matrix(dataset: datasets.Dataset, which_factor: str = "top") -> np.ndarray:
    """(rows, 16) float32 matrix of the factors of each row, in ``FACTORS`` order.

    The dataset's ``top_factor`` or ``factors`` column becomes flags through the same
    ``Csr`` form the annotations and the metrics use.

    >>> ds = datasets.Dataset.from_dict({"factors": [[0, 3], []], "top_factor": [3, None]})
    >>> factor_matrix(ds, "multi")[:, :4].tolist(), factor_matrix(ds, "top")[:, 3].tolist()
    ([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]], [1.0, 0.0])
    """
    if which_factor not in WHICH_FACTORS:
        raise ImageNetXError(f"which_factor must be one of {WHICH_FACTORS}, not {which_factor!r}")
    column = "top_factor" if which_factor == "top" else "factors"
    if column not in dataset.column_names:
        raise ImageNetXError(
            f"the dataset has no {column!r} column: pass a dataset from imagenet_x_hf.load(..., "
            "imagenet=...) or one that went through imagenet_x_hf.add_factors"
        )
    values = dataset.with_format("arrow").select_columns([column])[:][column]
    return Csr.from_arrow(values).dense(len(FACTORS)).astype(np.float32)


class ImageNetXTorch(torch.utils.data.Dataset):
    """``(pixels, label, factor vector)`` items over an ImageNet-X dataset with images.

    Args:
        dataset: from ``imagenet_x_hf.load(split, imagenet=...)`` or ``add_factors``;
            needs ``image``, ``label`` and ``top_factor``/``factors`` columns.
        transform: called on the RGB ``PIL.Image`` (e.g. a torchvision or timm
            transform); by default the image becomes a uint8 ``(3, H, W)`` tensor.
        which_factor: ``"top"`` (one-hot top factor) or ``"multi"`` (all factors).
    """

    def __init__(
        self,
        dataset: datasets.Dataset,
        transform: Callable[[Image.Image], Any] | None = None,
        *,
        which_factor: str = "top",
        image_column: str = "image",
    ):
        for column in (image_column, "label"):
            if column not in dataset.column_names:
                raise ImageNetXError(
                    f"the dataset has no {column!r} column; pass one built with "
                    "imagenet_x_hf.load(split, imagenet=SOURCE) or add_factors"
                )
        self.factors = torch.from_numpy(factor_matrix(dataset, which_factor))
        self.labels = dataset.with_format(None)["label"]
        # Decoded here rather than by datasets, to control the RGB conversion.
        self.images = dataset.select_columns([image_column]).cast_column(
            image_column, datasets.Image(decode=False)
        )
        self.image_column = image_column
        self.transform = transform
        self.which_factor = which_factor

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        stored = self.images[index][self.image_column]
        if stored["bytes"] is not None:
            image = Image.open(io.BytesIO(stored["bytes"]))
        else:
            image = Image.open(stored["path"])
        # ImageNet holds CMYK and grayscale JPEGs and a PNG; every model expects RGB.
        image = image.convert("RGB")
        if self.transform is not None:
            pixels = self.transform(image)
        else:
            pixels = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)
        label = self.labels[index]
        return pixels, -1 if label is None else int(label), self.factors[index]
