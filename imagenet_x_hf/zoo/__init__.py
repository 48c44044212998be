"""Where a model stands among the ImageNet-X authors' ~2,500 released models.

The authors released per-factor accuracy tables of about 2,500 models (CC BY-NC 4.0);
they are downloaded on first use from their repository at a pinned commit, checked by
sha256 and cached (see :mod:`imagenet_x_hf.zoo.files`), or read from a local copy named
by ``IMAGENET_X_ZOO=DIR`` / ``zoo_dir=``.

Public API:

- ``load_zoo(zoo_dir=None) -> Zoo``: ``Zoo.slice(which_factor, error_type)`` (numpy
  arrays) and ``Zoo.table()`` (one pyarrow table: model, group, model type, sweep
  settings, per-factor accuracy and error ratio, overall accuracy);
- ``place(results: Results, reference="all", extra=None) -> dict``: per factor, the expected ratio at
  the model's accuracy, the excess with its interval and the model's percentiles, against a
  reference in which each family (an augmentation sweep, a checkpoint series, a single model)
  weighs one, with what the reference is made of, the coverage and whether it is an
  extrapolation (:mod:`imagenet_x_hf.zoo.place`, :mod:`imagenet_x_hf.zoo.reference`; the
  band's calibration: :mod:`imagenet_x_hf.zoo.calibration`);
- ``zoo_block(results) -> Placement``: ``place`` or a note when the tables cannot be had;
- ``example_predictions() -> list[Path]``: the four released prediction files;
- ``adjustment_check(which_factor, error_type) -> dict``: fit quality per factor;
- ``findings() -> dict`` and ``plot_placement(...)``: the paper's findings, the figure.
"""

from imagenet_x_hf.zoo.files import COMMIT, EXAMPLE_MODELS, GROUPS, ZooError, example_predictions
from imagenet_x_hf.zoo.place import SIMILAR_WINDOW, adjustment_check, place, zoo_block
from imagenet_x_hf.zoo.table import Zoo, ZooSlice, load_zoo

__all__ = [
    "COMMIT",
    "EXAMPLE_MODELS",
    "GROUPS",
    "SIMILAR_WINDOW",
    "Zoo",
    "ZooError",
    "ZooSlice",
    "adjustment_check",
    "example_predictions",
    "findings",
    "load_zoo",
    "place",
    "plot_placement",
    "zoo_block",
]


def findings(**kwargs):
    """The paper's headline findings recomputed from the tables (see :mod:`imagenet_x_hf.zoo.findings`)."""
    from imagenet_x_hf.zoo.findings import findings as _findings

    return _findings(**kwargs)


def plot_placement(*args, **kwargs):
    """The per-factor figure of zoo ratios vs accuracy with the models marked (:mod:`imagenet_x_hf.zoo.plot`)."""
    from imagenet_x_hf.zoo.plot import plot_placement as _plot

    return _plot(*args, **kwargs)
