"""A label map file: which ImageNet class each of a model's outputs means.

Read when the run's settings are built (so a bad file fails before any work starts);
``runner.labels`` applies the mapping to the model's outputs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from imagenet_x_hf import schema
from imagenet_x_hf.errors import LabelSpaceError


def read_label_map(path: str | os.PathLike) -> dict[int, int]:
    """Read a label map: a JSON object ``{"model index": ImageNet index or WordNet id}``.

    >>> import json, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "map.json"
    >>> _ = p.write_text(json.dumps({"0": 5, "1": "n01440764"}))
    >>> read_label_map(p)
    {0: 5, 1: 0}
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"), object_pairs_hook=_refuse_repeats)
    except OSError as err:
        raise LabelSpaceError(f"cannot read the label map {path}: {err}") from err
    except json.JSONDecodeError as err:
        raise LabelSpaceError(
            f'the label map {path} is not valid JSON ({err}); write an object like {{"0": 5}}'
        ) from err
    except _Repeated as err:
        raise LabelSpaceError(
            f"the label map {path} gives the key {err.args[0]!r} twice; give each model output once"
        ) from None
    if not isinstance(raw, dict):
        raise LabelSpaceError(f'the label map {path} must be a JSON object {{"model index": ImageNet index}}')
    return check_label_map(raw, where=f"the label map {path}")


class _Repeated(Exception):
    """A JSON object names one key twice (``json`` would keep the last silently)."""


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Repeated(key)
        seen[key] = value
    return seen


def check_label_map(raw: Any, *, where: str = "label_map") -> dict[int, int]:
    """A label map given as data: ``{model index: ImageNet index or WordNet id}``, checked entry by entry.

    >>> check_label_map({"2": "n01443537", 3: 7})
    {2: 1, 3: 7}
    >>> check_label_map({0: 1.7})
    Traceback (most recent call last):
    ...
    imagenet_x_hf.errors.LabelSpaceError: label_map value 1.7 (for key 0) is neither an ImageNet index nor a WordNet id
    """
    if not isinstance(raw, Mapping):
        raise LabelSpaceError(
            f"{where} must be a mapping {{model index: ImageNet index}} or the path of a JSON file, "
            f"not {type(raw).__name__}"
        )
    by_wnid = {w: i for i, w in enumerate(schema.WNIDS)}
    out: dict[int, int] = {}
    for key, value in raw.items():
        src = _index(key)
        if src is None:
            raise LabelSpaceError(f"{where} key {key!r} is not a model output index (an integer)")
        if src in out:
            raise LabelSpaceError(f"{where} gives the model output {src} twice ({key!r}); give each once")
        if isinstance(value, str) and value in by_wnid:
            out[src] = by_wnid[value]
        elif isinstance(value, int) and not isinstance(value, bool):
            out[src] = value
        else:
            raise LabelSpaceError(
                f"{where} value {value!r} (for key {key!r}) is neither an ImageNet index nor a WordNet id"
            )
    return out


def _index(key: Any) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key
    if isinstance(key, str) and key.strip().lstrip("-").isdigit():
        return int(key)
    return None
