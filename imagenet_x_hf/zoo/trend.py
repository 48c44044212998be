"""The trend of each factor's error ratio against overall accuracy across a reference, and its band.

Across the authors' ~2,500 models, per-factor error ratios move with overall accuracy
(Spearman |rho| up to about 0.97): better models concentrate their remaining errors on
the hard factors. The expected ratio at a given accuracy is the reference's trend there;
the *excess* (observed - expected) is what the model's accuracy does not already explain.

Form: a local linear regression (tricube kernel in logit accuracy, at least
``BANDWIDTH`` wide, widened to reach ``FAMILIES_NEAR`` families where the reference is
sparse) of the error ratio on ``logit(accuracy)``, one per factor. Every model carries
the weight of its *family* divided by the family's size (see
:mod:`imagenet_x_hf.zoo.reference`): the 1,272 runs of the ResNet-50 crop sweep weigh
as much as one independently trained architecture. Logit accuracy spreads the low- and
high-accuracy ends; the relation is strongly curved, which is why the fit is local.

Band, for a *new* model at accuracy ``a`` scored on the same images: its ratio differs
from the trend by the spread of the reference's models around it near ``a`` (the same
family weights) and by the trend's own error ``fit_se(a)`` (the runs of one family
counted as moving together). The spread already holds the sampling noise of scoring on
these 46,110 images, which a new model shares with the reference models (the same
images, errors correlated across models), so no further noise is added: adding the
model's own binomial interval on top would count it twice (on held-out zoo models it
makes the rare factors' intervals about 1.8 times too wide). The quantile is
Student's t with the effective number of families near ``a`` less 2 degrees of
freedom, so the band widens where few families are near. The trend is kept on a grid
that reaches ``EXTEND`` logit units beyond the reference's accuracy range, where it
continues the local line with a growing ``fit_se``.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> acc = rng.uniform(0.2, 0.85, 400)
>>> ratio = np.stack([1 + 2 * (acc - 0.5) ** 2 + rng.normal(0, 0.02, 400)] * 16, axis=1)
>>> trend = fit_trend(acc, ratio)
>>> bool(abs(trend.expected(0.5)[0] - 1.0) < 0.02), trend.n, trend.families
(True, 400, 400)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

BANDWIDTH = 0.3  # logit units: about 5 accuracy points around 0.7
FAMILIES_NEAR = 30
GRID = 200
EXTEND = 1.5  # logit units of grid beyond the reference's accuracy range
_EDGE = 1e-4
_META = ("low", "high", "n", "families", "bandwidth", "families_near", "extend")


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EDGE, 1 - _EDGE)
    return np.log(p / (1 - p))


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation of two vectors (NaN pairs dropped; NaN with fewer than 3 pairs).

    >>> spearman(np.array([1.0, 2, 3, 4]), np.array([10.0, 20, 25, 40]))
    1.0
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    return float(stats.spearmanr(x[ok], y[ok]).statistic)


@dataclass(frozen=True)
class Trend:
    """Per-factor trend of error ratio vs logit accuracy, on a grid (columns = factors)."""

    grid: np.ndarray  # (G,) logit accuracy
    mean: np.ndarray  # (G, F) expected error ratio
    spread: np.ndarray  # (G, F) standard deviation of the models' ratios around the trend
    fit_se: np.ndarray  # (G, F) standard error of the trend itself
    families_near: np.ndarray  # (G,) effective number of families carrying the local fit
    accuracy_range: tuple[float, float]
    n: int
    families: int
    bandwidth: float = BANDWIDTH
    min_families: int = FAMILIES_NEAR

    def to_arrays(self) -> dict[str, np.ndarray]:
        meta = [*self.accuracy_range, self.n, self.families, self.bandwidth, self.min_families, EXTEND]
        return {
            "grid": self.grid,
            "mean": self.mean,
            "spread": self.spread,
            "fit_se": self.fit_se,
            "families_near": self.families_near,
            "meta": np.array(meta, dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray] | None) -> Trend | None:
        """The trend saved by :meth:`to_arrays`, or None when absent or of other settings."""
        keys = {"grid", "mean", "spread", "fit_se", "families_near", "meta"}
        if arrays is None or not keys <= set(arrays) or len(arrays["meta"]) != len(_META):
            return None
        low, high, n, families, bandwidth, near, extend = arrays["meta"].tolist()
        if (bandwidth, near, extend, len(arrays["grid"])) != (BANDWIDTH, FAMILIES_NEAR, EXTEND, GRID):
            return None
        return cls(
            grid=arrays["grid"],
            mean=arrays["mean"],
            spread=arrays["spread"],
            fit_se=arrays["fit_se"],
            families_near=arrays["families_near"],
            accuracy_range=(low, high),
            n=int(n),
            families=int(families),
            bandwidth=bandwidth,
            min_families=int(near),
        )

    def _at(self, values: np.ndarray, accuracy: np.ndarray | float) -> np.ndarray:
        x = np.atleast_1d(logit(accuracy))
        if values.ndim == 1:
            out = np.interp(x, self.grid, values)
            return out if np.ndim(accuracy) else out[0]
        out = np.empty((len(x), values.shape[1]))
        for k in range(values.shape[1]):
            out[:, k] = np.interp(x, self.grid, values[:, k])
        return out if np.ndim(accuracy) else out[0]

    def expected(self, accuracy: np.ndarray | float) -> np.ndarray:
        """Expected error ratio per factor at ``accuracy``."""
        return self._at(self.mean, accuracy)

    def band_sd(self, accuracy: np.ndarray | float) -> np.ndarray:
        """Standard deviation of a new model's ratio (on the same images) around the trend at ``accuracy``."""
        return np.sqrt(self._at(self.spread, accuracy) ** 2 + self._at(self.fit_se, accuracy) ** 2)

    def effective_families(self, accuracy: np.ndarray | float) -> np.ndarray | float:
        """The effective number of families the fit at ``accuracy`` rests on."""
        return self._at(self.families_near, accuracy)

    def quantile(self, accuracy: np.ndarray | float, level: float = 0.95) -> np.ndarray | float:
        """The band's multiplier at ``accuracy``: Student's t with (families near - 2) degrees of freedom."""
        df = np.maximum(np.asarray(self.effective_families(accuracy)) - 2.0, 1.0)
        return stats.t.ppf(0.5 + level / 2, df)

    def inside(self, accuracy: float) -> bool:
        low, high = self.accuracy_range
        return low <= accuracy <= high


def _bandwidths(
    x: np.ndarray, weight: np.ndarray, grid: np.ndarray, bandwidth: float, families_near: int
) -> np.ndarray:
    """Per grid point: the half-width that holds ``families_near`` families' worth of weight, at least ``bandwidth``."""
    order = np.argsort(x, kind="stable")
    xs, cum = x[order], np.r_[0.0, np.cumsum(weight[order])]
    need = min(float(families_near), float(cum[-1])) * (1 - 1e-9)
    low = np.zeros(len(grid))
    high = np.full(len(grid), float(np.ptp(x)) + 2 * EXTEND + 1.0)
    for _ in range(40):  # bisection on the half-width, all grid points at once
        mid = (low + high) / 2
        mass = (
            cum[np.searchsorted(xs, grid + mid, side="right")]
            - cum[np.searchsorted(xs, grid - mid, side="left")]
        )
        enough = mass >= need
        high = np.where(enough, mid, high)
        low = np.where(enough, low, mid)
    return np.maximum(high * 1.0001, bandwidth)


def _by_family(matrix: np.ndarray, order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(G, n) -> (G, families): the columns of each family added up."""
    return np.add.reduceat(matrix[:, order], starts, axis=1)


def fit_trend(
    accuracy: np.ndarray,
    error_ratio: np.ndarray,
    *,
    family: np.ndarray | None = None,
    bandwidth: float = BANDWIDTH,
    families_near: int = FAMILIES_NEAR,
    grid: int = GRID,
) -> Trend:
    """Fit the per-factor trend of ``error_ratio`` (n, F) against ``accuracy`` (n,), families weighted.

    ``family``: (n,) labels, a family's models share one unit of weight (default: each
    model its own family).
    """
    accuracy = np.asarray(accuracy, dtype=np.float64)
    y_all = np.asarray(error_ratio, dtype=np.float64)
    n, n_factors = y_all.shape
    codes = np.arange(n) if family is None else np.unique(np.asarray(family), return_inverse=True)[1]
    n_fam = int(codes.max()) + 1
    size = np.bincount(codes, minlength=n_fam)
    v = 1.0 / size[codes]
    x = logit(accuracy)
    g = np.linspace(x.min() - EXTEND, x.max() + EXTEND, grid)
    distance = np.abs(g[:, None] - x[None, :])
    h = _bandwidths(x, v, g, bandwidth, families_near)
    kernel = np.clip(1.0 - (distance / h[:, None]) ** 3, 0.0, None) ** 3  # (G, n)
    w_all = kernel * v[None, :]
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    mean = np.empty((grid, n_factors))
    fit_se = np.empty_like(mean)
    spread = np.empty_like(mean)
    w_fam = _by_family(w_all, order, starts)
    near = w_fam.sum(1) ** 2 / np.maximum((w_fam**2).sum(1), 1e-300)
    # Factors with the same missing values share one equivalent kernel (usually all 16 do).
    finite = np.isfinite(y_all)
    patterns: dict[bytes, list[int]] = {}
    for k in range(n_factors):
        patterns.setdefault(finite[:, k].tobytes(), []).append(k)
    for columns in patterns.values():
        ok = finite[:, columns[0]]
        w, xk, yk = w_all[:, ok], x[ok], y_all[np.ix_(ok, columns)]
        d = xk[None, :] - g[:, None]
        s0, s1, s2 = w.sum(1), (w * d).sum(1), (w * d * d).sum(1)
        det = s0 * s2 - s1 * s1
        flat = det <= 1e-12 * np.maximum(s0 * s2, 1e-300)
        # equivalent kernel: the fitted value at grid point j is sum_i lk[j, i] * y[i]
        lk = w * (s2[:, None] - d * s1[:, None]) / np.where(flat, 1.0, det)[:, None]
        if flat.any():  # all neighbours at one accuracy: a local mean
            lk[flat] = w[flat] / s0[flat, None]
        m = lk @ yk  # (G, len(columns))
        fitted = np.stack([np.interp(xk, g, m[:, j]) for j in range(len(columns))], axis=1)
        variance = (w @ (yk - fitted) ** 2) / s0[:, None]
        full = np.zeros_like(w_all)
        full[:, ok] = lk
        lk_fam = _by_family(full, order, starts)  # a family's runs move together: their kernel weights add
        mean[:, columns] = m
        spread[:, columns] = np.sqrt(variance)
        fit_se[:, columns] = np.sqrt(variance * (lk_fam**2).sum(1)[:, None])
    return Trend(
        grid=g,
        mean=mean,
        spread=spread,
        fit_se=fit_se,
        families_near=near,
        accuracy_range=(float(accuracy.min()), float(accuracy.max())),
        n=n,
        families=n_fam,
        bandwidth=bandwidth,
        min_families=families_near,
    )


def fit_quality(
    trend: Trend,
    accuracy: np.ndarray,
    error_ratio: np.ndarray,
    names: list[str],
    family: np.ndarray | None = None,
) -> dict:
    """Per factor: R^2 of the trend and Spearman rho of raw ratio and of excess with accuracy.

    With ``family`` labels, a family counts once: R^2 weighs each model by one over its
    family's size and the correlations are over the families' mean values.
    """
    accuracy = np.asarray(accuracy, dtype=np.float64)
    codes = (
        np.arange(len(accuracy)) if family is None else np.unique(np.asarray(family), return_inverse=True)[1]
    )
    size = np.bincount(codes)
    excess = error_ratio - trend.expected(accuracy)
    out = {}
    for k, name in enumerate(names):
        y = error_ratio[:, k]
        ok = np.isfinite(y)
        c, wk = codes[ok], 1.0 / size[codes[ok]]
        total = np.cov(y[ok], aweights=wk) if ok.sum() > 1 else 0.0
        unexplained = np.cov(excess[ok, k], aweights=wk) if ok.sum() > 1 else 0.0
        count = np.bincount(c, minlength=len(size))
        has = count > 0
        means = [
            np.bincount(c, weights=col, minlength=len(size))[has] / count[has]
            for col in (accuracy[ok], y[ok], excess[ok, k])
        ]
        out[name] = {
            "r2": float(1.0 - unexplained / total) if total > 0 else None,
            "rho_raw": spearman(means[0], means[1]),
            "rho_excess": spearman(means[0], means[2]),
            "residual_sd": float(np.sqrt(unexplained)),
        }
    return out
