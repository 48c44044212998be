"""Extracted ImageNet folders: a flat validation folder, or one folder per class.

Flat: ``val/ILSVRC2012_val_00000001.JPEG`` (the validation tar, extracted).
Class folders: ``val/n01440764/ILSVRC2012_val_00000293.JPEG`` (after the usual
``valprep`` script) and ``train/n01440764/n01440764_10026.JPEG``; the folder name
is the class the source implies, checked later against the annotations.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

from imagenet_x_hf.loaders.catalog import Catalog
from imagenet_x_hf.loaders.names import _TRAIN, WNID, canonical_name, is_image_name


def _read_file(path: str) -> bytes:
    # one read of the size fstat gives (a buffered file object costs ~40% more per image)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)
        if len(data) <= size:  # all of it (or less, when the file shrank meanwhile)
            return data
        chunks = [data]  # the file grew since fstat
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _image_files(folder: str, wanted: Collection[str] | None) -> list[tuple[str, str]]:
    """``(canonical name, path)`` of the image files directly inside ``folder`` (wanted ones only), by stored name."""
    found: dict[str, tuple[str, str]] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            stored = entry.name
            if wanted is not None and stored in wanted:
                name = stored  # a wanted name is canonical already: no pattern to match
            elif is_image_name(stored):
                name = canonical_name(stored)
                if wanted is not None and name not in wanted:
                    continue
            else:
                continue
            if entry.is_file():
                found[stored] = (name, entry.path)
    return [found[stored] for stored in sorted(found)]


def open_flat_folder(root: str | os.PathLike, *, wanted: Collection[str] | None = None) -> Catalog:
    """Index the image files directly inside ``root``."""
    catalog = Catalog("folder", str(root), reader=_read_file)
    for name, path in _image_files(os.fspath(root), wanted):
        catalog.add(name, path)
    return catalog


def open_class_folders(root: str | os.PathLike, *, wanted: Collection[str] | None = None) -> Catalog:
    """Index ``root/<wnid>/<file>``, remembering each file's folder as its class.

    A train file name starts with its class id, so for a train subset each wanted
    file is looked up at ``root/<wnid>/<name>`` without listing the 1.28 M others.
    """
    catalog = Catalog("class_folders", str(root), reader=_read_file)
    root = Path(root)
    if wanted is not None and wanted and all(_TRAIN.fullmatch(n) for n in wanted):
        for name in sorted(wanted):
            wnid = name.split("_", 1)[0]
            path = root / wnid / name
            catalog.stats["files_checked"] += 1
            if path.is_file():
                catalog.add(name, str(path), wnid=wnid)
        return catalog
    listed = 0
    with os.scandir(root) as folders:
        for folder in sorted(folders, key=lambda e: e.name):
            if not (folder.is_dir() and WNID.fullmatch(folder.name)):
                continue
            with os.scandir(folder.path) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    stored = entry.name
                    if wanted is not None and stored in wanted:
                        name = stored  # a wanted name is canonical already
                    elif is_image_name(stored):
                        name = canonical_name(stored)
                    else:
                        continue
                    listed += 1
                    if wanted is None or name in wanted:
                        catalog.add(name, entry.path, wnid=folder.name)
    catalog.stats["files_listed"] += listed
    return catalog
