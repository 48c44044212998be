"""Score predictions against the ImageNet-X annotations: the JSON-ready results.

``score_predictions`` joins one model's predictions to the annotations by file
name, reports how much of the split they cover, and computes the error ratio of
every factor with its confidence interval, plus per-metaclass and calibration
breakdowns. ``score_arrays`` does the same from labels and factor flags given
directly. ``paired_comparison`` compares two models on the images both cover.
Defaults follow the authors' toolkit, so that first numbers are the paper's.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.metrics.breakdowns import ECE_BINS, calibration_error, metaclass_counts
from imagenet_x_hf.metrics.core import (
    EMPTY_REAL,
    ERROR_TYPES,
    WHICH_FACTORS,
    as_correct_matrix,
    as_factor_matrix,
    correctness,
    counts_from_nonzero,
    dense_real_labels,
    error_ratio,
)
from imagenet_x_hf.metrics.intervals import (
    INTERVAL_METHOD,
    PAIRED_METHOD,
    error_ratio_interval,
    paired_difference,
    z_value,
)
from imagenet_x_hf.metrics.predictions import (
    Predictions,
    check_class_ids,
    check_probabilities,
    check_unique,
    val_numbers,
)
from imagenet_x_hf.schema import FACTORS, METACLASSES, SPLITS

VAL_IMAGES = 50_000


@dataclass(frozen=True)
class SplitArrays:
    """The annotation arrays of one split that scoring needs, built once per process."""

    file_names: pa.Array
    labels: np.ndarray
    factors: dict[str, np.ndarray]
    factor_csr: dict[str, tuple[np.ndarray, np.ndarray]]  # row pointers, factor ids
    metaclass: np.ndarray
    is_prototype: np.ndarray
    real_labels: np.ndarray | None
    real_empty: np.ndarray | None
    metaclass_of_class: np.ndarray
    val_row: np.ndarray | None  # validation image number -> annotation row, -1 if unannotated


def _csr(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(flags)
    pointers = np.zeros(len(flags) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(flags)), out=pointers[1:])
    return pointers, cols


def factor_pairs(csr: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero(flags[rows])`` from the CSR form of ``flags``, without building ``flags[rows]``.

    >>> flags = np.array([[1, 0, 1], [0, 0, 0], [0, 1, 0]], dtype=bool)
    >>> [a.tolist() for a in factor_pairs(_csr(flags), np.array([2, 0, 1]))]
    [[0, 1, 1], [1, 0, 2]]
    """
    pointers, cols = csr
    starts = pointers[rows]
    lengths = pointers[rows + 1] - starts
    image = np.repeat(np.arange(len(rows)), lengths)
    first = np.cumsum(lengths) - lengths
    index = np.arange(int(lengths.sum())) + np.repeat(starts - first, lengths)
    return image, cols[index]


def split_arrays(split: str = "validation", annotations_dir: str | os.PathLike | None = None) -> SplitArrays:
    """Annotations of ``split`` as arrays (all rows, prototypes flagged), built once per process."""
    return _split_arrays(split, None if annotations_dir is None else str(annotations_dir))


@functools.lru_cache(maxsize=4)
def _split_arrays(split: str, annotations_dir: str | None) -> SplitArrays:
    from imagenet_x_hf.annotations import AnnotationArrays, class_to_metaclass
    from imagenet_x_hf.api import load

    table = load(split, filter_prototypes=False, annotations_dir=annotations_dir).data.table
    arrays = AnnotationArrays.from_table(table)
    real = empty = val_row = None
    if split == "validation":
        real = dense_real_labels(arrays.real_offsets, arrays.real_values)
        empty = np.diff(arrays.real_offsets) == 0
        numbers = val_numbers(arrays.file_names)
        if numbers is not None:
            val_row = np.full(max(int(numbers.max()), VAL_IMAGES) + 1, -1, dtype=np.int64)
            val_row[numbers] = np.arange(len(numbers))
    return SplitArrays(
        file_names=pa.array(arrays.file_names.tolist(), pa.string()),
        labels=arrays.labels.astype(np.int64),
        factors={"top": arrays.top, "multi": arrays.multi},
        factor_csr={"top": _csr(arrays.top), "multi": _csr(arrays.multi)},
        metaclass=arrays.metaclass.astype(np.int64),
        is_prototype=np.asarray(arrays.is_prototype, dtype=bool),
        real_labels=real,
        real_empty=empty,
        metaclass_of_class=class_to_metaclass(annotations_dir).astype(np.int64),
        val_row=val_row,
    )


split_arrays.cache_clear = _split_arrays.cache_clear  # type: ignore[attr-defined]


def check_options(
    *,
    split: str = "validation",
    which_factor: str = "top",
    error_type: str = "class",
    empty_real: str = "error",
    confidence_level: float = 0.95,
) -> None:
    """Raise a clear error for any option outside its allowed values."""
    for name, value, allowed in (
        ("split", split, SPLITS),
        ("which_factor", which_factor, WHICH_FACTORS),
        ("error_type", error_type, ERROR_TYPES),
        ("empty_real", empty_real, EMPTY_REAL),
    ):
        if value not in allowed:
            raise ImageNetXError(f"unknown {name} {value!r}; pass one of {allowed}")
    if error_type == "real_class" and split != "validation":
        raise ImageNetXError(
            "error_type='real_class' needs ImageNet-ReaL labels, which exist only for split='validation'"
        )
    z_value(confidence_level)


def _none(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


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
    counts = counts_from_nonzero(correct, nonzero, len(FACTORS))
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
    factor_accuracy = counts.factor_accuracy[0]
    result = {
        "images": int(counts.total),
        "accuracy": _none(accuracy),
        "error_rate": _none(1.0 - accuracy),
        "error_ratio": {f: _none(ratio[k]) for k, f in enumerate(FACTORS)},
        "factors": {
            f: {
                "images": int(counts.images[k]),
                "correct": int(counts.correct[0, k]),
                "accuracy": _none(factor_accuracy[k]),
                "error_ratio": _none(ratio[k]),
                "error_ratio_low": _none(low[k]),
                "error_ratio_high": _none(high[k]),
            }
            for k, f in enumerate(FACTORS)
        },
    }
    result["metaclass"] = None
    if metaclass is not None:
        result["metaclass"] = _metaclass_breakdown(correct, nonzero, metaclass)
    result["calibration"] = None
    if probabilities is not None:
        overall, per_factor = calibration_error(
            correct, probabilities, None, nonzero=nonzero, width=len(FACTORS)
        )
        result["calibration"] = {
            "method": f"ECE, {ECE_BINS} equal-width bins",
            "ece": overall,
            "factors": {f: _none(per_factor[k]) for k, f in enumerate(FACTORS)},
        }
    return result


def _metaclass_breakdown(correct: np.ndarray, nonzero: tuple, metaclass: np.ndarray) -> dict:
    images, right, f_images, f_right = metaclass_counts(
        correct, nonzero, metaclass, len(METACLASSES), len(FACTORS)
    )
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = right / images
        f_acc = f_right / f_images
        ratio = (1.0 - f_acc) / (1.0 - acc)[:, None]
    for g, name in enumerate(METACLASSES):
        if images[g] == 0:
            continue
        out[name] = {
            "images": int(images[g]),
            "correct": int(right[g]),
            "accuracy": _none(acc[g]),
            "factor_images": {f: int(f_images[g, k]) for k, f in enumerate(FACTORS)},
            "factor_accuracy": {f: _none(f_acc[g, k]) for k, f in enumerate(FACTORS)},
            "error_ratio": {
                f: (_none(ratio[g, k]) if right[g] < images[g] else None) for k, f in enumerate(FACTORS)
            },
        }
    return out


@dataclass(frozen=True)
class _Aligned:
    rows: np.ndarray  # annotation rows scored
    positions: np.ndarray  # matching positions in the predictions
    coverage: dict
    classes: np.ndarray  # checked predicted classes, all positions
    probabilities: np.ndarray | None


def _align(predictions: Predictions, arrays: SplitArrays, *, split: str, filter_prototypes: bool) -> _Aligned:
    label = predictions.name or "predictions"
    if len(predictions.file_names) == 0:
        raise ImageNetXError(f"{label}: no predictions given; pass at least one image's prediction")
    # a record built directly, not through from_arrays, gets the same checks here
    classes = check_class_ids(predictions.predicted_class, what="predicted_class", source=label)
    if len(classes) != len(predictions.file_names):
        raise ImageNetXError(
            f"{label}: {len(predictions.file_names)} file names but {len(classes)} predicted classes; "
            "give exactly one predicted class per file name"
        )
    probabilities = None
    if predictions.predicted_probability is not None:
        probabilities = check_probabilities(predictions.predicted_probability, len(classes), source=label)
    numbers = predictions.val_numbers
    if numbers is None and arrays.val_row is not None:
        numbers = val_numbers(predictions.file_names)
    if numbers is not None and arrays.val_row is not None:
        # Predictions built without from_arrays were never checked for repeats
        check_unique(predictions.file_names, numbers, source=label)
        index = np.full(len(numbers), -1, dtype=np.int64)
        known = numbers < len(arrays.val_row)
        index[known] = arrays.val_row[numbers[known]]
    else:
        check_unique(np.asarray(predictions.file_names, dtype=object), source=label)
        names = pa.array(np.asarray(predictions.file_names, dtype=object), pa.string())
        found = pc.index_in(names, value_set=arrays.file_names)
        index = pc.fill_null(found, -1).to_numpy().astype(np.int64)
    annotated = index >= 0
    prototype = np.zeros(len(index), dtype=bool)
    if filter_prototypes:
        prototype[annotated] = arrays.is_prototype[index[annotated]]
    keep = annotated & ~prototype
    n_annotated = int(len(arrays.labels) - (arrays.is_prototype.sum() if filter_prototypes else 0))
    used = int(keep.sum())
    if used == 0:
        example = str(predictions.file_names[0])
        hint = (
            " (the prototype images are excluded by default; keep them with filter_prototypes=False)"
            if prototype.any()
            else ""
        )
        raise ImageNetXError(
            f"{label}: none of its {len(index)} file names is an annotated ImageNet-X {split} image"
            f"{hint}; e.g. {example!r}. Use the original ImageNet file names "
            "(ILSVRC2012_val_00000001.JPEG for validation) and the matching split"
        )
    positions = np.flatnonzero(keep)
    return _Aligned(
        rows=index[positions],
        positions=positions,
        classes=classes,
        probabilities=probabilities,
        coverage={
            "annotated": n_annotated,
            "predictions": len(index),
            "used": used,
            "missing": n_annotated - used,
            "unannotated_ignored": int((~annotated).sum()),
            "prototypes_ignored": int(prototype.sum()),
        },
    )


def _correct_on_rows(
    predicted: np.ndarray, rows: np.ndarray, arrays: SplitArrays, *, error_type: str
) -> np.ndarray:
    return correctness(
        predicted,
        error_type=error_type,
        labels=arrays.labels[rows],
        metaclass_of_class=arrays.metaclass_of_class,
        real_labels=arrays.real_labels[rows] if error_type == "real_class" else None,
    )


def score_predictions(
    predictions: Predictions,
    *,
    split: str = "validation",
    which_factor: str = "top",
    error_type: str = "class",
    filter_prototypes: bool = True,
    confidence_level: float = 0.95,
    empty_real: str = "error",
    annotations_dir: str | os.PathLike | None = None,
    breakdowns: bool = True,
) -> dict:
    """Per-factor error ratios of one model, with intervals and coverage (JSON-ready).

    Args:
        predictions: one model's predictions (``read_predictions`` or ``Predictions.from_arrays``).
        split: ``"validation"`` or ``"train"``.
        which_factor: ``"top"`` (one most salient factor per image, the paper's default)
            or ``"multi"`` (every factor marked).
        error_type: ``"class"`` (top-1), ``"real_class"`` (prediction in the ReaL set)
            or ``"metaclass"`` (predicted metaclass is the true one).
        filter_prototypes: leave out the prototype images shown to annotators.
        confidence_level: of the error-ratio intervals.
        empty_real: for ``real_class``, images whose ReaL set is empty are counted as
            ``"error"`` (the toolkit) or ``"exclude"``-d (the ReaL protocol).
        annotations_dir: another copy of the authors' annotation files.
        breakdowns: add the per-metaclass and calibration breakdowns (``False`` leaves
            ``"metaclass"`` and ``"calibration"`` as ``None``, a little faster for bulk scoring).

    Predictions may cover part of the split (the coverage block says how much) and
    may include images without annotations (ignored and counted).

    >>> import numpy as np
    >>> from imagenet_x_hf.metrics import Predictions, split_arrays
    >>> arrays = split_arrays("validation")
    >>> names = np.asarray(arrays.file_names)[:3000]
    >>> wrong_every_7th = np.where(np.arange(3000) % 7 == 0, (arrays.labels[:3000] + 1) % 1000,
    ...                            arrays.labels[:3000])
    >>> out = score_predictions(Predictions.from_arrays(names, wrong_every_7th, name="toy"))
    >>> out["coverage"]["predictions"], out["coverage"]["used"] + out["coverage"]["prototypes_ignored"]
    (3000, 3000)
    >>> round(out["error_rate"], 2), out["interval_method"]
    (0.14, 'koopman-score-risk-ratio')
    """
    check_options(
        split=split,
        which_factor=which_factor,
        error_type=error_type,
        empty_real=empty_real,
        confidence_level=confidence_level,
    )
    arrays = split_arrays(split, annotations_dir)
    aligned = _align(predictions, arrays, split=split, filter_prototypes=filter_prototypes)
    rows, positions = aligned.rows, aligned.positions
    coverage = dict(aligned.coverage)
    coverage["real_empty_excluded"] = 0
    if error_type == "real_class" and empty_real == "exclude":
        keep = ~arrays.real_empty[rows]
        coverage["real_empty_excluded"] = int((~keep).sum())
        coverage["used"] -= coverage["real_empty_excluded"]
        rows, positions = rows[keep], positions[keep]
        if len(rows) == 0:
            raise ImageNetXError(
                "no scored image has a ReaL label; use empty_real='error' or error_type='class'"
            )
    predicted = aligned.classes[positions]
    correct = _correct_on_rows(predicted, rows, arrays, error_type=error_type)
    probabilities = None
    if aligned.probabilities is not None:
        probabilities = aligned.probabilities[positions]
    body = score_arrays(
        correct,
        None,
        factor_pairs=factor_pairs(arrays.factor_csr[which_factor], rows),
        metaclass=arrays.metaclass[rows] if breakdowns else None,
        probabilities=probabilities if breakdowns else None,
        confidence_level=confidence_level,
    )
    return {
        "model": predictions.name,
        "split": split,
        "which_factor": which_factor,
        "error_type": error_type,
        "filter_prototypes": filter_prototypes,
        "empty_real": empty_real,
        "confidence_level": confidence_level,
        "interval_method": INTERVAL_METHOD,
        "coverage": coverage,
        **body,
    }


def paired_comparison(
    a: Predictions,
    b: Predictions,
    *,
    split: str = "validation",
    which_factor: str = "top",
    error_type: str = "class",
    filter_prototypes: bool = True,
    confidence_level: float = 0.95,
    empty_real: str = "error",
    annotations_dir: str | os.PathLike | None = None,
) -> dict:
    """Per factor, the difference of two models' error ratios (a - b) with an interval.

    Both ratios are computed on the images that both models cover, and the
    interval accounts for the two models being scored on the same images.

    >>> import numpy as np
    >>> from imagenet_x_hf.metrics import Predictions, split_arrays
    >>> arrays = split_arrays("validation")
    >>> names, labels = np.asarray(arrays.file_names)[:4000], arrays.labels[:4000]
    >>> a = Predictions.from_arrays(names, np.where(np.arange(4000) % 5 == 0, 0, labels), name="a")
    >>> b = Predictions.from_arrays(names[:3500], np.where(np.arange(3500) % 6 == 0, 0, labels[:3500]), name="b")
    >>> out = paired_comparison(a, b)
    >>> out["a"], out["b"], out["images"] < 3500
    ('a', 'b', True)
    >>> d = out["factors"]["pose"]
    >>> d["low"] <= d["difference"] <= d["high"]
    True
    """
    check_options(
        split=split,
        which_factor=which_factor,
        error_type=error_type,
        empty_real=empty_real,
        confidence_level=confidence_level,
    )
    arrays = split_arrays(split, annotations_dir)
    al_a = _align(a, arrays, split=split, filter_prototypes=filter_prototypes)
    al_b = _align(b, arrays, split=split, filter_prototypes=filter_prototypes)
    rows, ia, ib = np.intersect1d(al_a.rows, al_b.rows, assume_unique=True, return_indices=True)
    if error_type == "real_class" and empty_real == "exclude":
        keep = ~arrays.real_empty[rows]
        rows, ia, ib = rows[keep], ia[keep], ib[keep]
    if len(rows) == 0:
        raise ImageNetXError(
            f"{a.name or 'a'} and {b.name or 'b'} share no scored image; compare predictions on the same images"
        )
    wrong = []
    for al, idx in ((al_a, ia), (al_b, ib)):
        predicted = al.classes[al.positions[idx]]
        wrong.append(~_correct_on_rows(predicted, rows, arrays, error_type=error_type))
    factors = arrays.factors[which_factor][rows]
    diff, low, high = paired_difference(wrong[0], wrong[1], factors, confidence_level=confidence_level)
    return {
        "a": a.name,
        "b": b.name,
        "images": len(rows),
        "split": split,
        "which_factor": which_factor,
        "error_type": error_type,
        "filter_prototypes": filter_prototypes,
        "empty_real": empty_real,
        "confidence_level": confidence_level,
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
