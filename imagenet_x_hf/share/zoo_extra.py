"""Your own models as part of the reference population that ``rank`` places a model against.

``extra_models(source, which_factor=..., error_type=...)`` scores every model of a
predictions repository (a folder or ``hf://datasets/ORG/REPO``) the way the zoo's tables
are scored (the toolkit's defaults, with the slice's which_factor and error_type) and
returns them as a :class:`imagenet_x_hf.zoo.reference.Population`: name, accuracy, the 16
error ratios, family and model type from the models table. Models exported with
``--family NAME`` (a sweep, a checkpoint series) share the family ``extra:NAME`` and weigh
one unit together, as the zoo's sweeps do; any other model is its own family. Pass it to
``imagenet_x_hf.zoo.place(results, extra=...)``, which leaves the placed model's family
out, so that a model is never its own reference.
"""

from __future__ import annotations

import math
import os

import numpy as np

from imagenet_x_hf.errors import PredictionsRepoError
from imagenet_x_hf.schema import FACTORS

UNSTATED_TYPE = "not stated (added with --zoo-extra)"


def _float(value) -> float:
    return float("nan") if value is None else float(value)


def extra_models(source: str | os.PathLike, *, which_factor: str = "top", error_type: str = "class"):
    """The models of a predictions repository as a reference population (see the module docstring).

    >>> import tempfile
    >>> from imagenet_x_hf.annotations import split_annotations
    >>> from imagenet_x_hf.metrics import Predictions
    >>> from imagenet_x_hf.share import export_predictions
    >>> ann = split_annotations("validation")
    >>> names, labels = ann.file_names.to_pylist(), ann.labels
    >>> folder = tempfile.mkdtemp()
    >>> runs = [Predictions.from_arrays(names, np.where(np.arange(len(labels)) % k, labels, (labels + 1) % 1000),
    ...                                 name=f"sweep-{k}") for k in (3, 5)]
    >>> _ = export_predictions(runs, folder, family="my-sweep")
    >>> extra = extra_models(folder)
    >>> extra.names.tolist(), extra.family.tolist(), extra.accuracy.round(2).tolist()
    (['sweep-3', 'sweep-5'], ['extra:my-sweep', 'extra:my-sweep'], [0.67, 0.8])
    >>> float(extra.weight().sum())  # one family: one unit
    1.0
    """
    from imagenet_x_hf.metrics import score_predictions
    from imagenet_x_hf.settings import ScoringOptions
    from imagenet_x_hf.share.read import open_predictions
    from imagenet_x_hf.zoo.reference import EXTRA_FAMILY_PREFIX, Population

    options = ScoringOptions(which_factor=which_factor, error_type=error_type)
    repo = open_predictions(source)
    names, accuracy, ratios, family, types = [], [], [], [], []
    for model in repo.models:
        results = score_predictions(repo.read(model), options, breakdowns=False)
        if not math.isfinite(_float(results.accuracy)):
            raise PredictionsRepoError(
                f"{model.model!r} of {source} has no accuracy on the validation split; it cannot join the "
                "reference: export validation predictions"
            )
        names.append(model.model)
        accuracy.append(_float(results.accuracy))
        ratios.append([_float(row.error_ratio) for row in results.factors])
        family.append(EXTRA_FAMILY_PREFIX + (model.row.get("family") or model.model))
        types.append(model.row.get("model_type") or UNSTATED_TYPE)
    return Population(
        names=np.array(names, dtype=object),
        accuracy=np.array(accuracy, dtype=np.float64),
        error_ratio=np.array(ratios, dtype=np.float64).reshape(-1, len(FACTORS)),
        family=np.array(family, dtype=object),
        model_type=np.array(types, dtype=object),
        # not a ResNet-50 augmentation sweep of the authors' zoo (the flag the zoo's wording and
        # 'no-sweeps' read); a family of your own still weighs one unit through its family key
        sweep=np.zeros(len(names), dtype=bool),
    )
