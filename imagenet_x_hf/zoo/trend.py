"""The trend of each factor's error ratio against overall accuracy across the zoo, and its band.

Across the authors' ~2,500 models, per-factor error ratios move with overall accuracy
(Spearman |rho| up to about 0.97): better models concentrate their remaining errors on
the hard factors. The expected ratio at a given accuracy is the zoo's trend there; the
*excess* (observed - expected) is what the model's accuracy does not already explain.

Form: a local linear regression (tricube weights; bandwidth ``BANDWIDTH`` in logit units,
widened to reach at least ``NEIGHBOURS`` models where the zoo is sparse) of the error
ratio on ``logit(accuracy)``, one per factor. Logit
accuracy spreads the low- and high-accuracy ends, as in effective-robustness work. The
relation is strongly curved and the zoo's accuracies are clustered (the ResNet-50 sweeps
sit between 0.6 and 0.77): global forms leave the residuals correlated with accuracy
(on the top-factor/class tables, max |Spearman rho| of residual vs accuracy is 0.82 for
a line in logit accuracy, 0.83 for a line of log ratio, 0.56 for a quadratic), while the
local fit leaves at most about 0.13 (0.15 over all six which_factor x error_type tables).
A nearest-neighbour span (20% of the models) removed the correlation about as well but
followed the dense ResNet-50 sweep clusters into visible wiggles; the fixed minimum
bandwidth keeps the curve smooth there. ``fit_quality`` reports R^2 and that residual rho
per factor.

Band: the local residual spread (same tricube weights) combined with the fit's own
standard error, so that it widens where the zoo is sparse or scattered. The trend is
evaluated on a grid of ``GRID`` points in logit accuracy and interpolated, so the
expected ratio of any accuracy is a cheap lookup.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> acc = rng.uniform(0.2, 0.85, 400)
>>> ratio = np.stack([1 + 2 * (acc - 0.5) ** 2 + rng.normal(0, 0.02, 400)] * 16, axis=1)
>>> trend = fit_trend(acc, ratio)
>>> bool(abs(trend.expected(0.5)[0] - 1.0) < 0.02), trend.n
(True, 400)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BANDWIDTH = 0.3  # logit units: about 5 accuracy points around 0.7
NEIGHBOURS = 50
GRID = 160
_EDGE = 1e-4


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EDGE, 1 - _EDGE)
    return np.log(p / (1 - p))


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties given their average rank."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_x)) + 1]
    ends = np.r_[starts[1:], len(x)]
    avg = (starts + ends + 1) / 2.0  # mean of 1-based ranks start+1..end
    out = np.empty(len(x))
    out[order] = np.repeat(avg, ends - starts)
    return out


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation of two vectors (NaN pairs dropped).

    >>> spearman(np.array([1.0, 2, 3, 4]), np.array([10.0, 20, 25, 40]))
    1.0
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    rx, ry = ranks(x[ok]), ranks(y[ok])
    rx -= rx.mean()
    ry -= ry.mean()
    denom = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


@dataclass(frozen=True)
class Trend:
    """Per-factor trend of error ratio vs logit accuracy, on a grid (columns = factors)."""

    grid: np.ndarray  # (G,) logit accuracy
    mean: np.ndarray  # (G, F) expected error ratio
    spread: np.ndarray  # (G, F) local residual standard deviation
    fit_se: np.ndarray  # (G, F) standard error of the local fit itself
    accuracy_range: tuple[float, float]
    n: int
    bandwidth: float
    neighbours: int

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "grid": self.grid,
            "mean": self.mean,
            "spread": self.spread,
            "fit_se": self.fit_se,
            "meta": np.array(
                [*self.accuracy_range, self.n, self.bandwidth, self.neighbours], dtype=np.float64
            ),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray] | None) -> Trend | None:
        """The trend saved by :meth:`to_arrays`, or None when absent or of other settings."""
        if arrays is None or set(arrays) != {"grid", "mean", "spread", "fit_se", "meta"}:
            return None
        low, high, n, bandwidth, neighbours = arrays["meta"].tolist()
        if bandwidth != BANDWIDTH or neighbours != NEIGHBOURS or len(arrays["grid"]) != GRID:
            return None
        return cls(
            grid=arrays["grid"],
            mean=arrays["mean"],
            spread=arrays["spread"],
            fit_se=arrays["fit_se"],
            accuracy_range=(low, high),
            n=int(n),
            bandwidth=bandwidth,
            neighbours=int(neighbours),
        )

    def _at(self, values: np.ndarray, accuracy: np.ndarray | float) -> np.ndarray:
        x = np.atleast_1d(logit(accuracy))
        out = np.empty((len(x), values.shape[1]))
        for k in range(values.shape[1]):
            out[:, k] = np.interp(x, self.grid, values[:, k])
        return out if np.ndim(accuracy) else out[0]

    def expected(self, accuracy: np.ndarray | float) -> np.ndarray:
        """Expected error ratio per factor at ``accuracy`` (clamped to the zoo's accuracy range)."""
        return self._at(self.mean, accuracy)

    def band_sd(self, accuracy: np.ndarray | float) -> np.ndarray:
        """Standard deviation of a new zoo model's ratio around the trend at ``accuracy``."""
        return np.sqrt(self._at(self.spread, accuracy) ** 2 + self._at(self.fit_se, accuracy) ** 2)


def _tricube_weights(x: np.ndarray, grid: np.ndarray, bandwidth: float, neighbours: int) -> np.ndarray:
    distance = np.abs(grid[:, None] - x[None, :])
    k = min(len(x), neighbours)
    h = np.partition(distance, k - 1, axis=1)[:, k - 1][:, None]
    h = np.maximum(h * 1.0001, bandwidth)  # the k-th neighbour keeps a small weight
    return np.clip(1.0 - (distance / h) ** 3, 0.0, None) ** 3


def fit_trend(
    accuracy: np.ndarray,
    error_ratio: np.ndarray,
    *,
    bandwidth: float = BANDWIDTH,
    neighbours: int = NEIGHBOURS,
    grid: int = GRID,
) -> Trend:
    """Fit the per-factor trend of ``error_ratio`` (n, F) against ``accuracy`` (n,) by local linear regression."""
    accuracy = np.asarray(accuracy, dtype=np.float64)
    error_ratio = np.asarray(error_ratio, dtype=np.float64)
    x = logit(accuracy)
    g = np.linspace(x.min(), x.max(), grid)
    w = _tricube_weights(x, g, bandwidth, neighbours)  # (G, n)
    mean = np.empty((grid, error_ratio.shape[1]))
    spread = np.empty_like(mean)
    fit_se = np.empty_like(mean)
    # Factors with the same missing values share one equivalent kernel (usually all 16 do).
    finite = np.isfinite(error_ratio)
    patterns: dict[bytes, list[int]] = {}
    for k in range(error_ratio.shape[1]):
        patterns.setdefault(finite[:, k].tobytes(), []).append(k)
    for columns in patterns.values():
        ok = finite[:, columns[0]]
        wk, xk, yk = w[:, ok], x[ok], error_ratio[np.ix_(ok, columns)]
        d = xk[None, :] - g[:, None]
        s0, s1, s2 = wk.sum(1), (wk * d).sum(1), (wk * d * d).sum(1)
        det = np.where(np.abs(s0 * s2 - s1 * s1) > 1e-12, s0 * s2 - s1 * s1, np.inf)
        # equivalent kernel: the fitted value at grid point j is sum_i lk[j, i] * y[i]
        lk = wk * (s2[:, None] - d * s1[:, None]) / det[:, None]
        flat = ~np.isfinite(det)
        if flat.any():  # all neighbours at one accuracy: a local mean
            lk[flat] = wk[flat] / s0[flat, None]
        m = lk @ yk  # (G, len(columns))
        fitted = np.stack([np.interp(xk, g, m[:, j]) for j in range(len(columns))], axis=1)
        sd = np.sqrt((wk @ (yk - fitted) ** 2) / s0[:, None])
        mean[:, columns] = m
        spread[:, columns] = sd
        fit_se[:, columns] = sd * np.sqrt((lk * lk).sum(1))[:, None]
    return Trend(
        grid=g,
        mean=mean,
        spread=spread,
        fit_se=fit_se,
        accuracy_range=(float(accuracy.min()), float(accuracy.max())),
        n=len(accuracy),
        bandwidth=bandwidth,
        neighbours=neighbours,
    )


def fit_quality(trend: Trend, accuracy: np.ndarray, error_ratio: np.ndarray, names: list[str]) -> dict:
    """Per factor: R^2 of the trend, Spearman rho of raw ratio and of excess with accuracy."""
    expected = trend.expected(np.asarray(accuracy))
    excess = error_ratio - expected
    out = {}
    for k, name in enumerate(names):
        y = error_ratio[:, k]
        ok = np.isfinite(y)
        total = np.var(y[ok])
        out[name] = {
            "r2": float(1.0 - np.var(excess[ok, k]) / total) if total > 0 else None,
            "rho_raw": spearman(accuracy, y),
            "rho_excess": spearman(accuracy, excess[:, k]),
            "residual_sd": float(np.std(excess[ok, k])),
        }
    return out
