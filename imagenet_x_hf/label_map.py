"""A label map file: which ImageNet class each of a model's outputs means.

Read when the run's settings are built (so a bad file fails before any work starts);
``runner.labels`` applies the mapping to the model's outputs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

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
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise LabelSpaceError(f"cannot read the label map {path}: {err}") from err
    except json.JSONDecodeError as err:
        raise LabelSpaceError(
            f'the label map {path} is not valid JSON ({err}); write an object like {{"0": 5}}'
        ) from err
    if not isinstance(raw, dict):
        raise LabelSpaceError(f'the label map {path} must be a JSON object {{"model index": ImageNet index}}')
    by_wnid = {w: i for i, w in enumerate(schema.WNIDS)}
    out: dict[int, int] = {}
    for key, value in raw.items():
        try:
            src = int(key)
        except ValueError:
            raise LabelSpaceError(f"label map key {key!r} is not a model output index (an integer)") from None
        if isinstance(value, str) and value in by_wnid:
            out[src] = by_wnid[value]
        elif isinstance(value, int) and not isinstance(value, bool):
            out[src] = value
        else:
            raise LabelSpaceError(
                f"label map value {value!r} (for key {key!r}) is neither an ImageNet index nor a WordNet id"
            )
    return out
