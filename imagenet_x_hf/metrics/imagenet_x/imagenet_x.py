"""ImageNet-X: per-factor error ratios of an ImageNet classifier, as an ``evaluate`` metric.

The configuration chooses the inputs, as ``evaluate``'s own metrics do: by default
``references`` are ImageNet file names (labels and factors are looked up in the
ImageNet-X annotations); the ``"references"`` configuration takes true class ids and
16 factor flags per image instead. Add ``+probabilities`` to either name to also give
each prediction's top-1 probability (for the calibration breakdown).

Examples:

    >>> import evaluate
    >>> import numpy as np
    >>> import imagenet_x_hf
    >>> from imagenet_x_hf.annotations import split_annotations
    >>> ann = split_annotations("validation")

    1. By file name (the default configuration): a model that gets every fifth image wrong.

    >>> metric = evaluate.load(imagenet_x_hf.METRIC_PATH)
    >>> names = ann.file_names[:5000].to_pylist()
    >>> labels = ann.labels[:5000]
    >>> preds = np.where(np.arange(5000) % 5 == 0, (labels + 1) % 1000, labels).tolist()
    >>> out = metric.compute(predictions=preds, references=names)
    >>> out["coverage"]["predictions"], out["images"] + out["coverage"]["prototypes_ignored"]
    (5000, 5000)
    >>> sorted(out["error_ratio"])[:3]
    ['background', 'brighter', 'color']

    2. With class ids and factor flags (16 per image, in ``imagenet_x_hf.FACTORS`` order),
    accumulated batch by batch.

    >>> metric = evaluate.load(imagenet_x_hf.METRIC_PATH, "references")
    >>> flags = np.eye(16, dtype=int)[[0, 0, 1, 1, 2, 2]].tolist()
    >>> metric.add_batch(predictions=[1, 2, 3], references=[1, 0, 3], factors=flags[:3])
    >>> metric.add_batch(predictions=[4, 5, 6], references=[4, 5, 0], factors=flags[3:])
    >>> out = metric.compute(which_factor="top")
    >>> round(out["accuracy"], 4), round(out["error_ratio"]["pose"], 4), out["error_ratio"]["background"]
    (0.6667, 1.5, 0.0)
"""

import datasets
import evaluate

from imagenet_x_hf.metrics import Predictions, score_labels, score_predictions
from imagenet_x_hf.metrics.compat import restore_tf_model_name
from imagenet_x_hf.settings import ScoringOptions

# evaluate.evaluator(...) with this metric must work under transformers 5 (see compat)
restore_tf_model_name()

_CITATION = """\
@inproceedings{idrissi2023imagenetx,
  title={ImageNet-X: Understanding Model Mistakes with Factor of Variation Annotations},
  author={Idrissi, Badr Youbi and Bouchacourt, Diane and Balestriero, Randall and Evtimov, Ivan
          and Hazirbas, Caner and Ballas, Nicolas and Vincent, Pascal and Drozdzal, Michal
          and Lopez-Paz, David and Ibrahim, Mark},
  booktitle={International Conference on Learning Representations},
  year={2023}
}
"""

_DESCRIPTION = """\
ImageNet-X labels the ImageNet-1k validation images with 16 factors of variation
(pose, background, lighting, ...). For each factor, the error ratio
(1 - accuracy on the factor's images) / (1 - overall accuracy) tells whether a model
fails more (> 1) or less (< 1) often than average on images with that factor. Each
ratio comes with a confidence interval; per-metaclass and calibration breakdowns are
included when their inputs are known.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): predicted ImageNet class ids (0-999), one per image.
    references: by default (`list` of `str`), the ImageNet file names of the images
        (e.g. ILSVRC2012_val_00000001.JPEG): labels, factors and metaclasses are then read
        from the annotations. With the "references" configuration (`list` of `int`), the
        true class ids.
    factors (`list` of `list` of `int`): "references" configuration only: 16 0/1 flags
        per image in imagenet_x_hf.FACTORS order.
    probabilities (`list` of `float`): "+probabilities" configurations only: the top-1
        probability of each prediction, for the calibration breakdown.
    options (`ScoringOptions`, optional): the scoring settings as one object; the single
        settings below override it.
    which_factor (`str`): "top" (default, as the paper) or "multi".
    error_type (`str`): "class" (default), "real_class" (file names only) or "metaclass".
    filter_prototypes (`bool`): leave out the annotators' prototype images (default True).
    confidence_level (`float`): of the error-ratio intervals (default 0.95).
    empty_real (`str`): with real_class, images without ReaL labels count as "error"
        (default, as the toolkit) or are "exclude"-d (ReaL protocol).
    split (`str`): "validation" (default) or "train", for file names.
Returns:
    A dict: "error_ratio" (factor -> float or None), "factors" (per factor: images,
    correct, accuracy, error_ratio and its interval), "accuracy", "error_rate",
    "images", "metaclass", "calibration", and with file names "coverage".
    See the examples in the module docstring and README.md.
"""

FORMS = {
    "file_names": {"predictions": datasets.Value("int64"), "references": datasets.Value("string")},
    "references": {
        "predictions": datasets.Value("int64"),
        "references": datasets.Value("int64"),
        "factors": datasets.Sequence(datasets.Value("int8")),
    },
}


def input_features(config_name):
    """The input columns of a configuration: ``file_names`` (or ``default``) or ``references``, ``+probabilities``."""
    form, plus, extra = config_name.partition("+")
    form = "file_names" if form == "default" else form
    if form not in FORMS or extra not in (("probabilities",) if plus else ("",)):
        raise ValueError(
            f"unknown configuration {config_name!r}: use 'default' (file names as references), "
            "'references' (class ids and factor flags), either followed by '+probabilities'"
        )
    columns = dict(FORMS[form])
    if extra:
        columns["probabilities"] = datasets.Value("float64")
    return datasets.Features(columns)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ImagenetX(evaluate.Metric):
    """Per-factor error ratios on ImageNet-X."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=input_features(self.config_name),
            homepage="https://facebookresearch.github.io/imagenetx/site/home",
            codebase_urls=["https://github.com/facebookresearch/imagenetx"],
            reference_urls=["https://arxiv.org/abs/2211.01866"],
        )

    def _compute(self, predictions, references, factors=None, probabilities=None, options=None, **settings):
        # keywords are how evaluate passes settings; inside the package they are one ScoringOptions
        options = (options or ScoringOptions()).replace(**settings) if settings else options
        if factors is None:  # the file-names form
            given = Predictions.from_arrays(references, predictions, probabilities, source="imagenet_x")
            return score_predictions(given, options).to_dict()
        return score_labels(predictions, references, factors, probabilities, options)
