"""One model's predictions joined, image by image, to the ImageNet-X annotations.

The report shows images, so it needs more than the RESULTS dict: for every scored
image its annotation row, its top-5 predictions (``predictions.parquet`` of a run
holds them; an authors' CSV has the top-1 only) and whether it counts as correct
under the results' own settings. The join reproduces the metric's selection
(prototypes, ReaL exclusions), and the counts are checked against the results so
that a report never shows images from predictions other than the ones scored.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from imagenet_x_hf.errors import ResultsFileError
from imagenet_x_hf.reports.inputs import ModelResults
from imagenet_x_hf.results import Results
from imagenet_x_hf.settings import ScoringOptions

TOP_K = 5


@dataclasses.dataclass(frozen=True)
class ScoredImages:
    """The images one model was scored on, in the order of its predictions file.

    ``rows`` index the split's annotation arrays (``imagenet_x_hf.annotations.split_annotations``);
    ``top5_classes``/``top5_probabilities`` are ``(N, 5)`` or ``None`` when the file
    holds the top-1 only.
    """

    name: str
    rows: np.ndarray
    predicted: np.ndarray
    probability: np.ndarray | None
    top5_classes: np.ndarray | None
    top5_probabilities: np.ndarray | None
    correct: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


def _read_top5(path: Path | None, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The top-5 columns of a runner's ``predictions.parquet``, or ``(None, None)``."""
    if path is None or path.suffix.lower() != ".parquet":
        return None, None
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    if "top5_classes" not in names or "top5_probabilities" not in names:
        return None, None
    table = pq.read_table(path, columns=["top5_classes", "top5_probabilities"])
    out = []
    for column in ("top5_classes", "top5_probabilities"):
        values = table.column(column).combine_chunks()
        lengths = pc.list_value_length(values).to_numpy(zero_copy_only=False)
        if len(values) != n or values.null_count or not (lengths == TOP_K).all():
            raise ResultsFileError(
                f"{path}: the column {column} does not hold {TOP_K} entries for each of the {n} "
                "predictions; the file is damaged: rerun 'imagenet-x evaluate' (it resumes) to rewrite it"
            )
        out.append(values.flatten().to_numpy(zero_copy_only=False).reshape(n, TOP_K))
    return out[0].astype(np.int64), out[1].astype(np.float64)


def scored_images(model: ModelResults, settings: ScoringOptions | None = None) -> ScoredImages:
    """Join ``model``'s predictions to the annotations under ``settings`` (default: its results').

    Raises ``ResultsFileError`` when the model has no predictions, or when the images
    and accuracy found here differ from what its results report (a results.json
    beside predictions from another run).
    """
    from imagenet_x_hf.annotations import split_annotations
    from imagenet_x_hf.metrics import correctness
    from imagenet_x_hf.metrics.align import annotation_rows

    settings = settings or model.results.scoring
    predictions = model.predictions()
    arrays = split_annotations(settings.split)
    index = annotation_rows(predictions, arrays, source=model.name)
    keep = index >= 0
    if settings.filter_prototypes:
        keep[keep] = ~arrays.is_prototype[index[keep]]
    if settings.error_type == "real_class" and settings.empty_real == "exclude":
        keep[keep] = arrays.real.lengths(index[keep]) > 0
    positions = np.flatnonzero(keep)
    if len(positions) == 0:
        raise ResultsFileError(
            f"{model.name}: none of its predictions is an annotated ImageNet-X {settings.split} image; "
            "use the original ImageNet file names and the matching split"
        )
    rows = index[positions]
    predicted = np.asarray(predictions.predicted_class)[positions]
    error_type = settings.error_type
    correct = correctness(
        predicted,
        error_type=error_type,
        labels=arrays.labels[rows],
        metaclass_of_class=arrays.metaclass_of_class,
        real_labels=arrays.real_dense[rows] if error_type == "real_class" else None,
    )
    top5_classes, top5_probabilities = _read_top5(model.predictions_path, len(predictions.file_names))
    probability = predictions.predicted_probability
    return ScoredImages(
        name=model.name,
        rows=rows,
        predicted=predicted,
        probability=None if probability is None else np.asarray(probability)[positions],
        top5_classes=None if top5_classes is None else top5_classes[positions],
        top5_probabilities=None if top5_probabilities is None else top5_probabilities[positions],
        correct=np.asarray(correct, dtype=bool),
    )


def check_agrees(images: ScoredImages, results: Results, *, source: str) -> None:
    """Fail unless the joined images give the image count and accuracy the results report."""
    expected = results.images
    if expected != len(images):
        raise ResultsFileError(
            f"{source}: its results report {int(expected):,} scored images but its predictions give "
            f"{len(images):,} under the same settings; the results and predictions come from different "
            "runs: rerun 'imagenet-x evaluate' or pass the predictions file alone (it is scored here)"
        )
    accuracy = results.accuracy
    found = float(images.correct.mean())
    if accuracy is not None and not math.isclose(found, float(accuracy), rel_tol=0, abs_tol=1e-9):
        raise ResultsFileError(
            f"{source}: its results report accuracy {float(accuracy):.6f} but its predictions give "
            f"{found:.6f}; the results and predictions come from different runs: rerun 'imagenet-x "
            "evaluate' or pass the predictions file alone (it is scored here)"
        )


def factor_flags(rows: np.ndarray, which_factor: str, split: str) -> np.ndarray:
    """The ``(N, 16)`` factor flags of annotation ``rows`` under ``which_factor``."""
    from imagenet_x_hf.annotations import split_annotations

    return split_annotations(split).factors(which_factor).dense(rows=rows)


def paired_rows(a: ScoredImages, b: ScoredImages) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, positions in a, positions in b)`` of the images both models were scored on."""
    rows, ia, ib = np.intersect1d(a.rows, b.rows, assume_unique=True, return_indices=True)
    return rows, ia, ib
