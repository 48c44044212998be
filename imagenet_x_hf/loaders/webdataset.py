"""WebDataset shards (``timm/imagenet-1k-wds`` style), read in place.

A shard is a plain tar of samples: ``<key>.jpg`` (or .jpeg/.png/.webp) beside
``<key>.json`` and ``<key>.cls``. The json carries the original file name
(``{"filename": "n01440764/n01440764_3778.JPEG", ...}``); without one, the key is
the name. Only the small json members are read while indexing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from pathlib import Path

from imagenet_x_hf.errors import SourceError
from imagenet_x_hf.loaders.catalog import Catalog
from imagenet_x_hf.loaders.names import canonical_name, is_image_name, wnid_in
from imagenet_x_hf.loaders.tars import _members

_NAME_FIELDS = ("filename", "file_name", "fname", "path")


def shard_paths(source: str | os.PathLike, *, split: str | None = None) -> list[Path]:
    """The shards of a source: the tar itself, or the tars in a folder (of ``split`` when named so)."""
    source = Path(source)
    if source.is_file():
        return [source]
    shards = sorted(p for p in source.rglob("*.tar") if p.is_file())
    if split is not None:

        def tagged(path: Path, tags: tuple[str, ...]) -> bool:
            return any(f"-{t}-" in path.name or path.name.startswith(f"{t}-") for t in tags)

        ours = ("validation", "val") if split == "validation" else ("train",)
        named = [p for p in shards if tagged(p, ours)]
        if named:
            shards = named
        elif any(tagged(p, ("validation", "val", "train", "test")) for p in shards):
            raise SourceError(
                f"{source} holds shards named for other splits, none for {split!r}; pass the "
                "folder of that split's shards (or the shards themselves)"
            )
    if not shards:
        raise SourceError(f"{source} holds no .tar shards; pass a WebDataset folder or one shard")
    return shards


def _name_from_json(raw: bytes, shard: Path, key: str) -> str | None:
    try:
        meta = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SourceError(
            f"{shard}: the json of sample {key!r} is not valid JSON; the shard is damaged"
        ) from None
    if isinstance(meta, dict):
        for field in _NAME_FIELDS:
            if isinstance(meta.get(field), str):
                return meta[field]
    return None


def open_webdataset(
    source: str | os.PathLike, *, split: str | None = None, wanted: Collection[str] | None = None
) -> Catalog:
    """Index the samples of every shard by the file name their json (or key) gives."""
    catalog = Catalog("webdataset", str(source))
    fds: dict[int, int] = {}
    catalog.reader = lambda loc: os.pread(fds[loc[0]], loc[2], loc[1])
    catalog.closers.append(lambda: [os.close(fd) for fd in fds.values()])
    for number, shard in enumerate(shard_paths(source, split=split)):
        fd = os.open(shard, os.O_RDONLY)
        fds[number] = fd
        images: dict[str, tuple[int, int, int]] = {}
        metas: dict[str, tuple[int, int]] = {}
        for member in _members(fd, 0, os.fstat(fd).st_size, str(shard)):
            if not member.isfile():
                continue
            folder, _, base = member.name.rpartition("/")
            stem, _, ext = base.partition(".")
            key = f"{folder}/{stem}" if folder else stem
            if is_image_name(base) and "." not in ext:
                images[key] = (number, member.offset_data, member.size)
            elif ext == "json":
                metas[key] = (member.offset_data, member.size)
        catalog.stats["shards_opened"] += 1
        for key, location in images.items():
            stored = None
            if key in metas:
                offset, size = metas[key]
                stored = _name_from_json(os.pread(fd, size, offset), shard, key)
            stored = stored or key
            name = canonical_name(stored)
            if wanted is None or name in wanted:
                catalog.add(name, location, wnid=wnid_in(stored))
    return catalog
