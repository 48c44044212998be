"""The evaluation runner: any image classifier on ImageNet-X, on one process or many (``accelerate``).

``evaluate_model(model, output, options=RunOptions(imagenet=...))`` predicts every
annotated image and writes predictions.parquet, predictions.csv and results.json;
``evaluate_models`` does it for a list of models, recording failures, and ``sweep_models``
does the same decoding each image once per group of models that share their preprocessing.
The command lines are ``imagenet-x evaluate`` and ``imagenet-x sweep`` (also under
``accelerate launch -m imagenet_x_hf ...``).

>>> from imagenet_x_hf.runner import RunOptions, ScoringOptions
>>> RunOptions(imagenet="/data/imagenet", scoring=ScoringOptions(which_factor="multi")).precision
'auto'
"""

from imagenet_x_hf.runner.adapters import LoadOptions, ModelLoadError, ModelSpec, model_spec
from imagenet_x_hf.runner.bulk import evaluate_models
from imagenet_x_hf.runner.labels import LabelSpace, read_label_map, resolve_label_space
from imagenet_x_hf.runner.preprocess import Preprocessing
from imagenet_x_hf.runner.run import RunnerError, RunOptions, evaluate_model
from imagenet_x_hf.runner.store import RunStateError
from imagenet_x_hf.runner.sweep import sweep_models
from imagenet_x_hf.settings import ScoringOptions

__all__ = [
    "LabelSpace",
    "LoadOptions",
    "ModelLoadError",
    "ModelSpec",
    "Preprocessing",
    "RunOptions",
    "RunStateError",
    "RunnerError",
    "ScoringOptions",
    "evaluate_model",
    "evaluate_models",
    "model_spec",
    "read_label_map",
    "resolve_label_space",
    "sweep_models",
]
