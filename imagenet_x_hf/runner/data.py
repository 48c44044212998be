"""Images in, pixel batches out: a torch view of the ImageNet-X dataset for DataLoader workers.

A batch is a list of row indices; the worker that gets it reads those rows' JPEG bytes
in one Arrow take, decodes and transforms each image, and returns the row indices
with the stacked pixels, so every prediction carries the row it belongs to.

>>> import datasets, io
>>> from PIL import Image
>>> buf = io.BytesIO(); Image.new("RGB", (40, 30), (9, 9, 9)).save(buf, "JPEG")
>>> ds = datasets.Dataset.from_dict({"file_name": ["a.JPEG"], "image": [{"bytes": buf.getvalue(), "path": None}]},
...                                 features=datasets.Features({"file_name": datasets.Value("string"),
...                                                             "image": datasets.Image()}))
>>> from imagenet_x_hf.runner.preprocess import Preprocessing, PixelTransform
>>> p = Preprocessing(resize=(8, 8), crop=None, interpolation="bilinear", kernel="pil", mean=(0,) * 3, std=(1,) * 3)
>>> rows, pixels = ImageRows(ds, PixelTransform(p), draft=None)[[0]]
>>> rows.tolist(), pixels.shape, pixels.dtype
([0], torch.Size([1, 3, 8, 8]), torch.uint8)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from PIL import Image

from imagenet_x_hf.errors import SourceError
from imagenet_x_hf.runner.preprocess import decode_image


class ImageRows(torch.utils.data.Dataset):
    """Indexed by a list of row indices; returns ``(row_indices, pixels)``."""

    def __init__(
        self,
        dataset,
        transform: Callable[[Image.Image], torch.Tensor],
        *,
        draft: tuple[int, int] | None,
    ):
        if "image" not in dataset.column_names:
            raise SourceError(
                "the dataset has no 'image' column; load it with imagenet_x_hf.load(split, imagenet=SOURCE)"
            )
        # Arrow format: the image column stays undecoded ({bytes, path}); decoding happens here.
        self.rows = dataset.select_columns(["file_name", "image"]).with_format("arrow")
        self.transform = transform
        self.draft = draft

    def __len__(self) -> int:
        return len(self.rows)

    def _bytes(self, image: dict | None, file_name: str) -> bytes:
        if image is not None and image.get("bytes") is not None:
            return image["bytes"]
        if image is not None and image.get("path"):
            try:
                with open(image["path"], "rb") as f:
                    return f.read()
            except OSError as err:
                raise SourceError(f"cannot read {file_name} from {image['path']}: {err}") from err
        raise SourceError(f"{file_name} has no image in the dataset; rebuild it with its ImageNet source")

    def __getitem__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        table = self.rows[list(indices)]
        names = table.column("file_name").to_pylist()
        images = table.column("image").to_pylist()
        pixels = []
        for name, image in zip(names, images, strict=True):
            try:
                decoded = decode_image(self._bytes(image, name), draft=self.draft)
                pixels.append(self.transform(decoded))
            except SourceError:
                raise
            except Exception as err:
                raise SourceError(f"cannot decode or transform {name}: {err}") from err
        return torch.as_tensor(list(indices), dtype=torch.int64), torch.stack(pixels)


def shard_batches(start: int, stop: int, batch_size: int) -> list[list[int]]:
    """Row-index batches covering ``[start, stop)``; no batch crosses the range's end.

    >>> [len(b) for b in shard_batches(0, 10, 4)]
    [4, 4, 2]
    """
    return [list(range(s, min(s + batch_size, stop))) for s in range(start, stop, batch_size)]


def make_loader(
    rows: ImageRows,
    batches: list[list[int]],
    *,
    num_workers: int,
    pin_memory: bool,
    prefetch: int = 4,
) -> torch.utils.data.DataLoader:
    """A DataLoader yielding ``(row_indices, pixels)`` for ``batches`` in order."""
    kwargs = {"prefetch_factor": prefetch, "persistent_workers": False} if num_workers > 0 else {}
    return torch.utils.data.DataLoader(
        rows,
        sampler=batches,
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
        **kwargs,
    )
