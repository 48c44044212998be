"""What every loader returns: the images a source holds, by file name, read on demand.

A ``Catalog`` indexes a source once (names, where the bytes lie, the class a
folder implies) without reading image data; ``read(name)`` then fetches one
file's original bytes. Reading in any order is what lets the builder emit rows
in annotation order from folders, tars and shards alike, without holding a
split's images in memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from imagenet_x_hf.errors import SourceError


@dataclass
class Catalog:
    """Images of one source, by canonical file name, in source order.

    Attributes:
        kind: the loader that built it.
        source: the path or Hub id.
        locations: file name -> where its bytes are (loader-specific).
        wnids: file name -> WordNet id the source implies (class folder, per-class tar).
        stats: counters of the work done (``members_read``, ``containers_opened``,
            ``containers_skipped``, ...), for tests and progress reports.
    """

    kind: str
    source: str
    locations: dict[str, Any] = field(default_factory=dict)
    wnids: dict[str, str] = field(default_factory=dict)
    stats: Counter = field(default_factory=Counter)
    reader: Callable[[Any], bytes] | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def add(self, name: str, location: Any, *, wnid: str | None = None) -> None:
        """Record one image; a name seen twice is an error (the join would be ambiguous)."""
        if name in self.locations:
            raise SourceError(
                f"{self.source}: the file name {name!r} occurs twice; ImageNet-X joins on file "
                "names, so remove the duplicate copy from the source"
            )
        self.locations[name] = location
        if wnid is not None:
            self.wnids[name] = wnid

    def __contains__(self, name: str) -> bool:
        return name in self.locations

    def __len__(self) -> int:
        return len(self.locations)

    def read(self, name: str) -> bytes:
        """The original bytes of one image."""
        if self.reader is None:
            raise SourceError(f"{self.source}: catalog has no reader")
        self.stats["members_read"] += 1
        return self.reader(self.locations[name])

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        for name in self.locations:
            yield name, self.read(name)

    def close(self) -> None:
        for close in self.closers:
            close()
        self.closers.clear()

    def __del__(self) -> None:
        self.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
