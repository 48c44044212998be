"""Alignment: which annotation row each prediction is about, and how much of the split they cover.

Predictions name their images by file name; the annotations of a split
(``imagenet_x_hf.annotations.split_annotations``) hold one row per annotated image.
``align`` joins the two: validation names become integer image numbers and index a
lookup table (the fast path), any other name is matched as a string. Unannotated
images are ignored and counted, prototypes too when they are filtered, and a
prediction set that matches nothing is an error naming an example.

>>> import numpy as np
>>> from imagenet_x_hf.annotations import split_annotations
>>> from imagenet_x_hf.metrics.predictions import Predictions
>>> ann = split_annotations("validation")
>>> names = ["ILSVRC2012_val_00004487.JPEG", "notes.txt"]
>>> aligned = align(Predictions.from_arrays(names, [1, 2]), ann)
>>> aligned.rows.tolist(), aligned.positions.tolist(), aligned.coverage["unannotated_ignored"]
([0], [0], 1)
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from imagenet_x_hf.annotations import SplitAnnotations
from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.metrics.predictions import (
    Predictions,
    check_class_ids,
    check_probabilities,
    check_unique,
    val_numbers,
)


@dataclass(frozen=True)
class Aligned:
    """One model's predictions joined to the annotation rows they score.

    ``rows[i]`` is the annotation row of the prediction at ``positions[i]``;
    ``classes`` and ``probabilities`` are the checked values of every prediction.
    """

    rows: np.ndarray
    positions: np.ndarray
    coverage: dict
    classes: np.ndarray
    probabilities: np.ndarray | None

    def keep(self, mask: np.ndarray) -> Aligned:
        """The same alignment restricted to the scored images where ``mask`` holds."""
        return Aligned(self.rows[mask], self.positions[mask], self.coverage, self.classes, self.probabilities)

    def predicted(self) -> np.ndarray:
        return self.classes[self.positions]


_UNANNOTATED = -1
_PROTOTYPE = -2
# per split annotations (by identity, dropped with them): validation image number -> code
_CODES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _numbers(predictions: Predictions, ann: SplitAnnotations, source: str) -> np.ndarray | None:
    """The checked validation image numbers of ``predictions``, or None when names are matched as strings."""
    if ann.val_row is None:
        return None
    numbers = predictions.val_numbers
    if numbers is None:
        numbers = val_numbers(predictions.file_names)
    if numbers is not None and not predictions.numbers_checked:
        # Predictions built without from_arrays were never checked for repeats
        check_unique(None, numbers, source=source)
    return numbers


def _codes(ann: SplitAnnotations, filter_prototypes: bool) -> np.ndarray:
    """Image number -> annotation row, ``_UNANNOTATED``, or ``_PROTOTYPE`` (a prototype left out)."""
    per_split = _CODES.setdefault(ann, {})
    codes = per_split.get(filter_prototypes)
    if codes is None:
        codes = ann.val_row.copy()
        if filter_prototypes:
            rows = codes[codes >= 0]
            codes[codes >= 0] = np.where(ann.is_prototype[rows], _PROTOTYPE, rows)
        per_split[filter_prototypes] = codes
    return codes


def annotation_rows(predictions: Predictions, ann: SplitAnnotations, *, source: str) -> np.ndarray:
    """The annotation row of each prediction, -1 where its image is not annotated."""
    numbers = _numbers(predictions, ann, source)
    if numbers is not None:
        return _coded(numbers, _codes(ann, False))
    names = np.asarray(predictions.names(), dtype=object)
    check_unique(names, source=source)
    found = pc.index_in(pa.array(names, pa.string()), value_set=ann.file_names)
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


def _coded(numbers: np.ndarray, codes: np.ndarray) -> np.ndarray:
    if len(numbers) and numbers.max() < len(codes):
        return codes[numbers]
    index = np.full(len(numbers), _UNANNOTATED, dtype=np.int64)
    known = numbers < len(codes)
    index[known] = codes[numbers[known]]
    return index


def _checked_values(predictions: Predictions, source: str) -> tuple[np.ndarray, np.ndarray | None]:
    if len(predictions) == 0:
        raise ImageNetXError(f"{source}: no predictions given; pass at least one image's prediction")
    # a record built directly, not through from_arrays, gets the same checks here
    classes = check_class_ids(predictions.predicted_class, what="predicted_class", source=source, copy=False)
    if len(classes) != len(predictions):
        raise ImageNetXError(
            f"{source}: {len(predictions)} file names but {len(classes)} predicted classes; "
            "give exactly one predicted class per file name"
        )
    probabilities = None
    if predictions.predicted_probability is not None:
        probabilities = check_probabilities(predictions.predicted_probability, len(classes), source=source)
    return classes, probabilities


def align(predictions: Predictions, ann: SplitAnnotations, *, filter_prototypes: bool = True) -> Aligned:
    """Join ``predictions`` to the annotation rows of ``ann``, with the coverage counts."""
    source = predictions.name or "predictions"
    classes, probabilities = _checked_values(predictions, source)
    numbers = _numbers(predictions, ann, source)
    if numbers is not None:
        # validation names: one gather gives the row, or why the image is not scored
        code = _coded(numbers, _codes(ann, filter_prototypes))
        positions = np.flatnonzero(code >= 0)
        n_prototypes = int(np.count_nonzero(code == _PROTOTYPE)) if filter_prototypes else 0
        n_unannotated = len(code) - len(positions) - n_prototypes
        rows = code[positions]
    else:
        index = annotation_rows(predictions, ann, source=source)
        annotated = index >= 0
        prototype = np.zeros(len(index), dtype=bool)
        if filter_prototypes:
            prototype[annotated] = ann.is_prototype[index[annotated]]
        positions = np.flatnonzero(annotated & ~prototype)
        n_prototypes = int(prototype.sum())
        n_unannotated = int((~annotated).sum())
        rows = index[positions]
    n_annotated = int(len(ann) - (ann.is_prototype.sum() if filter_prototypes else 0))
    used = len(positions)
    if used == 0:
        hint = (
            " (the prototype images are excluded by default; keep them with filter_prototypes=False)"
            if n_prototypes
            else ""
        )
        raise ImageNetXError(
            f"{source}: none of its {len(predictions)} file names is an annotated ImageNet-X {ann.split} image"
            f"{hint}; e.g. {str(predictions.file_names[0])!r}. Use the original ImageNet file names "
            "(ILSVRC2012_val_00000001.JPEG for validation) and the matching split"
        )
    return Aligned(
        rows=rows,
        positions=positions,
        classes=classes,
        probabilities=probabilities,
        coverage={
            "annotated": n_annotated,
            "predictions": len(predictions),
            "used": used,
            "missing": n_annotated - used,
            "unannotated_ignored": n_unannotated,
            "prototypes_ignored": n_prototypes,
        },
    )
