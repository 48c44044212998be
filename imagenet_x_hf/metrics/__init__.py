"""Per-factor error ratios: a numpy core, intervals, breakdowns, alignment and file-level scoring.

``core`` (counts and ratios), ``intervals``, ``breakdowns``: plain numpy functions;
``predictions``: the ``Predictions`` record and file reader; ``align``: predictions to
annotation rows; ``score``: the typed ``Results``, configured by one ``ScoringOptions``.

``METRIC_PATH`` is the folder of the ``evaluate`` module (``evaluate.load(METRIC_PATH)``).

>>> from imagenet_x_hf.metrics import METRIC_PATH
>>> METRIC_PATH.endswith("imagenet_x")
True
"""

from pathlib import Path

from imagenet_x_hf.metrics.compat import restore_tf_model_name_when_imported
from imagenet_x_hf.metrics.core import (
    EMPTY_REAL,
    ERROR_TYPES,
    WHICH_FACTORS,
    FactorCounts,
    correctness,
    error_ratio,
    factor_counts,
)
from imagenet_x_hf.metrics.intervals import (
    INTERVAL_METHOD,
    PAIRED_METHOD,
    error_ratio_interval,
    paired_difference,
    ratio_intervals,
)
from imagenet_x_hf.metrics.predictions import Predictions, read_predictions
from imagenet_x_hf.metrics.score import (
    paired_comparison,
    score_arrays,
    score_labels,
    score_predictions,
)
from imagenet_x_hf.results import Results
from imagenet_x_hf.settings import ScoringOptions

METRIC_PATH = str(Path(__file__).resolve().parent / "imagenet_x")
# evaluate.evaluator(..., metric=METRIC_PATH) checks transformers before loading the metric
# module (whose import alone would be too late) and fails under transformers 5 without this.
restore_tf_model_name_when_imported()

__all__ = [
    "EMPTY_REAL",
    "ERROR_TYPES",
    "INTERVAL_METHOD",
    "METRIC_PATH",
    "PAIRED_METHOD",
    "WHICH_FACTORS",
    "FactorCounts",
    "Predictions",
    "Results",
    "ScoringOptions",
    "correctness",
    "error_ratio",
    "error_ratio_interval",
    "factor_counts",
    "paired_comparison",
    "paired_difference",
    "ratio_intervals",
    "read_predictions",
    "score_arrays",
    "score_labels",
    "score_predictions",
]
