"""Your own models as part of the reference population that ``rank`` places a model against.

``extra_models(source, which_factor, error_type)`` scores every model of a predictions
repository (a folder or ``hf://datasets/ORG/REPO``) the way the zoo's tables are scored
(the toolkit's defaults, with the slice's which_factor and error_type) and returns them
as arrays: name, accuracy, the 16 error ratios, family and model type from the models
table. A model exported with ``--family NAME`` (a sweep) shares that family with the
others of the name, so a sweep counts as one family of the reference; any other model is
its own family. ``ExtraModels.without(results)`` drops the model being placed, so that a
model is never its own reference (matched by name, or by identical accuracy and ratios
when it was renamed).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from imagenet_x_hf.errors import PredictionsRepoError
from imagenet_x_hf.schema import FACTORS

EXTRA_FAMILY_PREFIX = "extra:"
UNSTATED_TYPE = "not stated (added with --zoo-extra)"


@dataclass(frozen=True)
class ExtraModels:
    """Models added to a reference: one entry per model, arrays aligned."""

    names: np.ndarray  # (n,) str objects
    accuracy: np.ndarray  # (n,)
    error_ratio: np.ndarray  # (n, 16), NaN where a ratio is undefined
    family: np.ndarray  # (n,) str objects: "extra:<family>" or "extra:<name>"
    model_type: np.ndarray  # (n,) str objects
    sweep: np.ndarray  # (n,) bool: exported with a family

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, keep: np.ndarray) -> ExtraModels:
        return ExtraModels(*(a[keep] for a in self.arrays()))

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.names, self.accuracy, self.error_ratio, self.family, self.model_type, self.sweep

    def without(self, results: Mapping) -> ExtraModels:
        """These models less the one whose ``results`` are being placed (by name or identical numbers)."""
        name = results.get("model")
        ratios = np.array(
            [_float((results.get("factors") or {}).get(f, {}).get("error_ratio")) for f in FACTORS],
            dtype=np.float64,
        )
        accuracy = _float(results.get("accuracy"))
        same_name = (
            np.array([n == name for n in self.names], dtype=bool) if name else np.zeros(len(self), bool)
        )
        same_numbers = (self.accuracy == accuracy) & np.all(
            (self.error_ratio == ratios) | (np.isnan(self.error_ratio) & np.isnan(ratios)), axis=1
        )
        return self.subset(~(same_name | same_numbers))


def _float(value) -> float:
    return float("nan") if value is None else float(value)


def extra_models(
    source: str | os.PathLike, *, which_factor: str = "top", error_type: str = "class"
) -> ExtraModels:
    """The models of a predictions repository, scored as the zoo's tables are (see the module docstring).

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
    >>> len(extra.without({"model": "sweep-3"}))
    1
    """
    from imagenet_x_hf.metrics import score_predictions
    from imagenet_x_hf.settings import ScoringOptions
    from imagenet_x_hf.share.read import open_predictions

    options = ScoringOptions(which_factor=which_factor, error_type=error_type)
    repo = open_predictions(source)
    names, accuracy, ratios, family, types, sweep = [], [], [], [], [], []
    for model in repo.models:
        results = score_predictions(repo.read(model), options, breakdowns=False)
        names.append(model.model)
        accuracy.append(_float(results["accuracy"]))
        ratios.append([_float(results["factors"][f]["error_ratio"]) for f in FACTORS])
        fam = model.row.get("family")
        family.append(EXTRA_FAMILY_PREFIX + (fam or model.model))
        types.append(model.row.get("model_type") or UNSTATED_TYPE)
        sweep.append(bool(fam))
    ratio = np.array(ratios, dtype=np.float64).reshape(-1, len(FACTORS))
    acc = np.array(accuracy, dtype=np.float64)
    if not all(math.isfinite(a) for a in acc):
        bad = names[int(np.flatnonzero(~np.isfinite(acc))[0])]
        raise PredictionsRepoError(
            f"{bad!r} of {source} has no accuracy on the validation split; it cannot join the reference: "
            "export validation predictions"
        )
    return ExtraModels(
        names=np.array(names, dtype=object),
        accuracy=acc,
        error_ratio=ratio,
        family=np.array(family, dtype=object),
        model_type=np.array(types, dtype=object),
        sweep=np.array(sweep, dtype=bool),
    )
