"""Thumbnails of the images a report shows, read from the user's ImageNet copy.

Only the images shown are read: the source is indexed once for exactly those file
names (a tar's headers are walked once, and each wanted member is then one
positioned read at its offset; a folder is looked up by name), their bytes are
read in source order, and each is decoded at reduced scale (JPEG draft mode) and
re-encoded as a small JPEG embedded in the page as a ``data:`` URI.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

# Cards show the images at 128 CSS px and a click enlarges them, so they are stored larger
# than shown; 192 px at quality 70 keeps a page with three comparisons under 5 MB
# (benchmarks/report.py).
THUMBNAIL_SIZE = 192
JPEG_QUALITY = 70


@dataclass(frozen=True)
class Thumbnail:
    """One embedded image: its ``data:`` URI and pixel size."""

    uri: str
    width: int
    height: int


@dataclass
class Thumbnails:
    """The thumbnails read, and the names that could not be shown (missing or unreadable)."""

    images: dict[str, Thumbnail] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    source: str | None = None
    kind: str | None = None
    digests: dict[str, bytes] = field(default_factory=dict)  # sha256 of each file's bytes as read
    checked: str | None = None  # how the images were checked against the predictions' own


def make_thumbnail(data: bytes, *, size: int = THUMBNAIL_SIZE, quality: int = JPEG_QUALITY) -> Thumbnail:
    """A JPEG whose longer side is ``size`` pixels (never enlarged), as a ``data:`` URI.

    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (500, 375), (200, 40, 40)).save(buf, "JPEG")
    >>> thumb = make_thumbnail(buf.getvalue())
    >>> (thumb.width, thumb.height), thumb.uri.startswith("data:image/jpeg;base64,/9j/")
    ((192, 144), True)
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        # JPEG: let libjpeg decode at 1/2, 1/4 or 1/8 scale, still at least `size` wide and high
        image.draft("RGB", (size, size))
        rgb = image.convert("RGB")
    rgb.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=quality, optimize=True)
    uri = "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
    return Thumbnail(uri=uri, width=rgb.width, height=rgb.height)


def read_thumbnails(
    source: str | os.PathLike,
    file_names: Collection[str],
    *,
    split: str = "validation",
    kind: str | None = None,
    size: int = THUMBNAIL_SIZE,
    quality: int = JPEG_QUALITY,
    progress: bool = True,
) -> Thumbnails:
    """Thumbnails of ``file_names`` from an ImageNet source (any kind ``imagenet_x_hf.loaders`` reads).

    Names absent from the source are listed in ``missing``, files that do not decode
    in ``unreadable``; neither stops the report.
    """
    from PIL import UnidentifiedImageError
    from tqdm.auto import tqdm

    from imagenet_x_hf.loaders import open_source

    wanted = sorted(set(file_names))
    out = Thumbnails(source=str(source))
    if not wanted:
        return out
    with open_source(source, split=split, kind=kind, file_names=wanted) as catalog:
        out.kind = catalog.kind
        out.missing = [name for name in wanted if name not in catalog]
        # in source order: a tar or shard is then read front to back
        raw = [(name, catalog.read(name)) for name in catalog.locations]

    # what the run predicted is known by each image's sha256 (runner.content): kept to compare
    out.digests = {name: hashlib.sha256(data).digest() for name, data in raw}

    def encode(item: tuple[str, bytes]) -> tuple[str, Thumbnail | None]:
        name, data = item
        try:
            return name, make_thumbnail(data, size=size, quality=quality)
        except (UnidentifiedImageError, OSError, ValueError):
            return name, None

    # Pillow releases the GIL while it decodes and encodes, so threads use every core.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        results = tqdm(
            pool.map(encode, raw),
            total=len(raw),
            desc="Thumbnails",
            unit=" images",
            disable=None if progress else True,
        )
        for name, thumb in results:
            if thumb is None:
                out.unreadable.append(name)
            else:
                out.images[name] = thumb
    return out
