"""Predictions as Hub datasets: many models' per-image predictions in one repository.

- ``export_predictions(inputs, directory)``: run directories, prediction files or
  ``Predictions`` records to a dataset repository (one configuration per model, a models
  table, a generated card); ``push_predictions(directory, repo_id)`` uploads it;
- ``open_predictions(source)``: read one back, from a folder or ``hf://datasets/ORG/REPO``
  (``.../MODEL`` for one model), fetching only the files of the models asked for;
- ``extra_models(source)``: a repository's models as a reference population for
  ``imagenet_x_hf.zoo.place(results, extra=...)`` (``rank --zoo-extra``).

The layout is described in :mod:`imagenet_x_hf.share.layout`.
"""

from imagenet_x_hf.errors import PredictionsRepoError
from imagenet_x_hf.share.export import ExportResult, export_predictions
from imagenet_x_hf.share.layout import config_name
from imagenet_x_hf.share.read import (
    PredictionsRepo,
    SharedModel,
    is_predictions_source,
    open_predictions,
    read_each,
)
from imagenet_x_hf.share.zoo_extra import extra_models

__all__ = [
    "ExportResult",
    "PredictionsRepo",
    "PredictionsRepoError",
    "SharedModel",
    "config_name",
    "export_predictions",
    "extra_models",
    "is_predictions_source",
    "open_predictions",
    "read_each",
]
