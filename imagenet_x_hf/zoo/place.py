"""Where a model stands among the authors' zoo: expected ratio at its accuracy, excess, percentiles.

``place(results)`` takes one model's ``Results`` (of
``imagenet_x_hf.metrics.score_predictions``, or a run's ``results.json``) and, per
factor, compares its error ratio with the zoo's models scored the same way (same
which_factor and error_type):

- ``expected_error_ratio``: the zoo's trend at the model's overall accuracy;
- ``excess`` = ``error_ratio - expected_error_ratio`` (below 0: fewer errors on the
  factor than models of its accuracy usually make), with ``excess_interval``, which
  combines the model's own interval and the trend's prediction band in quadrature
  (an interval that excludes 0 means the model is outside the zoo's usual spread at
  its accuracy, beyond its own sampling noise);
- ``percentile_all``: percent of zoo models whose excess is lower (higher = more of
  its errors fall on this factor than its accuracy explains);
- ``percentile_similar_accuracy``: percent of the zoo models within
  ``SIMILAR_WINDOW`` accuracy of the model whose raw error ratio is lower.
"""

from __future__ import annotations

import math
import os
from statistics import NormalDist
from typing import Any

import numpy as np

from imagenet_x_hf.results import Placement, Results
from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.zoo.files import COMMIT, REPOSITORY, ZooError, derived_path, load_derived, save_derived
from imagenet_x_hf.zoo.table import Zoo, ZooSlice, load_zoo
from imagenet_x_hf.zoo.trend import BANDWIDTH, NEIGHBOURS, Trend, fit_quality, fit_trend

SIMILAR_WINDOW = 0.02  # +- 2 accuracy points
METHOD = (
    f"local linear regression (tricube, bandwidth {BANDWIDTH} logit, at least {NEIGHBOURS} models) of each "
    "factor's error ratio on logit accuracy "
    "across the zoo; band = local residual spread and fit error; excess interval = model interval "
    "and band combined in quadrature"
)


class Reference:
    """What ranking against one zoo slice needs, computed once: the trend and sorted zoo values."""

    def __init__(self, zoo_slice: ZooSlice, trend: Trend | None = None):
        use = zoo_slice.use
        self.slice = zoo_slice
        self.names = zoo_slice.model[use]
        self.accuracy = zoo_slice.accuracy[use]
        self.error_ratio = zoo_slice.error_ratio[use]
        self.trend: Trend = fit_trend(self.accuracy, self.error_ratio) if trend is None else trend
        self.expected = self.trend.expected(self.accuracy)
        self.excess = self.error_ratio - self.expected
        self.excess_sorted = [np.sort(col[np.isfinite(col)]) for col in self.excess.T]
        with np.errstate(invalid="ignore"):
            self.r2 = 1.0 - np.nanvar(self.excess, axis=0) / np.nanvar(self.error_ratio, axis=0)
        order = np.argsort(self.accuracy, kind="mergesort")
        self.accuracy_sorted = self.accuracy[order]
        self.ratio_by_accuracy = self.error_ratio[order]
        self._quality: dict | None = None

    @property
    def n(self) -> int:
        return len(self.accuracy)

    def quality(self) -> dict:
        """Per factor: trend R^2 and Spearman rho of raw ratio and excess with accuracy."""
        if self._quality is None:
            self._quality = fit_quality(self.trend, self.accuracy, self.error_ratio, list(FACTORS))
        return self._quality


def reference(zoo_slice: ZooSlice) -> Reference:
    """The cached :class:`Reference` of a zoo slice (its fitted trend is also kept beside the downloads)."""
    if "reference" not in zoo_slice._cache:
        source = zoo_slice._cache.get("source")
        trend = None
        path = (
            derived_path(source, f"trend-{zoo_slice.which_factor}-{zoo_slice.error_type}") if source else None
        )
        if path is not None:
            trend = Trend.from_arrays(load_derived(path))
        ref = Reference(zoo_slice, trend)
        if path is not None and trend is None:
            save_derived(path, ref.trend.to_arrays())
        zoo_slice._cache["reference"] = ref
    return zoo_slice._cache["reference"]


def _percentile(sorted_values: np.ndarray, value: float) -> float | None:
    if len(sorted_values) == 0 or not math.isfinite(value):
        return None
    below = np.searchsorted(sorted_values, value, side="left")
    upto = np.searchsorted(sorted_values, value, side="right")
    return float(100.0 * (below + 0.5 * (upto - below)) / len(sorted_values))


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _check_results(results: Results) -> None:
    if not isinstance(results, Results):
        raise ZooError(
            "place() needs one model's Results: those of score_predictions, or "
            "Results.from_dict(a run's results.json)"
        )
    if results.scoring.split != "validation":
        raise ZooError(
            f"the zoo's tables are for the validation split, these results are for {results.scoring.split!r}; "
            "score validation predictions to place a model"
        )


def place(
    results: Results,
    *,
    zoo: Zoo | None = None,
    zoo_dir: str | os.PathLike | None = None,
    similar_window: float = SIMILAR_WINDOW,
) -> dict:
    """Place one model's results among the zoo's models, factor by factor (see the module docstring).

    Returns a JSON-ready dict: ``model``, ``accuracy``, ``accuracy_percentile``, ``zoo``
    (source, commit, models, method), ``notes`` (differences in settings that make the
    comparison approximate) and ``factors``: factor -> ``error_ratio`` (with the model's
    own ``error_ratio_interval``), ``expected_error_ratio``, ``excess``, ``excess_interval`` ([low, high]),
    ``band`` ([low, high] of the zoo's prediction band at this accuracy),
    ``percentile_all``, ``percentile_similar_accuracy``, ``similar_models`` and
    ``trend_r2`` (the share of the zoo's variance of this factor's ratio that the
    accuracy trend explains).
    """
    _check_results(results)
    zoo = zoo if zoo is not None else load_zoo(zoo_dir)
    scoring = results.scoring
    which, error_type = scoring.which_factor, scoring.error_type
    ref = reference(zoo.slice(which, error_type))
    accuracy = _number(results.accuracy)
    level = float(scoring.confidence_level)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    notes = []
    if not scoring.filter_prototypes:
        notes.append("the model was scored with the prototype images, the zoo without them")
    if scoring.error_type == "real_class" and scoring.empty_real != "error":
        notes.append("the model excludes images without ReaL labels, the zoo counts them as errors")
    lo_acc, hi_acc = ref.trend.accuracy_range
    if math.isfinite(accuracy) and not lo_acc <= accuracy <= hi_acc:
        notes.append(
            f"accuracy {accuracy:.4f} is outside the zoo's range [{lo_acc:.4f}, {hi_acc:.4f}]: "
            "the trend is held at its end value"
        )
    expected = ref.trend.expected(accuracy) if math.isfinite(accuracy) else np.full(len(FACTORS), np.nan)
    band = ref.trend.band_sd(accuracy) if math.isfinite(accuracy) else np.full(len(FACTORS), np.nan)
    lo = np.searchsorted(ref.accuracy_sorted, accuracy - similar_window, side="left")
    hi = np.searchsorted(ref.accuracy_sorted, accuracy + similar_window, side="right")
    neighbours = ref.ratio_by_accuracy[lo:hi]
    factors = {}
    for k, f in enumerate(FACTORS):
        d = results.factor(f)
        ratio = _number(d.error_ratio)
        low, high = _number(d.low), _number(d.high)
        excess = ratio - expected[k]
        half_band = z * band[k]
        own_low = ratio - low if math.isfinite(low) else 0.0
        own_high = high - ratio if math.isfinite(high) else 0.0
        near = neighbours[:, k]
        near = np.sort(near[np.isfinite(near)])
        factors[f] = {
            "error_ratio": _none(ratio),
            "error_ratio_interval": [_none(low), _none(high)],
            "expected_error_ratio": _none(expected[k]),
            "excess": _none(excess),
            "excess_interval": [
                _none(excess - math.hypot(own_low, half_band)),
                _none(excess + math.hypot(own_high, half_band)),
            ],
            "band": [_none(expected[k] - half_band), _none(expected[k] + half_band)],
            "percentile_all": _percentile(ref.excess_sorted[k], excess),
            "percentile_similar_accuracy": _percentile(near, ratio),
            "similar_models": len(near),
            "trend_r2": _none(ref.r2[k]),
        }
    return {
        "model": results.model,
        "accuracy": _none(accuracy),
        "accuracy_percentile": _percentile(ref.accuracy_sorted, accuracy),
        "which_factor": which,
        "error_type": error_type,
        "confidence_level": level,
        "zoo": {
            "source": zoo.source.describe(),
            "repository": REPOSITORY,
            "commit": COMMIT,
            "models": ref.n,
            "similar_window": similar_window,
            "method": METHOD,
        },
        "notes": notes,
        "factors": factors,
    }


def adjustment_check(
    which_factor: str = "top", error_type: str = "class", *, zoo: Zoo | None = None
) -> dict[str, dict]:
    """Per factor, across the zoo: trend R^2, and Spearman rho with accuracy of the raw ratio and of the excess."""
    zoo = zoo if zoo is not None else load_zoo()
    return reference(zoo.slice(which_factor, error_type)).quality()


def zoo_block(results: Results, *, zoo_dir: str | os.PathLike | None = None) -> Placement:
    """The ``zoo`` block of a run's results.json: the placement, or a note saying why it is absent.

    Never raises for a missing zoo: offline without a cache or a local copy, the block
    says how to get the tables. Downloads only when online and the cache lacks them.
    """
    try:
        return Placement.from_dict(place(results, zoo_dir=zoo_dir))
    except (ZooError, KeyError, TypeError, ValueError, OSError) as err:
        # a finished run must still write its results: the block says what went wrong instead
        return Placement(skipped=True, note=f"not placed among the ImageNet-X zoo: {err}")
