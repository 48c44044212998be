"""Read ImageNet images, by file name, from wherever a user keeps ImageNet.

Kinds of source (``KINDS``), detected from the path or id, or named explicitly:

- ``folder``: a flat folder of images (``val/ILSVRC2012_val_00000001.JPEG``);
- ``class_folders``: one folder per class (``val/n01440764/...``, ``train/n01440764/...``);
- ``val_tar``: ``ILSVRC2012_img_val.tar`` (any plain tar of images);
- ``train_tar``: ``ILSVRC2012_img_train.tar`` (a tar of per-class tars);
- ``webdataset``: a folder of WebDataset shards, or one shard;
- ``parquet``: a local Parquet copy (a repository folder or one file);
- ``hub``: a Hub dataset id (``ILSVRC/imagenet-1k``), loaded with ``datasets``.

Every kind yields ``(file_name, original bytes)`` with the file name as the
annotations spell it; nothing is re-encoded.

>>> import tempfile
>>> from imagenet_x_hf.testing import make_synthetic_imagenet
>>> tar = make_synthetic_imagenet(tempfile.mkdtemp(), layout="val_tar", n=3)
>>> detect_kind(tar)
'val_tar'
>>> [(name, data[:2]) for name, data in iter_images(tar)][0]
('ILSVRC2012_val_00025612.JPEG', b'\\xff\\xd8')
"""

from __future__ import annotations

import os
import re
import tarfile
from collections.abc import Collection, Iterator
from pathlib import Path

from imagenet_x_hf.errors import SourceError
from imagenet_x_hf.loaders.catalog import Catalog
from imagenet_x_hf.loaders.folders import open_class_folders, open_flat_folder
from imagenet_x_hf.loaders.hub import open_hub
from imagenet_x_hf.loaders.names import WNID, canonical_name, is_image_name
from imagenet_x_hf.loaders.tars import open_train_tar, open_val_tar
from imagenet_x_hf.loaders.webdataset import open_webdataset
from imagenet_x_hf.schema import SOURCE_KINDS

KINDS: tuple[str, ...] = SOURCE_KINDS

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_LAYOUTS_HELP = (
    "an extracted folder (flat or one folder per class), ILSVRC2012_img_val.tar, "
    "ILSVRC2012_img_train.tar, a folder of WebDataset shards, a Parquet copy, or a Hub id"
)


def _first_members(path: Path, count: int = 4) -> list[str]:
    try:
        with tarfile.open(path, mode="r:") as tar:
            names = []
            while len(names) < count and (member := tar.next()) is not None:
                if member.isfile():
                    names.append(member.name)
            return names
    except tarfile.ReadError as err:
        raise SourceError(
            f"{path} is not a readable uncompressed tar ({err}); decompress a .tar.gz copy first"
        ) from None


def _tar_kind(path: Path) -> str:
    if path.name.startswith("ILSVRC2012_img_train"):
        return "train_tar"
    if path.name.startswith("ILSVRC2012_img_val"):
        return "val_tar"
    members = _first_members(path)
    if members and all(m.endswith(".tar") for m in members):
        return "train_tar"
    suffixes = {m.rsplit("/", 1)[-1].partition(".")[2] for m in members}
    if suffixes & {"json", "cls", "txt"}:
        return "webdataset"
    return "val_tar"


def expand(source: str | os.PathLike) -> Path:
    """``source`` as a path, ``~`` and ``~user`` expanded; a ``SourceError`` for a user with no home.

    >>> expand("~nobody-here/val")
    Traceback (most recent call last):
    ...
    imagenet_x_hf.errors.SourceError: ImageNet source '~nobody-here/val': no user 'nobody-here' whose home folder '~nobody-here' could stand for; write the folder's full path
    """
    try:
        return Path(source).expanduser()
    except RuntimeError:  # ~name of no known user
        user = os.fspath(source)[1:].split("/", 1)[0]
        raise SourceError(
            f"ImageNet source {os.fspath(source)!r}: no user {user!r} whose home folder '~{user}' could "
            "stand for; write the folder's full path"
        ) from None


def _absent(source: str | os.PathLike) -> SourceError:
    return SourceError(
        f"ImageNet source {os.fspath(source)!r} does not exist (no such file or folder); pass {_LAYOUTS_HELP}"
    )


def looks_like_hub_id(source: str | os.PathLike) -> bool:
    """Whether a path that does not exist may name a Hub dataset (``owner/name``).

    A name whose first part is a local folder (``data/val`` where ``data/`` exists), or
    that starts like a path (``./``, ``/``, ``~``), is a local path that does not exist.

    >>> looks_like_hub_id("ILSVRC/imagenet-1k"), looks_like_hub_id("./val"), looks_like_hub_id("imagenet_x_hf/val")
    (True, False, False)
    """
    text = os.fspath(source)
    if text.startswith((".", "/", "~")) or not _HUB_ID.fullmatch(text):
        return False
    return not Path(text.split("/", 1)[0]).exists()


def check_kind(kind: str | None) -> None:
    """Refuse a source kind that is not one of ``KINDS`` (None: detect it)."""
    if kind is not None and kind not in KINDS:
        raise SourceError(
            f"unknown source_kind {kind!r}: pass one of {', '.join(KINDS)} (--source-kind), "
            "or leave it out to detect it"
        )


# Kinds that are one file, and kinds that are one folder (the others may be either).
_FILE_KINDS = ("val_tar", "train_tar")
_FOLDER_KINDS = ("folder", "class_folders")


def _check_kind_fits(source: str | os.PathLike, kind: str) -> None:
    path = expand(source)
    if kind == "hub" or not path.exists():
        return
    if kind in _FILE_KINDS and path.is_dir():
        raise SourceError(
            f"source_kind={kind!r} needs a tar file, but {path} is a folder; pass the tar itself, or "
            "leave the kind out (--source-kind unset, source_kind=None) to detect it"
        )
    if kind in _FOLDER_KINDS and not path.is_dir():
        raise SourceError(
            f"source_kind={kind!r} needs a folder of images, but {path} is a file; pass the folder, or "
            "leave the kind out (--source-kind unset, source_kind=None) to detect it"
        )


def detect_kind(source: str | os.PathLike) -> str:
    """The kind of an ImageNet source, from its path (and a peek inside) or its Hub id.

    >>> detect_kind("ILSVRC/imagenet-1k")
    'hub'
    """
    path = expand(source)
    if not path.exists():
        if looks_like_hub_id(source):
            return "hub"
        raise _absent(source)
    if path.is_file():
        if path.suffix == ".parquet":
            return "parquet"
        if path.suffix == ".tar":
            return _tar_kind(path)
        raise SourceError(
            f"{path} is neither a .tar nor a .parquet file; pass {_LAYOUTS_HELP} "
            "(a compressed archive must be decompressed first)"
        )
    subfolders, images, tars = 0, 0, []
    with os.scandir(path) as entries:
        # one cheap test of the name per entry; a type is asked only of names that matter
        for entry in entries:
            name = entry.name
            if name.endswith((".parquet", ".tar")):
                if entry.is_dir():
                    continue
                if name.endswith(".parquet"):
                    return "parquet"
                tars.append(name)
            elif name.startswith("n") and WNID.fullmatch(name):
                subfolders += entry.is_dir()
            elif not images and is_image_name(name) and not entry.is_dir():
                images = 1
    if tars:
        official = [t for t in tars if t.startswith("ILSVRC2012_img_")]
        if official:
            raise SourceError(
                f"{path} holds {official}: pass the tar itself (e.g. {path / official[0]}), not its folder"
            )
        return "webdataset"
    # Class folders and flat folders first: globbing a train tree's 1.28 M files is slow.
    if subfolders:
        return "class_folders"
    if images:
        return "folder"
    if any(path.glob("data/*.parquet")) or any(path.glob("*/*.parquet")):
        return "parquet"
    raise SourceError(f"{path} holds no ImageNet images that can be recognised; pass {_LAYOUTS_HELP}")


_SPLIT_PLACES = {
    "validation": ("val", "validation", "ILSVRC2012_img_val.tar"),
    "train": ("train", "ILSVRC2012_img_train.tar"),
}


def resolve_source(source: str | os.PathLike, *, split: str = "validation") -> str | os.PathLike:
    """The source itself, or, for an ImageNet root folder, the part that holds ``split``.

    A folder that is no source by itself but holds ``val/``, ``train/`` or the
    official tars resolves to the one for the split, so users can pass their
    ImageNet root for either split.
    """
    return _resolve(source, split)[0]


def _resolve(source: str | os.PathLike, split: str) -> tuple[str | os.PathLike, str]:
    """``resolve_source`` and the kind of what it resolves to, each detected once."""
    try:
        return source, detect_kind(source)
    except SourceError:
        path = expand(source)
        if path.is_dir():
            for place in _SPLIT_PLACES.get(split, ()):
                if (path / place).exists():
                    return path / place, detect_kind(path / place)
        raise


def open_source(
    source: str | os.PathLike,
    *,
    split: str = "validation",
    kind: str | None = None,
    file_names: Collection[str] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Catalog:
    """Index a source: which file names it holds and where, without reading any image.

    ``file_names`` restricts the index to those names (canonical, as the annotations
    spell them), which is what lets the train subset skip most of ImageNet train.
    ``cache_dir`` is where ``datasets`` keeps a Hub or Parquet copy's Arrow files.
    """
    source, kind = locate(source, split=split, kind=kind)
    wanted = None if file_names is None else frozenset(file_names)
    if kind in ("parquet", "hub"):
        return open_hub(
            source,
            split=split,
            kind=kind,
            wanted=wanted,
            cache_dir=None if cache_dir is None else str(cache_dir),
        )
    if kind == "folder":
        return open_flat_folder(source, wanted=wanted)
    if kind == "class_folders":
        return open_class_folders(source, wanted=wanted)
    if kind == "val_tar":
        return open_val_tar(source, wanted=wanted)
    if kind == "train_tar":
        return open_train_tar(source, wanted=wanted)
    return open_webdataset(source, split=split, wanted=wanted)


def locate(
    source: str | os.PathLike, *, split: str = "validation", kind: str | None = None
) -> tuple[str, str]:
    """The source to read for ``split`` (an ImageNet root resolves to its part) and its kind.

    Every problem is a ``SourceError`` of one line: a path that does not exist, a kind
    that does not fit the path, a file that is not a readable archive.
    """
    if kind is None:
        source, kind = _resolve(source, split)
    check_kind(kind)
    if kind != "hub" and not expand(source).exists():
        raise _absent(source)
    _check_kind_fits(source, kind)
    return os.fspath(source), kind


def iter_images(
    source: str | os.PathLike,
    *,
    split: str = "validation",
    kind: str | None = None,
    file_names: Collection[str] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(file_name, original image bytes)`` for every image of a source, in source order."""
    with open_source(source, split=split, kind=kind, file_names=file_names) as catalog:
        yield from catalog


__all__ = [
    "KINDS",
    "Catalog",
    "canonical_name",
    "check_kind",
    "detect_kind",
    "iter_images",
    "locate",
    "open_source",
    "resolve_source",
]
