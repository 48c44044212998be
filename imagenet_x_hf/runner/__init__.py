"""The evaluation runner: any image classifier on ImageNet-X, on one process or many (``accelerate``).

``evaluate_model(model, output, options=RunOptions(imagenet=...))`` predicts every
annotated image and writes predictions.parquet, predictions.csv and results.json;
``evaluate_models`` does it for a list of models, recording failures. The command
line is ``imagenet-x evaluate`` (also under ``accelerate launch -m imagenet_x_hf evaluate``).

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
]
