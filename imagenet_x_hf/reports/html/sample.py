"""Which images a gallery shows: a deterministic sample per factor.

Each image gets a key from a hash of the seed and its file name, and a factor's
gallery shows the candidates with the smallest keys. The choice depends only on
the seed and the file names, not on the order of the predictions file or on the
numpy version, and the same images come first for every model: two reports with
one seed show the same texture images wherever both models miss them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def sample_keys(file_names: Sequence[str], seed: int) -> np.ndarray:
    """One ``uint64`` key per file name; smaller keys are shown first.

    >>> keys = sample_keys(["ILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_00000002.JPEG"], 0)
    >>> keys.dtype, bool(keys[0] != keys[1])
    (dtype('uint64'), True)
    >>> bool((sample_keys(["a"], 0) == sample_keys(["a"], 1))[0])
    False
    """
    salt = f"imagenet-x-report:{int(seed)}:".encode()
    digests = b"".join(hashlib.blake2b(salt + name.encode(), digest_size=8).digest() for name in file_names)
    return np.frombuffer(digests, dtype=">u8").astype(np.uint64)


def pick(candidates: np.ndarray, keys: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` candidates (indices into ``keys``) with the smallest keys, smallest first.

    >>> pick(np.array([0, 2, 3]), np.array([5, 1, 9, 2], dtype=np.uint64), 2).tolist()
    [3, 0]
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    if count <= 0 or len(candidates) == 0:
        return candidates[:0]
    order = np.argsort(keys[candidates], kind="stable")
    return candidates[order[:count]]
