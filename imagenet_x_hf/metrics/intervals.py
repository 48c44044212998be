"""Confidence intervals for error ratios, one model or the paired difference of two.

One model. The factor's images are a subset of all images, so the factor error
rate ``p_f`` and the overall error rate ``p`` are not independent. Split the images
instead into the factor's (``n_f`` images, ``x_f`` errors) and the others (``n_o``,
``x_o``): these are independent binomial samples, and with ``w = n_f / N`` and
``phi = p_f / p_o``

    error_ratio = p_f / (w p_f + (1 - w) p_o) = phi / (w phi + 1 - w),

an increasing function of the risk ratio ``phi``. We take the Koopman score interval
for ``phi`` (the set of ``phi`` not rejected by the score test that uses the
restricted maximum-likelihood rates; Koopman 1984, Miettinen & Nurminen 1985
without their n/(n-1) factor) and map its ends through that function. Unlike a
Wald or log (Katz) interval it needs no correction for zero counts and keeps
close to nominal coverage on small factors (45 images); ``tests/metrics`` checks
coverage by simulation.

Two models on the same images. The difference of their error ratios gets a Wald
interval whose variance comes from the delta method applied image by image
(each image's influence on both ratios, so the correlation between two models'
mistakes on the same image is kept), conditioning on which images carry the factor.

>>> import numpy as np
>>> low, high = error_ratio_interval(np.array([20]), np.array([45]), np.array([9000]), np.array([46000]))
>>> bool(low[0] < (20 / 45) / (9020 / 46045) < high[0])
True
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from imagenet_x_hf.errors import ImageNetXError

INTERVAL_METHOD = "koopman-score-risk-ratio"
PAIRED_METHOD = "paired-delta-wald"
_BISECTIONS = 44  # 80 / 2**44: ends exact to ~5e-12 (relative)
_LOG_SPAN = 40.0
_SMALL = 4096  # interval ends computed 4 halvings per round up to this many


def z_value(confidence_level: float) -> float:
    """Two-sided standard normal quantile, e.g. 1.96 for 0.95."""
    if not isinstance(confidence_level, (int, float)) or not 0 < confidence_level < 1:
        raise ImageNetXError(f"confidence_level must be in (0, 1), got {confidence_level!r}; e.g. 0.95")
    return NormalDist().inv_cdf(0.5 + confidence_level / 2)


def _score_z(phi, x1, n1, x2, n2):
    """Score statistic of H0: p1 / p2 = phi (decreasing in phi)."""
    n = n1 + n2
    a = n * phi
    b = -(n1 * phi + x1 + n2 + x2 * phi)
    c = x1 + x2
    disc = np.sqrt(np.maximum(b * b - 4 * a * c, 0.0))
    # the smaller root, in the form that avoids cancellation when phi is extreme
    p2 = 2 * c / (-b + disc)
    p1 = np.minimum(p2 * phi, 1.0)
    var = p1 * (1 - p1) / n1 + phi * phi * p2 * (1 - p2) / n2
    num = x1 / n1 - phi * x2 / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / np.sqrt(var)
        # zero variance at the edges: the sign of the numerator decides
        return np.where(var > 0, z, np.sign(num) * np.inf)


def _above_target(mid, target, consts):
    """Whether the score statistic at ``phi = exp(mid)`` is above ``target``: the bisection's test.

    ``_score_z`` unrolled with its constants hoisted (this is the metric's hot spot for
    a single model); z > target is tested as num > target * sd, which needs no division
    and gives the same answer where the variance is 0.
    """
    n4, c, c2, b0, b1, t1, t2, r1, r2 = consts
    phi = np.exp(mid)
    minus_b = b0 * phi + b1
    p2 = c2 / (minus_b + np.sqrt(np.maximum(minus_b * minus_b - n4 * phi * c, 0.0)))
    p1 = np.minimum(p2 * phi, 1.0)
    sd = np.sqrt(p1 * (1 - p1) / t1 + phi * phi * p2 * (1 - p2) / t2)
    return r1 - phi * r2 > target * sd


def _bisect(target, consts, shape, round_bits: int):
    """``_BISECTIONS`` halvings of [-_LOG_SPAN, _LOG_SPAN] per element, ``round_bits`` per round.

    A round tests every grid point the next ``round_bits`` halvings could test (2**b - 1
    of them, in one vectorised call), then replays the halvings on those answers. The
    grid points are exactly the midpoints plain bisection computes (sums of powers of two
    times 5, exact in float64), so the result is that of bisection one step at a time,
    with far fewer numpy calls when each step works on a few elements.
    """
    lo = np.full(shape, -_LOG_SPAN)
    width = 2 * _LOG_SPAN
    with np.errstate(over="ignore", invalid="ignore"):
        if round_bits == 1:
            hi = np.full(shape, _LOG_SPAN)
            for _ in range(_BISECTIONS):
                mid = (lo + hi) * 0.5
                above = _above_target(mid, target, consts)
                lo = np.where(above, mid, lo)
                hi = np.where(above, hi, mid)
            return lo, hi
        steps = 2**round_bits
        fractions = (np.arange(1, steps) / steps).reshape((steps - 1,) + (1,) * len(shape))
        size = int(np.prod(shape))
        element = np.arange(size)
        for _ in range(_BISECTIONS // round_bits):
            above = _above_target(lo + width * fractions, target, consts).reshape(steps - 1, size)
            pos = np.zeros(size, dtype=np.intp)  # the grid index of this round's lower end
            half = steps // 2
            while half:
                pos += half * above[pos + (half - 1), element]
                half //= 2
            lo = lo + width * (pos.reshape(shape) / steps)
            width /= steps
    return lo, lo + width


def risk_ratio_interval(x1, n1, x2, n2, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Koopman score interval for ``p1 / p2`` of two independent binomials (arrays broadcast).

    Ends are 0 when ``x1 == 0`` and ``inf`` when ``x2 == 0``; NaN where ``n1`` or
    ``n2`` is 0 or there is no event at all.
    """
    x1, n1, x2, n2 = (np.asarray(v, dtype=np.float64) for v in (x1, n1, x2, n2))
    x1, n1, x2, n2 = np.broadcast_arrays(x1, n1, x2, n2)
    valid = (n1 > 0) & (n2 > 0) & (x1 + x2 > 0)
    s1, t1, s2, t2 = (np.where(valid, v, 1.0) for v in (x1, n1, x2, n2))

    # Both ends at once, by bisection on log(phi): z(phi) is decreasing, so
    # z - (+z) changes sign once below the estimate and z - (-z) once above it.
    target = np.stack([np.full(s1.shape, z), np.full(s1.shape, -z)])
    n, c = t1 + t2, s1 + s2
    consts = (4 * n, c, 2 * c, t1 + s2, s1 + t2, t1, t2, s1 / t1, s2 / t2)
    # a few elements (one model): 4 halvings per call; many: one, as the work is the arrays'
    lo, hi = _bisect(target, consts, target.shape, 4 if target.size <= _SMALL else 1)
    ends = np.exp((lo + hi) / 2)
    low = np.where(s1 > 0, ends[0], 0.0)
    high = np.where(s2 > 0, ends[1], np.inf)
    low = np.where(valid, low, np.nan)
    high = np.where(valid, high, np.nan)
    return low, high


def error_ratio_interval(
    errors_factor, images_factor, errors_total, images_total, *, confidence_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for each error ratio from error counts (arrays broadcast).

    NaN where the ratio is undefined (no factor image, or no error at all); ``[1, 1]``
    when the factor covers every image.
    """
    z = z_value(confidence_level)
    xf = np.asarray(errors_factor, dtype=np.float64)
    nf = np.asarray(images_factor, dtype=np.float64)
    x = np.asarray(errors_total, dtype=np.float64)
    n = np.asarray(images_total, dtype=np.float64)
    xo, no = x - xf, n - nf
    lo_phi, hi_phi = risk_ratio_interval(xf, nf, xo, no, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = nf / n

        def to_ratio(phi):
            return np.where(np.isinf(phi), 1.0 / w, phi / (w * phi + 1.0 - w))

        low, high = to_ratio(lo_phi), to_ratio(hi_phi)
    everything = (nf == n) & (n > 0) & (x > 0)
    low = np.where(everything, 1.0, low)
    high = np.where(everything, 1.0, high)
    return low, high


def ratio_intervals(counts, *, confidence_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """(M, K) interval ends for every error ratio of a ``FactorCounts`` (one or many models).

    >>> import numpy as np
    >>> from imagenet_x_hf.metrics.core import factor_counts
    >>> rng = np.random.default_rng(1)
    >>> counts = factor_counts(rng.random((3, 900)) < 0.7, rng.random((900, 2)) < 0.3)
    >>> low, high = ratio_intervals(counts)
    >>> low.shape, bool((low < high).all())
    ((3, 2), True)
    """
    return error_ratio_interval(
        counts.images - counts.correct,
        counts.images,
        counts.total - counts.total_correct[:, None],
        counts.total,
        confidence_level=confidence_level,
    )


def paired_difference(
    wrong_a: np.ndarray, wrong_b: np.ndarray, factors: np.ndarray, *, confidence_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference of error ratios (a - b) per factor and its paired delta-method interval.

    ``wrong_a``, ``wrong_b``: (N,) error flags of two models on the same images;
    ``factors``: (N, K) boolean. Returns ``(difference, low, high)``, each (K,),
    NaN where either ratio is undefined.
    """
    z = z_value(confidence_level)
    f = factors.astype(np.float64)
    n = float(len(wrong_a))
    nf = f.sum(axis=0)
    no = n - nf
    influence = np.zeros(f.shape)
    ratios = []
    for wrong, sign in ((wrong_a, 1.0), (wrong_b, -1.0)):
        e = wrong.astype(np.float64)
        total = e.sum()
        p = total / n
        ef = e @ f
        with np.errstate(divide="ignore", invalid="ignore"):
            pf = ef / nf
            po = (total - ef) / no
            ratio = pf / p
            # d ratio / d(errors among factor images) and / d(all errors), with n_f fixed
            g_in = 1.0 / (nf * p) - ratio / (n * p)
            g_out = -ratio / (n * p)
        centred_in = f * (e[:, None] - pf)
        centred_out = (1.0 - f) * (e[:, None] - np.nan_to_num(po))
        influence += sign * (np.nan_to_num(g_in) * centred_in + np.nan_to_num(g_out) * centred_out)
        ratios.append(np.where((nf > 0) & (total > 0), ratio, np.nan))
    diff = ratios[0] - ratios[1]
    se = np.sqrt((influence**2).sum(axis=0))
    return diff, diff - z * se, diff + z * se
