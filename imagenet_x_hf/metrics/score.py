"""Score predictions against the ImageNet-X annotations: the JSON-ready results.

``score_predictions`` joins one model's predictions to the annotations by file
name (``metrics.align``), reports how much of the split they cover, and computes
the error ratio of every factor with its confidence interval, plus per-metaclass
and calibration breakdowns. ``score_arrays`` does the same from correctness and
factor flags given directly. ``paired_comparison`` compares two models on the
images both cover. How predictions are scored is one ``ScoringOptions`` object
(``imagenet_x_hf.settings``); its defaults follow the authors' toolkit, so that
first numbers are the paper's. ``score_predictions`` returns a typed ``Results``
(``imagenet_x_hf.results``).
"""

from __future__ import annotations

import math
import os

import numpy as np

from imagenet_x_hf.annotations import SplitAnnotations, class_to_metaclass, split_annotations
from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.metrics.align import Aligned, align
from imagenet_x_hf.metrics.breakdowns import ECE_BINS, calibration_error, metaclass_counts
from imagenet_x_hf.metrics.core import (
    FactorCounts,
    as_correct_matrix,
    as_factor_matrix,
    correctness,
    counts_from_nonzero,
    error_ratio,
)
from imagenet_x_hf.metrics.intervals import (
    INTERVAL_METHOD,
    PAIRED_METHOD,
    error_ratio_interval,
    paired_difference,
    z_value,
)
from imagenet_x_hf.metrics.predictions import Predictions, check_class_ids, check_probabilities
from imagenet_x_hf.results import FactorResult, Results
from imagenet_x_hf.schema import FACTORS, METACLASSES
from imagenet_x_hf.settings import ScoringOptions


def _options(options: ScoringOptions | None) -> ScoringOptions:
    if options is None:
        return ScoringOptions()
    if not isinstance(options, ScoringOptions):
        raise ImageNetXError(
            f"options must be an imagenet_x_hf.settings.ScoringOptions (e.g. ScoringOptions(which_factor='multi')), "
            f"not {type(options).__name__}"
        )
    return options


def _none(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _nones(values: np.ndarray) -> list[float | None]:
    """``_none`` of every value, for a whole array at once."""
    return [None if v != v else v for v in values.astype(np.float64).tolist()]


def score_arrays(
    correct: np.ndarray,
    factors: np.ndarray | None,
    *,
    metaclass: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    confidence_level: float = 0.95,
    factor_pairs: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict:
    """Results of one model from its correctness flags and the (N, 16) factor flags.

    ``factor_pairs`` may replace ``factors``: the (image, factor) index pairs of the
    set flags, as ``np.nonzero(factors)`` gives them.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> factors = np.eye(16, dtype=bool)[rng.integers(0, 16, 500)]
    >>> out = score_arrays(rng.random(500) < 0.8, factors)
    >>> out["images"], sorted(out["error_ratio"]) == sorted(FACTORS)
    (500, True)
    """
    z_value(confidence_level)
    correct = as_correct_matrix(correct)
    if correct.shape[0] != 1:
        raise ImageNetXError("score_arrays scores one model: pass a 1-D correctness vector")
    correct = correct[0]
    if factor_pairs is None:
        factors = as_factor_matrix(factors, len(correct), width=len(FACTORS))
        # one pass over the factor flags serves the counts and both breakdowns
        nonzero = np.nonzero(factors)
    else:
        nonzero = factor_pairs
    k = len(FACTORS)
    breakdown = None
    if metaclass is None:
        counts = counts_from_nonzero(correct, nonzero, k)
    else:
        # one pass serves the counts and the metaclass breakdown: the per-factor
        # counts are the per-(metaclass, factor) counts summed over metaclasses
        breakdown = metaclass_counts(correct, nonzero, metaclass, len(METACLASSES), k)
        counts = FactorCounts(
            images=breakdown[2].sum(axis=0),
            correct=breakdown[3].sum(axis=0)[None, :],
            total=len(correct),
            total_correct=np.array([np.count_nonzero(correct)], dtype=np.int64),
        )
    ratio = error_ratio(counts)[0]
    errors_factor = counts.images - counts.correct[0]
    errors = counts.total - counts.total_correct[0]
    low, high = error_ratio_interval(
        errors_factor, counts.images, errors, counts.total, confidence_level=confidence_level
    )
    # The bisection ends can miss an estimate on the edge (every prediction wrong gives
    # exactly 1) by rounding; an interval always contains its own estimate.
    with np.errstate(invalid="ignore"):
        low, high = np.fmin(low, ratio), np.fmax(high, ratio)
    accuracy = counts.accuracy[0]
    columns = zip(
        FACTORS,
        counts.images.tolist(),
        counts.correct[0].tolist(),
        _nones(counts.factor_accuracy[0]),
        _nones(ratio),
        _nones(low),
        _nones(high),
    )
    factors_out = {
        f: {
            "images": images,
            "correct": right,
            "accuracy": acc,
            "error_ratio": r,
            "error_ratio_low": lo,
            "error_ratio_high": hi,
        }
        for f, images, right, acc, r, lo, hi in columns
    }
    result = {
        "images": int(counts.total),
        "accuracy": _none(accuracy),
        "error_rate": _none(1.0 - accuracy),
        "error_ratio": {f: v["error_ratio"] for f, v in factors_out.items()},
        "factors": factors_out,
    }
    result["metaclass"] = None
    if breakdown is not None:
        result["metaclass"] = _metaclass_breakdown(*breakdown)
    result["calibration"] = None
    if probabilities is not None:
        overall, per_factor = calibration_error(
            correct, probabilities, None, nonzero=nonzero, width=k, factor_images=counts.images
        )
        result["calibration"] = {
            "method": f"ECE, {ECE_BINS} equal-width bins",
            "ece": overall,
            "factors": dict(zip(FACTORS, _nones(per_factor))),
        }
    return result


def score_labels(
    predictions,
    references,
    factors,
    probabilities=None,
    options: ScoringOptions | None = None,
) -> dict:
    """Results from class ids and (N, 16) factor flags given directly, without file names.

    ``error_type="real_class"`` needs file names (the ReaL labels are looked up by
    name) and is refused; the metaclass breakdown follows the true classes.

    >>> out = score_labels([1, 2, 3, 4], [1, 0, 3, 0], np.eye(16, dtype=int)[[0, 0, 1, 1]])
    >>> out["which_factor"], out["accuracy"], out["error_ratio"]["pose"]
    ('top', 0.5, 1.0)
    """
    options = _options(options)
    if options.error_type == "real_class":
        raise ImageNetXError(
            "error_type='real_class' needs file names (the ReaL labels are looked up by file name)"
        )
    predicted = check_class_ids(np.asarray(predictions), what="predictions", source="imagenet_x")
    labels = check_class_ids(np.asarray(references), what="references", source="imagenet_x")
    if len(labels) != len(predicted):
        raise ImageNetXError(f"{len(predicted)} predictions but {len(labels)} references; give one per image")
    if probabilities is not None:
        probabilities = check_probabilities(probabilities, len(predicted), source="imagenet_x")
    meta = class_to_metaclass().astype(np.int64)
    correct = correctness(predicted, error_type=options.error_type, labels=labels, metaclass_of_class=meta)
    body = score_arrays(
        correct,
        np.asarray(factors),
        metaclass=meta[labels],
        probabilities=probabilities,
        confidence_level=options.confidence_level,
    )
    return {"which_factor": options.which_factor, "error_type": options.error_type, **body}


def _metaclass_breakdown(
    images: np.ndarray, right: np.ndarray, f_images: np.ndarray, f_right: np.ndarray
) -> dict:
    """The ``"metaclass"`` block from ``metaclass_counts``."""
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = right / images
        f_acc = f_right / f_images
        ratio = (1.0 - f_acc) / (1.0 - acc)[:, None]
    # an all-correct metaclass has no error ratio (0 / 0, or x / 0 for its factors)
    ratio[right == images] = np.nan
    acc_l, images_l, right_l = _nones(acc), images.tolist(), right.tolist()
    f_images_l, f_acc_l, ratio_l = f_images.tolist(), f_acc.tolist(), ratio.tolist()
    for g, name in enumerate(METACLASSES):
        if images_l[g] == 0:
            continue
        out[name] = {
            "images": images_l[g],
            "correct": right_l[g],
            "accuracy": acc_l[g],
            "factor_images": dict(zip(FACTORS, f_images_l[g])),
            "factor_accuracy": {f: None if v != v else v for f, v in zip(FACTORS, f_acc_l[g])},
            "error_ratio": {f: None if v != v else v for f, v in zip(FACTORS, ratio_l[g])},
        }
    return out


def _scored(predictions: Predictions, ann: SplitAnnotations, options: ScoringOptions) -> tuple[Aligned, int]:
    """The alignment of one model, less the images ``empty_real="exclude"`` leaves out."""
    aligned = align(predictions, ann, filter_prototypes=options.filter_prototypes)
    if options.error_type != "real_class" or options.empty_real != "exclude":
        return aligned, 0
    has_real = ann.real.lengths(aligned.rows) > 0
    return aligned.keep(has_real), int((~has_real).sum())


def _correct(predicted: np.ndarray, rows: np.ndarray, ann: SplitAnnotations, error_type: str) -> np.ndarray:
    return correctness(
        predicted,
        error_type=error_type,
        labels=ann.labels[rows],
        metaclass_of_class=ann.metaclass_of_class,
        real_labels=ann.real_dense[rows] if error_type == "real_class" else None,
    )


def score_predictions(
    predictions: Predictions,
    options: ScoringOptions | None = None,
    *,
    annotations_dir: str | os.PathLike | None = None,
    breakdowns: bool = True,
) -> Results:
    """Per-factor error ratios of one model, with intervals and coverage.

    Args:
        predictions: one model's predictions (``read_predictions`` or ``Predictions.from_arrays``).
        options: how to score (``ScoringOptions``: split, which_factor, error_type,
            filter_prototypes, empty_real, confidence_level); the toolkit's defaults if None.
        annotations_dir: another copy of the authors' annotation files.
        breakdowns: add the per-metaclass and calibration breakdowns (``False`` leaves
            ``"metaclass"`` and ``"calibration"`` as ``None``, a little faster for bulk scoring).

    Predictions may cover part of the split (the coverage block says how much) and
    may include images without annotations (ignored and counted). ``to_dict()`` of the
    returned ``Results`` is what ``score --json`` prints.

    >>> import numpy as np
    >>> from imagenet_x_hf.annotations import split_annotations
    >>> from imagenet_x_hf.metrics import Predictions
    >>> ann = split_annotations("validation")
    >>> names, labels = ann.file_names[:3000].to_pylist(), ann.labels[:3000]
    >>> wrong_every_7th = np.where(np.arange(3000) % 7 == 0, (labels + 1) % 1000, labels)
    >>> out = score_predictions(Predictions.from_arrays(names, wrong_every_7th, name="toy"))
    >>> out.coverage["predictions"], out.coverage["used"] + out.coverage["prototypes_ignored"]
    (3000, 3000)
    >>> round(out.error_rate, 2), out.interval_method
    (0.14, 'koopman-score-risk-ratio')
    >>> multi = score_predictions(Predictions.from_arrays(names, labels), ScoringOptions(which_factor="multi"))
    >>> multi.scoring.which_factor, multi.accuracy
    ('multi', 1.0)
    """
    options = _options(options)
    ann = split_annotations(options.split, annotations_dir)
    aligned, excluded = _scored(predictions, ann, options)
    coverage = {**aligned.coverage, "real_empty_excluded": excluded}
    coverage["used"] -= excluded
    if len(aligned.rows) == 0:
        raise ImageNetXError("no scored image has a ReaL label; use empty_real='error' or error_type='class'")
    probabilities = None
    if breakdowns and aligned.probabilities is not None:
        probabilities = aligned.probabilities[aligned.positions]
    body = score_arrays(
        _correct(aligned.predicted(), aligned.rows, ann, options.error_type),
        None,
        factor_pairs=ann.factors(options.which_factor).pairs(aligned.rows),
        metaclass=ann.metaclass[aligned.rows] if breakdowns else None,
        probabilities=probabilities,
        confidence_level=options.confidence_level,
    )
    return Results(
        scoring=options,
        images=body["images"],
        accuracy=body["accuracy"],
        factors=tuple(_factor_result(f, body["factors"][f]) for f in FACTORS),
        model=predictions.name,
        interval_method=INTERVAL_METHOD,
        coverage=coverage,
        metaclass=body["metaclass"],
        calibration=body["calibration"],
    )


def _factor_result(factor: str, entry: dict) -> FactorResult:
    return FactorResult(
        factor,
        entry["images"],
        entry["correct"],
        entry["accuracy"],
        entry["error_ratio"],
        entry["error_ratio_low"],
        entry["error_ratio_high"],
    )


def paired_comparison(
    a: Predictions,
    b: Predictions,
    options: ScoringOptions | None = None,
    *,
    annotations_dir: str | os.PathLike | None = None,
) -> dict:
    """Per factor, the difference of two models' error ratios (a - b) with an interval.

    Both ratios are computed on the images that both models cover, and the
    interval accounts for the two models being scored on the same images.
    ``options`` as for ``score_predictions``.

    >>> import numpy as np
    >>> from imagenet_x_hf.annotations import split_annotations
    >>> from imagenet_x_hf.metrics import Predictions
    >>> ann = split_annotations("validation")
    >>> names, labels = ann.file_names[:4000].to_pylist(), ann.labels[:4000]
    >>> a = Predictions.from_arrays(names, np.where(np.arange(4000) % 5 == 0, 0, labels), name="a")
    >>> b = Predictions.from_arrays(names[:3500], np.where(np.arange(3500) % 6 == 0, 0, labels[:3500]), name="b")
    >>> out = paired_comparison(a, b)
    >>> out["a"], out["b"], out["images"] < 3500
    ('a', 'b', True)
    >>> d = out["factors"]["pose"]
    >>> d["low"] <= d["difference"] <= d["high"]
    True
    """
    options = _options(options)
    ann = split_annotations(options.split, annotations_dir)
    al_a, _ = _scored(a, ann, options)
    al_b, _ = _scored(b, ann, options)
    rows, ia, ib = np.intersect1d(al_a.rows, al_b.rows, assume_unique=True, return_indices=True)
    if len(rows) == 0:
        raise ImageNetXError(
            f"{a.name or 'a'} and {b.name or 'b'} share no scored image; compare predictions on the same images"
        )
    wrong_a = ~_correct(al_a.predicted()[ia], rows, ann, options.error_type)
    wrong_b = ~_correct(al_b.predicted()[ib], rows, ann, options.error_type)
    factors = ann.factors(options.which_factor).dense(len(FACTORS), rows)
    diff, low, high = paired_difference(wrong_a, wrong_b, factors, confidence_level=options.confidence_level)
    return {
        "a": a.name,
        "b": b.name,
        "images": len(rows),
        **options.to_dict(),
        "interval_method": PAIRED_METHOD,
        "factors": {
            f: {
                "difference": _none(diff[k]),
                "low": _none(low[k]),
                "high": _none(high[k]),
                "images": int(factors[:, k].sum()),
            }
            for k, f in enumerate(FACTORS)
        },
    }
