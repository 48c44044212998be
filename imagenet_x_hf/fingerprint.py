"""Fingerprints: a stable hash of settings and data, and the settings that enter it.

A run folder is resumed only when the fingerprint of what it was started with equals
the fingerprint of what is asked now; ``prediction_settings`` picks the settings that can
change a prediction (a field declared with ``option(..., fingerprint=False)`` cannot).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from imagenet_x_hf.fields import plain


def fingerprint(data: Any) -> str:
    """A stable sha256 of JSON-ready ``data`` (keys sorted), as hex.

    >>> fingerprint({"a": 1, "b": [2]}) == fingerprint({"b": [2], "a": 1})
    True
    """
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def prediction_settings(obj: Any) -> dict[str, Any]:
    """The settings of ``obj`` that can change a prediction, as JSON-ready data (fields with
    ``fingerprint=False`` left out, nested dataclasses included)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if not f.metadata.get("fingerprint", True):
            continue
        value = getattr(obj, f.name)
        out[f.name] = prediction_settings(value) if dataclasses.is_dataclass(value) else plain(value)
    return out
