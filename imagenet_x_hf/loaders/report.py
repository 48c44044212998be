"""What a source holds of the annotated images, as data: the ``SourceReport``.

``check_source`` compares an indexed source (a ``Catalog``) with the annotated images
of a split before anything is built: which are absent, and which sit under a class
folder (or per-class tar, or a Hub copy's ``_nXXXXXXXX`` suffix) other than their
annotated label. The build adds the files that are not complete images. The report
reaches ``imagenet_x_hf.load``'s caller as ``dataset.source_report``, is kept beside
the cached dataset, and serialises to JSON (``to_dict``) for ``results.json``.

>>> report = SourceReport(source="val", kind="folder", split="validation", annotated=3,
...                       missing=("ILSVRC2012_val_00000001.JPEG",))
>>> report.found, report.left_out
(2, 1)
>>> report.summary()
'1 of the 3 annotated validation images left out of folder source val: 1 absent (ILSVRC2012_val_00000001.JPEG)'
>>> report.check(allow_missing=True)
>>> report.check(allow_missing=False)
Traceback (most recent call last):
...
imagenet_x_hf.errors.SourceError: val (folder) lacks 1 of the 3 annotated validation images, e.g. ILSVRC2012_val_00000001.JPEG; point it at a complete copy, or pass --allow-missing (allow_missing=True) to build from the images present
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import compress
from pathlib import Path

from imagenet_x_hf.errors import SourceError
from imagenet_x_hf.loaders.catalog import Catalog

# How many names an error or warning lists before it only counts the rest.
SHOWN = 5
ALLOW_MISSING = "--allow-missing (allow_missing=True)"


def shown(items: Sequence[str], total: int | None = None) -> str:
    """The first few ``items`` joined, and how many more there are."""
    total = len(items) if total is None else total
    text = ", ".join(items[:SHOWN])
    return text + (f" and {total - SHOWN} more" if total > SHOWN else "")


@dataclass(frozen=True)
class SourceReport:
    """How an ImageNet source covers the annotated images of a split.

    Attributes:
        source, kind, split: what was checked.
        annotated: annotated images the dataset should hold (prototypes left out when filtered).
        missing: annotated file names the source does not hold.
        unreadable: ``"name (problem)"`` of files that are not complete images (found by the build).
        mislabelled: ``"name (source says wnid, annotations say wnid)"``; never built.
    """

    source: str
    kind: str
    split: str
    annotated: int
    missing: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()
    mislabelled: tuple[str, ...] = ()

    @property
    def found(self) -> int:
        """Annotated images present in the source."""
        return self.annotated - len(self.missing)

    @property
    def left_out(self) -> int:
        """Annotated images the dataset lacks: absent or unreadable."""
        return len(self.missing) + len(self.unreadable)

    def summary(self) -> str:
        """One line: how many annotated images were left out, and why."""
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} absent ({shown(self.missing)})")
        if self.unreadable:
            parts.append(f"{len(self.unreadable)} unreadable ({shown(self.unreadable)})")
        head = (
            f"{self.left_out} of the {self.annotated} annotated {self.split} images left out of "
            f"{self.kind} source {self.source}"
        )
        return head + (": " + "; ".join(parts) if parts else "")

    def check(self, *, allow_missing: bool) -> None:
        """Raise the ``SourceError`` that this report calls for, if any."""
        if self.mislabelled:
            raise SourceError(
                f"{self.source}: {len(self.mislabelled)} images sit under a class other than their "
                f"annotated label: {shown(self.mislabelled)}; the folders (or per-class tars) are "
                "mislabelled: rebuild them from the official validation labels, or use the flat "
                "folder or ILSVRC2012_img_val.tar"
            )
        if self.found == 0:
            raise SourceError(
                f"{self.source} ({self.kind}) holds none of the {self.annotated} annotated {self.split} "
                f"images; ImageNet-X joins images by their original ImageNet file names "
                "(ILSVRC2012_val_00000001.JPEG, n01440764_10026.JPEG): pass a copy that keeps them, "
                "for the right split"
            )
        if self.unreadable and len(self.unreadable) >= self.found:
            raise SourceError(
                f"none of the {self.found} annotated {self.split} images that {self.source} ({self.kind}) "
                f"holds is a readable image: {shown(self.unreadable)}; point it at ImageNet's images "
                "themselves (JPEG files), not at files that only carry their names"
            )
        if self.missing and not allow_missing:
            raise SourceError(
                f"{self.source} ({self.kind}) lacks {len(self.missing)} of the {self.annotated} annotated "
                f"{self.split} images, e.g. {shown(self.missing)}; point it at a complete copy, or pass "
                f"{ALLOW_MISSING} to build from the images present"
            )
        if self.unreadable and not allow_missing:
            raise SourceError(
                f"{len(self.unreadable)} files of {self.source} are not complete images: "
                f"{shown(self.unreadable)}; replace them with intact copies, or pass {ALLOW_MISSING} "
                "to leave them out (they are still reported)"
            )

    def with_unreadable(self, unreadable: Sequence[str]) -> SourceReport:
        return replace(self, unreadable=tuple(unreadable))

    def to_dict(self) -> dict:
        """JSON-ready, with the derived counts."""
        # shallow: dataclasses.asdict deep-copies tens of thousands of names
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {**fields, "found": self.found, "left_out": self.left_out}

    @classmethod
    def from_dict(cls, data: dict) -> SourceReport:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})

    def save(self, path: str | os.PathLike, names: Sequence[str] | None = None) -> None:
        """Write the report as JSON, atomically.

        With ``names``, the annotated file names the report was checked against (in
        order), and more than an eighth of them absent, the absent ones are written as
        compressed flags over those names rather than one by one (a source holding a
        tenth of ImageNet lacks 41,000); ``load`` reads them back given the same names.
        """
        data = self.to_dict()
        many = names is not None and len(self.missing) > len(names) // 8
        flags = _flags(self.missing, names) if many else None
        if flags is not None:
            data["missing"] = {"of_names": len(names), "flags": flags}
        path = Path(path)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike, names: Sequence[str] | None = None) -> SourceReport | None:
        """The report saved at ``path`` (with the ``names`` it was saved with); None when there is none."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            missing = data.get("missing")
            if isinstance(missing, dict):
                if names is None or missing["of_names"] != len(names):
                    return None
                data["missing"] = _flagged(missing["flags"], names)
            return cls.from_dict(data)
        except (OSError, ValueError, TypeError, KeyError, zlib.error):
            return None


def _flags(chosen: Sequence[str], names: Sequence[str]) -> str | None:
    """``chosen`` as one flag per name, compressed (text); None unless ``chosen`` keeps the order of ``names``.

    >>> _flagged(_flags(["b", "d"], "abcd"), "abcd")
    ['b', 'd']
    >>> _flags(["d", "b"], "abcd") is None
    True
    """
    flags = bytearray(len(names))
    pending = iter(chosen)
    want = next(pending, None)
    for row, name in enumerate(names):
        if name == want:
            flags[row] = 1
            want = next(pending, None)
    if want is not None:
        return None
    return base64.b64encode(zlib.compress(bytes(flags))).decode("ascii")


def _flagged(flags: str, names: Sequence[str]) -> list[str]:
    """The names that ``_flags`` flagged."""
    kept = zlib.decompress(base64.b64decode(flags, validate=True))
    if len(kept) != len(names):
        raise ValueError(f"{len(kept)} flags for {len(names)} names")
    return list(compress(names, kept))


def check_source(
    catalog: Catalog,
    names: Sequence[str],
    wnids: Sequence[str],
    *,
    split: str,
) -> SourceReport:
    """Compare an indexed source with the annotated ``names`` (and their classes' ``wnids``)."""
    if len(names) != len(wnids):
        raise ValueError(f"{len(names)} file names but {len(wnids)} class ids")
    held = catalog.locations
    implied = catalog.wnids
    # only a source that implies classes (class folders, per-class tars, Hub suffixes) can disagree
    mislabelled = (
        [
            f"{name} (source says {implied[name]}, annotations say {wnid})"
            for name, wnid in zip(names, wnids, strict=True)
            if implied.get(name, wnid) != wnid
        ]
        if implied
        else []
    )
    missing = [name for name in names if name not in held]
    return SourceReport(
        source=catalog.source,
        kind=catalog.kind,
        split=split,
        annotated=len(names),
        missing=tuple(missing),
        mislabelled=tuple(mislabelled),
    )
