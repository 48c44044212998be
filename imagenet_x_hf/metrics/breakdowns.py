"""Breakdowns of one model's results: per metaclass, and calibration per factor.

Both reproduce tables of the authors' toolkit: accuracies per (metaclass, factor),
and the estimated calibration error (ECE) with 15 equal-width confidence bins,
a probability on a bin edge falling into the lower bin.
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15


def _bin_ids(probabilities: np.ndarray, n_bins: int) -> np.ndarray:
    """``np.searchsorted(edges[1:-1], probabilities)`` (an edge belongs to the lower bin), by arithmetic.

    ``c = ceil(p * n_bins) - 1`` is the bin up to rounding: the product and the edges
    (``linspace``) are each within an ulp of exact, so ``c`` is the bin or a neighbour,
    and one comparison with each of its edges settles which (a test checks values on
    and beside every edge against the search).
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    below = edges.copy()  # the lower edge of each bin, open; the first bin has none
    below[0] = -np.inf
    above = edges[1:].copy()  # the upper edge, closed; the last bin has none
    above[-1] = np.inf
    scaled = probabilities * n_bins
    np.ceil(scaled, out=scaled)
    scaled -= 1
    ids = scaled.astype(np.intp)
    np.clip(ids, 0, n_bins - 1, out=ids)
    step_up = probabilities > above[ids]
    ids -= probabilities <= below[ids]
    ids += step_up
    return ids


def calibration_error(
    correct: np.ndarray,
    probabilities: np.ndarray,
    factors: np.ndarray | None,
    *,
    n_bins: int = ECE_BINS,
    nonzero: tuple[np.ndarray, np.ndarray] | None = None,
    width: int | None = None,
    factor_images: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """ECE over all images and over each factor's images: ``(overall, (K,) per factor)``.

    ECE = sum over bins of |correct - confidence sums| / images; NaN for a factor
    without images. ``nonzero`` and ``width`` (``np.nonzero(factors)`` and the number
    of factors) may replace ``factors``; ``factor_images``, the images of each factor, saves
    counting them again.

    >>> import numpy as np
    >>> correct = np.array([True, False, True, True])
    >>> probs = np.array([0.9, 0.8, 0.6, 0.95])
    >>> overall, per_factor = calibration_error(correct, probs, np.array([[1], [1], [0], [0]], bool))
    >>> round(overall, 4), per_factor.round(4).tolist()
    (0.3375, [0.45])
    """
    ids = _bin_ids(probabilities, n_bins)
    residual = np.subtract(correct, probabilities, dtype=np.float64)
    gap_all = np.abs(np.bincount(ids, weights=residual, minlength=n_bins))
    overall = float(gap_all.sum() / len(ids))
    # per (factor, bin): sum of (correct - confidence) over that factor's images
    rows, cols = np.nonzero(factors) if nonzero is None else nonzero
    k = factors.shape[1] if width is None else width
    key = ids[rows]
    key += cols * n_bins
    gap = np.bincount(key, weights=residual[rows], minlength=k * n_bins)
    gap = gap.reshape(k, n_bins)
    images = np.bincount(cols, minlength=k) if factor_images is None else factor_images
    with np.errstate(divide="ignore", invalid="ignore"):
        per_factor = np.abs(gap).sum(axis=1) / images
    return overall, np.where(images > 0, per_factor, np.nan)


def metaclass_counts(
    correct: np.ndarray,
    nonzero: tuple[np.ndarray, np.ndarray],
    metaclass: np.ndarray,
    n_metaclasses: int,
    n_factors: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Counts per true metaclass: ``(images (G,), correct (G,), factor images (G, K), factor correct (G, K))``.

    ``nonzero`` is ``np.nonzero(factors)`` of the (N, K) factor flags.

    >>> import numpy as np
    >>> factors = np.array([[1], [1], [0]], bool)
    >>> out = metaclass_counts(np.array([1, 0, 1], bool), np.nonzero(factors), np.array([0, 0, 1]), 2, 1)
    >>> [a.tolist() for a in out]
    [[2, 1], [1, 1], [[2], [0]], [[1], [0]]]
    """
    # one bincount per table, keyed by (group, correct): images are both halves summed
    key = metaclass * 2
    key += correct
    both = np.bincount(key, minlength=n_metaclasses * 2).reshape(n_metaclasses, 2)
    rows, cols = nonzero
    k = n_factors
    key = metaclass[rows]  # a new array: the steps below work in place
    key *= k
    key += cols
    key *= 2
    key += correct[rows]
    f_both = np.bincount(key, minlength=n_metaclasses * k * 2).reshape(n_metaclasses, k, 2)
    return both.sum(axis=1), both[:, 1].copy(), f_both.sum(axis=2), f_both[:, :, 1].copy()
