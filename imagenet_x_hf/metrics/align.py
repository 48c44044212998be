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


def annotation_rows(predictions: Predictions, ann: SplitAnnotations, *, source: str) -> np.ndarray:
    """The annotation row of each prediction, -1 where its image is not annotated."""
    lookup = ann.val_row
    numbers = predictions.val_numbers
    if numbers is None and lookup is not None:
        numbers = val_numbers(predictions.file_names)
    if numbers is not None and lookup is not None:
        # Predictions built without from_arrays were never checked for repeats
        check_unique(None, numbers, source=source)
        index = np.full(len(numbers), -1, dtype=np.int64)
        known = numbers < len(lookup)
        index[known] = lookup[numbers[known]]
        return index
    names = np.asarray(predictions.file_names, dtype=object)
    check_unique(names, source=source)
    found = pc.index_in(pa.array(names, pa.string()), value_set=ann.file_names)
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


def _checked_values(predictions: Predictions, source: str) -> tuple[np.ndarray, np.ndarray | None]:
    if len(predictions) == 0:
        raise ImageNetXError(f"{source}: no predictions given; pass at least one image's prediction")
    # a record built directly, not through from_arrays, gets the same checks here
    classes = check_class_ids(predictions.predicted_class, what="predicted_class", source=source)
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
    index = annotation_rows(predictions, ann, source=source)
    annotated = index >= 0
    prototype = np.zeros(len(index), dtype=bool)
    if filter_prototypes:
        prototype[annotated] = ann.is_prototype[index[annotated]]
    keep = annotated & ~prototype
    n_annotated = int(len(ann) - (ann.is_prototype.sum() if filter_prototypes else 0))
    used = int(keep.sum())
    if used == 0:
        hint = (
            " (the prototype images are excluded by default; keep them with filter_prototypes=False)"
            if prototype.any()
            else ""
        )
        raise ImageNetXError(
            f"{source}: none of its {len(index)} file names is an annotated ImageNet-X {ann.split} image"
            f"{hint}; e.g. {str(predictions.file_names[0])!r}. Use the original ImageNet file names "
            "(ILSVRC2012_val_00000001.JPEG for validation) and the matching split"
        )
    positions = np.flatnonzero(keep)
    return Aligned(
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
