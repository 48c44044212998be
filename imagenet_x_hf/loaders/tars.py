"""ImageNet's tar archives, read in place: nothing is extracted.

``ILSVRC2012_img_val.tar`` holds the 50,000 validation JPEGs; ``ILSVRC2012_img_train.tar``
holds one uncompressed tar per class (``n01440764.tar``), each holding that class's
JPEGs. The archives are indexed by walking their headers; an image's bytes are read
later with one positioned read at its offset. For a train subset, per-class tars of
classes with no wanted image are skipped unopened, and of the others only wanted
members are ever read.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from tqdm.auto import tqdm

from imagenet_x_hf.errors import SourceError
from imagenet_x_hf.loaders.catalog import Catalog
from imagenet_x_hf.loaders.names import WNID, canonical_name, is_image_name, wnid_in

_BLOCK = 512
_FILE_TYPES = (b"0", b"\0", b"7")
# POSIX/GNU headers: name, size and type fields, the ustar prefix, the checksum.
_NAME, _SIZE, _CHKSUM, _TYPE, _MAGIC, _PREFIX = (
    slice(0, 100),
    slice(124, 136),
    slice(148, 156),
    slice(156, 157),
    slice(257, 263),
    slice(345, 500),
)


@dataclass(frozen=True)
class Member:
    """One tar member: its name, where its data starts in the file, and its size."""

    name: str
    offset_data: int
    size: int
    type: bytes

    def isfile(self) -> bool:
        return self.type in _FILE_TYPES


class _NotATar(Exception):
    """A header field that no tar writes: the file is not a tar."""


def _number(field: bytes) -> int:
    if field[:1] in (b"\x80", b"\xff"):  # GNU base-256, for members over 8 GiB
        value = int.from_bytes(field[1:], "big")
        return -value if field[:1] == b"\xff" else value
    digits = field.split(b"\0", 1)[0].strip()
    try:
        return int(digits, 8) if digits else 0
    except ValueError:
        raise _NotATar from None


# Magic bytes of the compressed forms an archive is often downloaded in.
_COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ": "xz", b"(\xb5/\xfd": "zstd", b"PK": "zip"}


def _not_a_tar(source: str, header: bytes, at: int, why: str = "no tar header") -> SourceError:
    for magic, name in _COMPRESSED.items():
        if at == 0 and header.startswith(magic):
            return SourceError(
                f"{source} is a {name}-compressed file, not a plain tar; decompress it first "
                "(ImageNet's original archives are plain tars)"
            )
    return SourceError(
        f"{source} is not a readable tar ({why} at byte {at}); pass the original ImageNet "
        "archive, or a plain tar of its images"
    )


def _pax(data: bytes) -> dict[str, str]:
    records, pos = {}, 0
    while pos < len(data):
        length = int(data[pos : data.index(b" ", pos)])
        key, _, value = data[data.index(b" ", pos) + 1 : pos + length - 1].partition(b"=")
        records[key.decode("utf-8")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _members(fd: int, start: int, size: int, source: str) -> Iterator[Member]:
    """The members of the tar stored at ``[start, start + size)`` of a file, headers only.

    Each header is one positioned read; member data is skipped, never read. This
    reads ustar, GNU (long names) and pax (path, size) headers, which covers
    ImageNet's archives and WebDataset shards, several times faster than ``tarfile``.
    """
    pos, end = start, start + size
    long_name: str | None = None
    pax: dict[str, str] = {}
    while pos + _BLOCK <= end:
        header = os.pread(fd, _BLOCK, pos)
        if len(header) < _BLOCK:
            break
        if header.count(0) == _BLOCK:  # end-of-archive marker
            return
        try:
            stored = _number(header[_CHKSUM])
            length = _number(header[_SIZE])
        except _NotATar:
            raise _not_a_tar(source, header, pos - start) from None
        if stored != sum(header) - sum(header[_CHKSUM]) + 8 * 32:
            raise _not_a_tar(source, header, pos - start, "bad header checksum")
        kind = header[_TYPE]
        data_at = pos + _BLOCK
        pos = data_at + -(-length // _BLOCK) * _BLOCK
        if kind == b"L":
            long_name = os.pread(fd, length, data_at).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            continue
        if kind in (b"x", b"g"):
            if kind == b"x":
                pax = _pax(os.pread(fd, length, data_at))
            continue
        name = header[_NAME].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        if header[_MAGIC] == b"ustar\0" or header[_MAGIC][:5] == b"ustar":
            prefix = header[_PREFIX].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            if prefix:
                name = f"{prefix}/{name}"
        name = pax.get("path", long_name or name)
        length = int(pax.get("size", length))
        if "size" in pax:
            pos = data_at + -(-length // _BLOCK) * _BLOCK
        long_name, pax = None, {}
        if data_at + length > end:
            raise SourceError(f"{source} is truncated: member {name!r} runs past the end of the file")
        yield Member(name, data_at, length, kind)
    if pos < end and start == 0:
        raise SourceError(f"{source} is not a readable tar: it ends inside a header")


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
                catalog.add(name, (member.offset_data, member.size), wnid=wnid)
    progress.close()
    return catalog
