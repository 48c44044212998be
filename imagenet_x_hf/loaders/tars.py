"""ImageNet's tar archives, read in place: nothing is extracted.

``ILSVRC2012_img_val.tar`` holds the 50,000 validation JPEGs; ``ILSVRC2012_img_train.tar``
holds one uncompressed tar per class (``n01440764.tar``), each holding that class's
JPEGs. The archives are indexed by walking their headers; an image's bytes are read
later with one positioned read at its offset. For a train subset, per-class tars of
classes with no wanted image are skipped unopened, and of the others only wanted
members are ever read.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Collection, Iterator

from imagenet_x_hf.errors import SourceError
from imagenet_x_hf.loaders.catalog import Catalog
from imagenet_x_hf.loaders.names import WNID, canonical_name, is_image_name, wnid_in


class _Window(io.RawIOBase):
    """A read-only view of ``size`` bytes of a file from ``start`` (one member of a tar)."""

    def __init__(self, fd: int, start: int, size: int):
        self.fd, self.start, self.size, self.pos = fd, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.pos)
        if n <= 0:
            return 0
        data = os.pread(self.fd, n, self.start + self.pos)
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)


def _members(fd: int, start: int, size: int, source: str) -> Iterator[tarfile.TarInfo]:
    try:
        with tarfile.open(fileobj=_Window(fd, start, size), mode="r:") as tar:
            while (member := tar.next()) is not None:
                yield member
    except tarfile.ReadError as err:
        raise SourceError(
            f"{source} is not a readable uncompressed tar ({err}); ImageNet's archives are plain "
            "tars: pass the original file, or decompress a .tar.gz copy first"
        ) from None


def _open_fd(path: str | os.PathLike, kind: str) -> tuple[Catalog, int]:
    fd = os.open(path, os.O_RDONLY)
    catalog = Catalog(kind, str(path), reader=lambda loc: os.pread(fd, loc[1], loc[0]))
    catalog.closers.append(lambda: os.close(fd))
    return catalog, fd


def open_val_tar(path: str | os.PathLike, *, wanted: Collection[str] | None = None) -> Catalog:
    """Index ``ILSVRC2012_img_val.tar`` (or any tar of image files)."""
    catalog, fd = _open_fd(path, "val_tar")
    size = os.fstat(fd).st_size
    for member in _members(fd, 0, size, str(path)):
        if not member.isfile() or not is_image_name(member.name):
            continue
        name = canonical_name(member.name)
        if wanted is None or name in wanted:
            catalog.add(name, (member.offset_data, member.size), wnid=wnid_in(member.name))
    return catalog


def open_train_tar(path: str | os.PathLike, *, wanted: Collection[str] | None = None) -> Catalog:
    """Index ``ILSVRC2012_img_train.tar``: only the per-class tars that hold wanted images."""
    catalog, fd = _open_fd(path, "train_tar")
    size = os.fstat(fd).st_size
    wanted_wnids = None if wanted is None else {n.split("_", 1)[0] for n in wanted}
    from tqdm.auto import tqdm

    # Walking 1,000 per-class tars' headers takes a while on a cold disk.
    progress = tqdm(desc=f"Indexing {os.path.basename(path)}", unit=" class tars", total=1000, disable=None)
    for outer in _members(fd, 0, size, str(path)):
        progress.update()
        base = outer.name.rsplit("/", 1)[-1]
        if not (outer.isfile() and base.endswith(".tar")):
            continue
        wnid = base[: -len(".tar")]
        if not WNID.fullmatch(wnid):
            raise SourceError(
                f"{path}: member {outer.name!r} is not a per-class tar named <wnid>.tar; pass the "
                "original ILSVRC2012_img_train.tar"
            )
        if wanted_wnids is not None and wnid not in wanted_wnids:
            catalog.stats["containers_skipped"] += 1
            continue
        catalog.stats["containers_opened"] += 1
        for member in _members(fd, outer.offset_data, outer.size, f"{path}:{outer.name}"):
            if not member.isfile() or not is_image_name(member.name):
                continue
            catalog.stats["members_listed"] += 1
            name = canonical_name(member.name)
            if wanted is None or name in wanted:
                catalog.add(name, (outer.offset_data + member.offset_data, member.size), wnid=wnid)
    progress.close()
    return catalog
