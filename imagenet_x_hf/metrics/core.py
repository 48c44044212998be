"""The error-ratio arithmetic on numpy arrays: counts first, then ratios.

A model's error ratio for a factor is ``(1 - acc_factor) / (1 - acc_overall)``:
above 1, the model fails more often on images with that factor than on average.
Everything here works on a correctness vector (N images) or an M x N matrix
(M models) and an N x K boolean factor matrix. Counts come from one matrix product
per chunk of models (float32 BLAS; exact because every partial sum is an integer
below 2**24), so thousands of models cost a fraction of a second.

>>> import numpy as np
>>> correct = np.array([True, False, True, False, True, True])
>>> factors = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, 1], [0, 0]], dtype=bool)
>>> counts = factor_counts(correct, factors)
>>> counts.images.tolist(), counts.correct.tolist(), counts.total, counts.total_correct.tolist()
([2, 3], [[1, 2]], 6, [4])
>>> error_ratio(counts).round(3).tolist()
[[1.5, 1.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagenet_x_hf.errors import ImageNetXError

# The allowed values are declared once, with the settings; re-exported here.
from imagenet_x_hf.settings import EMPTY_REAL as EMPTY_REAL
from imagenet_x_hf.settings import ERROR_TYPES as ERROR_TYPES
from imagenet_x_hf.settings import WHICH_FACTORS as WHICH_FACTORS

# Models per matrix product: 256 x 50k float32 is ~50 MB of scratch memory.
CHUNK_MODELS = 256
_EXACT_FLOAT32 = 2**24


@dataclass(frozen=True)
class FactorCounts:
    """Summable counts behind every error ratio.

    ``images``: (K,) images carrying each factor; ``correct``: (M, K) correct
    predictions among them; ``total``: images scored; ``total_correct``: (M,).
    Counts of disjoint image sets add up, so batches and shards can be merged with ``+``.
    """

    images: np.ndarray
    correct: np.ndarray
    total: int
    total_correct: np.ndarray

    def __add__(self, other: FactorCounts) -> FactorCounts:
        return FactorCounts(
            images=self.images + other.images,
            correct=self.correct + other.correct,
            total=self.total + other.total,
            total_correct=self.total_correct + other.total_correct,
        )

    @property
    def accuracy(self) -> np.ndarray:
        """(M,) overall accuracy (NaN when no image was scored)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.total_correct / np.float64(self.total)

    @property
    def factor_accuracy(self) -> np.ndarray:
        """(M, K) accuracy on each factor's images (NaN where a factor has none)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.correct / self.images.astype(np.float64)


def as_correct_matrix(correct) -> np.ndarray:
    """A 2-D boolean (M, N) view of a correctness vector or matrix."""
    arr = np.asarray(correct)
    if arr.dtype != np.bool_:
        if arr.dtype.kind not in "iuf" or not np.isin(arr, (0, 1)).all():
            raise ImageNetXError("correctness must be boolean or 0/1 values, one per image")
        arr = arr.astype(bool)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ImageNetXError(f"correctness must be 1-D (images) or 2-D (models x images), got {arr.ndim}-D")
    return arr


def as_factor_matrix(factors, n: int, *, width: int | None = None) -> np.ndarray:
    """A boolean (N, K) factor matrix, checked against N images and K columns."""
    arr = np.asarray(factors)
    if arr.ndim != 2:
        raise ImageNetXError(
            f"factors must be a 2-D (images x factors) 0/1 matrix, got shape {arr.shape}; "
            "give one row of 16 flags per image, in FACTORS order"
        )
    if arr.shape[0] != n:
        raise ImageNetXError(f"factors has {arr.shape[0]} rows for {n} images; give one row per image")
    if width is not None and arr.shape[1] != width:
        raise ImageNetXError(
            f"factors rows have {arr.shape[1]} columns, expected {width} (one per factor, in FACTORS order)"
        )
    if arr.dtype != np.bool_:
        if arr.dtype.kind not in "iuf" or not np.isin(arr, (0, 1)).all():
            raise ImageNetXError("factors must hold only 0/1 (or boolean) flags")
        arr = arr.astype(bool)
    return arr


def factor_counts(correct, factors, *, chunk_models: int = CHUNK_MODELS) -> FactorCounts:
    """Per-factor image and correct counts for one model (N,) or many (M, N).

    ``factors`` is an (N, K) 0/1 matrix: multi-factor rows may hold several
    flags, top-factor rows at most one.
    """
    c = as_correct_matrix(correct)
    m, n = c.shape
    f = as_factor_matrix(factors, n)
    images = np.count_nonzero(f, axis=0).astype(np.int64)
    total_correct = np.count_nonzero(c, axis=1).astype(np.int64)
    dtype = np.float32 if n < _EXACT_FLOAT32 else np.float64
    fm = f.astype(dtype)
    out = np.empty((m, f.shape[1]), dtype=np.int64)
    for start in range(0, m, chunk_models):
        block = c[start : start + chunk_models].astype(dtype)
        # rint guards against any BLAS that accumulates in a different order
        out[start : start + chunk_models] = np.rint(block @ fm)
    return FactorCounts(images=images, correct=out, total=n, total_correct=total_correct)


def counts_from_nonzero(
    correct: np.ndarray, nonzero: tuple[np.ndarray, np.ndarray], width: int
) -> FactorCounts:
    """``factor_counts`` of one model from ``np.nonzero(factors)``, by bincount.

    For a single model this beats the matrix product, and the same index pair
    serves the per-metaclass and calibration breakdowns.
    """
    rows, cols = nonzero
    images = np.bincount(cols, minlength=width).astype(np.int64)
    right = np.bincount(cols[correct[rows]], minlength=width).astype(np.int64)
    return FactorCounts(
        images=images,
        correct=right[None, :],
        total=len(correct),
        total_correct=np.array([np.count_nonzero(correct)], dtype=np.int64),
    )


def error_ratio(counts: FactorCounts) -> np.ndarray:
    """(M, K) error ratios ``(1 - acc_factor) / (1 - acc)``; NaN where undefined.

    Undefined: a factor without images, or a model without any error.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (1.0 - counts.factor_accuracy) / (1.0 - counts.accuracy)[:, None]
    ratio[:, counts.images == 0] = np.nan
    ratio[counts.total_correct == counts.total, :] = np.nan
    return ratio


def correctness(
    predicted,
    *,
    error_type: str = "class",
    labels: np.ndarray,
    metaclass_of_class: np.ndarray | None = None,
    real_labels: np.ndarray | None = None,
) -> np.ndarray:
    """Whether each prediction counts as correct under ``error_type``.

    ``predicted``: (N,) or (M, N) class ids; ``labels``: (N,) true classes;
    ``metaclass_of_class``: (1000,) metaclass of each class (for ``metaclass``);
    ``real_labels``: (N, L) ReaL sets padded with -1 (for ``real_class``; an empty
    set never matches, so such images count as errors here).

    >>> import numpy as np
    >>> labels = np.array([1, 2, 3])
    >>> correctness(np.array([1, 0, 3]), labels=labels).tolist()
    [True, False, True]
    >>> real = np.array([[1, 5], [7, -1], [-1, -1]])
    >>> correctness(np.array([5, 7, 3]), error_type="real_class", labels=labels, real_labels=real).tolist()
    [True, True, False]
    """
    pred = np.asarray(predicted)
    if error_type == "class":
        return pred == labels
    if error_type == "metaclass":
        if metaclass_of_class is None:
            raise ImageNetXError("error_type='metaclass' needs the class-to-metaclass table")
        return metaclass_of_class[pred] == metaclass_of_class[labels]
    if error_type == "real_class":
        if real_labels is None:
            raise ImageNetXError(
                "error_type='real_class' needs ImageNet-ReaL labels, which exist only for the "
                "validation split; score by file name on split='validation'"
            )
        hit = np.zeros(pred.shape, dtype=bool)
        for column in real_labels.T:
            hit |= pred == column
        return hit
    raise ImageNetXError(f"unknown error_type {error_type!r}; pass one of {ERROR_TYPES}")
