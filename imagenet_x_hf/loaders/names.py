"""ImageNet file names as ImageNet-X knows them, whatever form a source stores them in.

Sources disagree on how they spell a file: a folder holds ``ILSVRC2012_val_00000001.JPEG``,
a Hub copy keeps ``ILSVRC2012_val_00000001_n01751748.JPEG`` as the image path, a
WebDataset shard names the sample ``ILSVRC2012_val_00000001`` and keeps
``n01440764/n01440764_3778.JPEG`` in its json. ``canonical_name`` maps each of
them to the name in the annotations, so every join is a join on that name.

>>> canonical_name("ILSVRC2012_val_00000001_n01751748.JPEG")
'ILSVRC2012_val_00000001.JPEG'
>>> canonical_name("train/n01440764/n01440764_3778.JPEG"), canonical_name("n01440764_3778")
('n01440764_3778.JPEG', 'n01440764_3778.JPEG')
>>> canonical_name("n01440764_3778_n01440764.JPEG"), canonical_name("notes.txt")
('n01440764_3778.JPEG', 'notes.txt')
"""

from __future__ import annotations

import re

_VAL = re.compile(r"(ILSVRC2012_val_\d{8})(?:_n\d{8})?(?:\.[A-Za-z]+)?$")
_TRAIN = re.compile(r"(n\d{8}_\d+)(?:_n\d{8})?(?:\.[A-Za-z]+)?$")
WNID = re.compile(r"n\d{8}")
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png", ".webp")


def canonical_name(path: str) -> str:
    """The ImageNet-X file name of a stored path, key or Hub image path.

    Names that follow neither ImageNet pattern come back as their last path part.
    """
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    for pattern in (_VAL, _TRAIN):
        match = pattern.fullmatch(base)
        if match:
            return match.group(1) + ".JPEG"
    return base


def wnid_in(path: str) -> str | None:
    """The WordNet id a path implies by its folder or its ``_nXXXXXXXX`` suffix, if any.

    >>> wnid_in("val/n01440764/ILSVRC2012_val_00000293.JPEG"), wnid_in("ILSVRC2012_val_00000001.JPEG")
    ('n01440764', None)
    >>> wnid_in("ILSVRC2012_val_00000001_n01751748.JPEG")
    'n01751748'
    """
    parts = path.replace("\\", "/").split("/")
    for folder in reversed(parts[:-1]):
        if WNID.fullmatch(folder):
            return folder
    match = re.search(r"_(n\d{8})\.[A-Za-z]+$", parts[-1])
    return match.group(1) if match else None


def is_image_name(name: str) -> bool:
    """Whether a member or file name looks like an image (by suffix, any case)."""
    return name.lower().endswith(IMAGE_SUFFIXES)
