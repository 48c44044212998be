"""Where a model stands among a reference of the authors' zoo: expected ratio, excess, percentiles.

``place(results)`` takes one model's ``Results`` (of
``imagenet_x_hf.metrics.score_predictions``, or a run's ``results.json``) and, per
factor, compares its error ratio with a reference population of zoo models scored the
same way (same which_factor and error_type). The reference (``reference=``) is ``all``
zoo models, ``no-sweeps`` or ``type:<key>``; in every case each family (an
augmentation sweep, a checkpoint series, or a single model) weighs one unit
(:mod:`imagenet_x_hf.zoo.reference`). A model that is itself in the zoo (same name) is
placed against the reference without its own family.

- ``expected_error_ratio``: the reference's trend at the model's overall accuracy;
- ``excess`` = ``error_ratio - expected_error_ratio`` (below 0: fewer errors on the
  factor than models of its accuracy usually make), with ``excess_interval`` =
  ``excess`` -+ the band's half-width: the band holds 95% of the ratios that models of
  this accuracy score on these images (their differences and the sampling noise of the
  images together, counted once), so an interval that excludes 0 says the model is
  unusual on that factor. For held-out zoo models this happens about 5% of the time
  (:mod:`imagenet_x_hf.zoo.calibration`, checked in the tests). The model's own
  ``error_ratio_interval`` (how far its ratio could move on other images) is reported
  beside it and not added: its noise is already in the band;
- ``percentile_all``: weighted percent of reference models whose excess is lower
  (higher = more of its errors fall on this factor than its accuracy explains);
- ``percentile_similar_accuracy``: weighted percent of the reference models within
  ``SIMILAR_WINDOW`` accuracy of the model whose raw error ratio is lower.

Placement needs predictions for at least ``COVERAGE_THRESHOLD`` of the annotated images
(the zoo's models were scored on all of them); below it the output says so and gives no
expected ratio, excess or percentile. Beyond the reference's accuracy range, or where
fewer than ``MIN_FAMILIES_NEAR`` families lie within ``SIMILAR_WINDOW``, the placement is
marked as an extrapolation (its intervals are wider, and summaries draw no verdict).
"""

from __future__ import annotations

import hashlib
import math
import os
from typing import Any

import numpy as np

from imagenet_x_hf.results import Placement, Results
from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.zoo.files import COMMIT, REPOSITORY, ZooError, derived_path, load_derived, save_derived
from imagenet_x_hf.zoo.reference import Population, select, type_key
from imagenet_x_hf.zoo.table import Zoo, ZooSlice, load_zoo
from imagenet_x_hf.zoo.trend import BANDWIDTH, FAMILIES_NEAR, Trend, fit_quality, fit_trend

SIMILAR_WINDOW = 0.02  # +- 2 accuracy points
COVERAGE_THRESHOLD = 0.95  # share of the annotated images a placed model must have predictions for
MIN_FAMILIES_NEAR = 5  # fewer families within SIMILAR_WINDOW: an extrapolation
METHOD = (
    f"local linear regression (tricube, at least {BANDWIDTH} logit wide and {FAMILIES_NEAR} families) of "
    "each factor's error ratio on logit accuracy, each family (an augmentation sweep, a checkpoint series, a "
    "single model) weighing one; band = the models' spread around the trend on the same images (sampling "
    "noise included once) and the trend's own error, t quantile on the families near; excess interval = "
    "excess -+ the band's half-width"
)
INTERVAL_IN_WORDS = (
    "The interval is the excess give or take the range that holds 95% of the models of this accuracy "
    "(how much such models differ, with the noise of scoring on these images); when it excludes 0, "
    "the model differs on that factor from models of its accuracy, which happens to about 1 in 20 "
    "factors of a typical model by chance."
)


class Reference:
    """What placing against one population needs, computed once: the trend and sorted values."""

    def __init__(
        self,
        population: Population,
        *,
        trend: Trend | None = None,
        name: str = "all",
        excluded: tuple[str, ...] = (),
    ):
        if len(population) < 3:
            raise ZooError(f"the reference {name!r} holds {len(population)} model(s); it needs at least 3")
        self.population = population
        self.name = name
        self.excluded = excluded
        self.names = population.names
        self.accuracy = population.accuracy
        self.error_ratio = population.error_ratio
        self.weight = population.weight()
        self.trend = trend or fit_trend(self.accuracy, self.error_ratio, family=population.family)
        self.expected = self.trend.expected(self.accuracy)
        self.excess = self.error_ratio - self.expected
        self.excess_sorted = []
        for col in self.excess.T:
            ok = np.flatnonzero(np.isfinite(col))
            order = ok[np.argsort(col[ok], kind="mergesort")]
            self.excess_sorted.append((col[order], np.r_[0.0, np.cumsum(self.weight[order])]))
        w = self.weight
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = np.isfinite(self.error_ratio)
            self.r2 = np.array(
                [
                    1.0
                    - np.cov(self.excess[ok[:, k], k], aweights=w[ok[:, k]])
                    / np.cov(c[ok[:, k]], aweights=w[ok[:, k]])
                    for k, c in enumerate(self.error_ratio.T)
                ]
            )
        order = np.argsort(self.accuracy, kind="mergesort")
        self.by_accuracy = order
        self.accuracy_sorted = self.accuracy[order]
        self.name_set = frozenset(str(n) for n in self.names)
        self._quality: dict | None = None
        self._without: dict[str, Reference] = {}
        self._memo: dict = {}

    @property
    def n(self) -> int:
        return len(self.accuracy)

    @property
    def families(self) -> int:
        return self.trend.families

    def quality(self) -> dict:
        """Per factor: trend R^2 and Spearman rho of raw ratio and excess with accuracy (families once)."""
        if self._quality is None:
            self._quality = fit_quality(
                self.trend, self.accuracy, self.error_ratio, list(FACTORS), family=self.population.family
            )
        return self._quality

    def describe(self, rows: np.ndarray | None = None) -> str:
        """What the reference (or its ``rows``) is made of, in words."""
        if rows is not None:
            return self.population.describe(rows)
        if "describe" not in self._memo:
            self._memo["describe"] = self.population.describe()
        return self._memo["describe"]

    def types(self) -> dict[str, int]:
        """Model count per type."""
        if "types" not in self._memo:
            self._memo["types"] = self.population.types()
        return dict(self._memo["types"])

    def near(self, accuracy: float, window: float = SIMILAR_WINDOW) -> np.ndarray:
        """Rows of the reference models within ``window`` of ``accuracy``."""
        lo = np.searchsorted(self.accuracy_sorted, accuracy - window, side="left")
        hi = np.searchsorted(self.accuracy_sorted, accuracy + window, side="right")
        return self.by_accuracy[lo:hi]


def _trend_path(zoo_slice: ZooSlice, spec: str, without: str | None):
    source = zoo_slice._cache.get("source")
    if source is None:
        return None
    tag = hashlib.sha256(f"{spec}|{without or ''}".encode()).hexdigest()[:10]
    return derived_path(source, f"trend-{zoo_slice.which_factor}-{zoo_slice.error_type}-{tag}")


def _fitted(zoo_slice: ZooSlice, population: Population, spec: str, without: str | None = None) -> Reference:
    path = _trend_path(zoo_slice, spec, without)
    trend = Trend.from_arrays(load_derived(path)) if path is not None else None
    excluded = () if without is None else (without,)
    ref = Reference(population, trend=trend, name=spec, excluded=excluded)
    if path is not None and trend is None:
        save_derived(path, ref.trend.to_arrays())
    return ref


def reference_of(zoo_slice: ZooSlice, spec: str = "all") -> Reference:
    """The cached :class:`Reference` of a zoo slice (its fitted trend is also kept beside the downloads)."""
    key = ("reference", spec)
    if key not in zoo_slice._cache:
        population = select(Population.from_slice(zoo_slice), spec)
        zoo_slice._cache[key] = _fitted(zoo_slice, population, spec)
    return zoo_slice._cache[key]


def reference_without(zoo_slice: ZooSlice, spec: str, name: str) -> Reference:
    """The reference ``spec`` without the family of the zoo model ``name`` (for placing that model)."""
    base = reference_of(zoo_slice, spec)
    if name not in base.name_set:
        return base
    family = str(base.population.family[np.flatnonzero(base.names == name)[0]])
    if family not in base._without:
        keep = base.population.family != family
        base._without[family] = _fitted(zoo_slice, base.population.subset(keep), spec, without=family)
        base._without[family].excluded = (family,)
    return base._without[family]


def _own_rows(extra: Population, results: Results) -> np.ndarray:
    """Rows of ``extra`` that are the placed model: same name, or the same accuracy and 16 ratios."""
    name = results.model
    ratios = np.array([_number(row.error_ratio) for row in results.factors], dtype=np.float64)
    same_name = np.array([name is not None and str(n) == str(name) for n in extra.names], dtype=bool)
    same_numbers = (extra.accuracy == _number(results.accuracy)) & np.all(
        (extra.error_ratio == ratios) | (np.isnan(extra.error_ratio) & np.isnan(ratios)), axis=1
    )
    return same_name | same_numbers


def reference_with_extra(zoo_slice: ZooSlice, spec: str, extra: Population, results: Results) -> Reference:
    """The reference ``spec`` with the models of ``extra`` added, less the placed model's family on either side.

    A model is never its own reference: the placed model's family is left out of the zoo
    (as :func:`reference_without` does) and out of ``extra`` (matched by name, or by
    identical accuracy and ratios when it was renamed). Fitted once per distinct exclusion.
    """
    name = results.model
    base = (
        reference_without(zoo_slice, spec, str(name)) if name is not None else reference_of(zoo_slice, spec)
    )
    own = _own_rows(extra, results)
    families = set(extra.family[own].tolist())
    keep = ~np.isin(extra.family.astype(str), sorted(families)) if families else np.ones(len(extra), bool)
    if spec.strip().startswith("type:"):  # a reference of one type takes the added models of that type
        wanted = spec.strip()[5:].strip().lower()
        keep &= np.array([type_key(str(t)) == wanted or str(t).lower() == wanted for t in extra.model_type])
    added = extra.subset(keep)
    key = ("extra", spec, base.excluded, tuple(added.names.tolist()), tuple(added.family.tolist()))
    if key not in zoo_slice._cache:
        excluded = base.excluded + tuple(sorted(families))
        label = f"{spec} + {len(added)} added model{'s' if len(added) != 1 else ''}"
        zoo_slice._cache[key] = Reference(base.population.concat(added), name=label, excluded=excluded)
    return zoo_slice._cache[key]


def _percentile(values: np.ndarray, cum_weight: np.ndarray, value: float) -> float | None:
    if len(values) == 0 or not math.isfinite(value):
        return None
    below = cum_weight[np.searchsorted(values, value, side="left")]
    upto = cum_weight[np.searchsorted(values, value, side="right")]
    return float(100.0 * (below + 0.5 * (upto - below)) / cum_weight[-1])


def _weighted_percentile(values: np.ndarray, weights: np.ndarray, value: float) -> float | None:
    ok = np.isfinite(values)
    order = np.argsort(values[ok], kind="mergesort")
    return _percentile(values[ok][order], np.r_[0.0, np.cumsum(weights[ok][order])], value)


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


def coverage_of(results: Results, threshold: float = COVERAGE_THRESHOLD) -> dict:
    """How much of the annotated images the results cover, and whether that is enough to place them."""
    cov = results.coverage or {}
    annotated, used = cov.get("annotated"), cov.get("used")
    if not annotated or used is None:
        return {"annotated": None, "used": None, "fraction": None, "threshold": threshold, "placed": True}
    fraction = float(used) / float(annotated)
    return {
        "annotated": int(annotated),
        "used": int(used),
        "fraction": round(fraction, 6),
        "threshold": threshold,
        "placed": fraction >= threshold,
    }


def _extrapolation(ref: Reference, accuracy: float, families_near: int) -> dict:
    low, high = ref.trend.accuracy_range
    reason = None
    if not math.isfinite(accuracy):
        reason = "no accuracy"
    elif accuracy > high or accuracy < low:
        side, edge = ("above the highest", high) if accuracy > high else ("below the lowest", low)
        reason = (
            f"accuracy {accuracy:.4f} is {side} in the reference ({edge:.4f}): the trend is continued beyond "
            "its data with a wider band; read the excess as a rough guide"
        )
    elif families_near < MIN_FAMILIES_NEAR:
        reason = (
            f"only {families_near} famil{'y' if families_near == 1 else 'ies'} of the reference lie within "
            f"{100 * SIMILAR_WINDOW:g} points of accuracy {accuracy:.4f} (fewer than {MIN_FAMILIES_NEAR}): "
            "the trend there rests on models further away"
        )
    return {"extrapolated": reason is not None, "reason": reason}


def place(
    results: Results,
    *,
    zoo: Zoo | None = None,
    zoo_dir: str | os.PathLike | None = None,
    similar_window: float = SIMILAR_WINDOW,
    reference: str = "all",
    extra: Population | None = None,
) -> dict:
    """Place one model's results among a reference of the zoo's models, factor by factor.

    ``extra`` adds other models to the reference (your own, e.g.
    ``imagenet_x_hf.share.extra_models("hf://datasets/ORG/REPO")``, each family weighing
    one like the zoo's), less the placed model's family (:func:`reference_with_extra`).

    Returns a JSON-ready dict: ``model``, ``accuracy``, ``accuracy_percentile``,
    ``reference`` (what the population is made of, overall and near the model's
    accuracy), ``coverage`` (share of the annotated images and the threshold),
    ``extrapolation`` (``extrapolated`` and ``reason``), ``zoo`` (source, commit,
    models, method), ``notes`` and ``factors``: factor -> ``error_ratio`` (with the
    model's own ``error_ratio_interval``), ``expected_error_ratio``, ``excess``,
    ``excess_interval`` ([low, high]), ``band`` ([low, high] of the reference's band for a
    model's true ratio at this accuracy), ``percentile_all``,
    ``percentile_similar_accuracy``, ``similar_models`` and ``trend_r2``.
    """
    _check_results(results)
    zoo = zoo if zoo is not None else load_zoo(zoo_dir)
    scoring = results.scoring
    which, error_type = scoring.which_factor, scoring.error_type
    zoo_slice = zoo.slice(which, error_type)
    name = results.model
    if extra is not None:
        ref = reference_with_extra(zoo_slice, reference, extra, results)
    elif name is not None:
        ref = reference_without(zoo_slice, reference, str(name))
    else:
        ref = reference_of(zoo_slice, reference)
    accuracy = _number(results.accuracy)
    level = float(scoring.confidence_level)
    coverage = coverage_of(results)
    notes = []
    if ref.excluded and extra is None:
        notes.append(f"{name} is itself in the zoo: it is placed against the reference without its family")
    elif ref.excluded:
        notes.append(
            f"{name} is placed against the reference without its own family ({', '.join(ref.excluded)})"
        )
    if not scoring.filter_prototypes:
        notes.append("the model was scored with the prototype images, the zoo without them")
    if scoring.error_type == "real_class" and scoring.empty_real != "error":
        notes.append("the model excludes images without ReaL labels, the zoo counts them as errors")
    if not coverage["placed"]:
        notes.append(
            f"the predictions cover {coverage['used']:,} of the {coverage['annotated']:,} annotated images "
            f"({100 * coverage['fraction']:.1f}%, below the {100 * COVERAGE_THRESHOLD:.0f}% that placement needs): "
            "the zoo's models were scored on all of them, so no expected ratio, excess or percentile is given"
        )
    placed = coverage["placed"] and math.isfinite(accuracy)
    near_rows = ref.near(accuracy, similar_window) if placed else np.array([], dtype=np.int64)
    families_near = len(set(ref.population.family[near_rows].tolist()))
    extrapolation = (
        _extrapolation(ref, accuracy, families_near) if placed else {"extrapolated": False, "reason": None}
    )
    if extrapolation["extrapolated"]:
        notes.append(f"extrapolation: {extrapolation['reason']}")
    nan16 = np.full(len(FACTORS), np.nan)
    expected = ref.trend.expected(accuracy) if placed else nan16
    half_band = ref.trend.quantile(accuracy, level) * ref.trend.band_sd(accuracy) if placed else nan16
    near_ratio, near_weight = ref.error_ratio[near_rows], ref.weight[near_rows]
    factors = {}
    for k, f in enumerate(FACTORS):
        d = results.factor(f)
        ratio, low, high = _number(d.error_ratio), _number(d.low), _number(d.high)
        excess = ratio - expected[k]
        factors[f] = {
            "error_ratio": _none(ratio),
            "error_ratio_interval": [_none(low), _none(high)],
            "expected_error_ratio": _none(expected[k]),
            "excess": _none(excess),
            "excess_interval": [_none(excess - half_band[k]), _none(excess + half_band[k])],
            "band": [_none(expected[k] - half_band[k]), _none(expected[k] + half_band[k])],
            "percentile_all": _percentile(*ref.excess_sorted[k], excess) if placed else None,
            "percentile_similar_accuracy": (
                _weighted_percentile(near_ratio[:, k], near_weight, ratio) if placed else None
            ),
            "similar_models": int(np.isfinite(near_ratio[:, k]).sum()),
            "trend_r2": _none(ref.r2[k]),
        }
    return {
        "model": name,
        "accuracy": _none(accuracy),
        "accuracy_percentile": (_weighted_percentile(ref.accuracy, ref.weight, accuracy) if placed else None),
        "which_factor": which,
        "error_type": error_type,
        "confidence_level": level,
        "reference": {
            "name": ref.name if extra is not None else reference,
            "models": ref.n,
            "families": ref.families,
            "types": ref.types(),
            "excluded_family": ref.excluded[0] if ref.excluded else None,
            "added_models": int(np.isin(ref.names, extra.names).sum()) if extra is not None else 0,
            "description": ref.describe(),
            "near": {
                "window": similar_window,
                "models": len(near_rows),
                "families": families_near,
                "description": ref.describe(near_rows) if len(near_rows) else "no reference model",
            },
        },
        "coverage": coverage,
        "extrapolation": extrapolation,
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
    which_factor: str = "top", error_type: str = "class", *, zoo: Zoo | None = None, reference: str = "all"
) -> dict[str, dict]:
    """Per factor, across the reference: trend R^2, Spearman rho with accuracy of the raw ratio and of the excess."""
    zoo = zoo if zoo is not None else load_zoo()
    return reference_of(zoo.slice(which_factor, error_type), reference).quality()


def zoo_block(
    results: Results, *, zoo_dir: str | os.PathLike | None = None, reference: str = "all"
) -> Placement:
    """The ``zoo`` block of a run's results.json: the placement, or a note saying why it is absent.

    Never raises for a missing zoo: offline without a cache or a local copy, the block
    says how to get the tables. Downloads only when online and the cache lacks them.
    """
    try:
        return Placement.from_dict(place(results, zoo_dir=zoo_dir, reference=reference))
    except (ZooError, KeyError, TypeError, ValueError, OSError) as err:
        # a finished run must still write its results: the block says what went wrong instead
        return Placement(skipped=True, note=f"not placed among the ImageNet-X zoo: {err}")
