"""ImageNet-X: per-factor error ratios of an ImageNet classifier, as an ``evaluate`` metric.

Two ways to give the inputs: by file name (labels and factors are looked up in
the ImageNet-X annotations), or with your own references and factor flags.

Examples:

    >>> import evaluate
    >>> import numpy as np
    >>> import imagenet_x_hf
    >>> from imagenet_x_hf.metrics import split_arrays
    >>> metric = evaluate.load(imagenet_x_hf.METRIC_PATH)

    1. By file name: a model that gets every fifth image wrong.

    >>> arrays = split_arrays("validation")
    >>> names = np.asarray(arrays.file_names)[:5000].tolist()
    >>> labels = arrays.labels[:5000]
    >>> preds = np.where(np.arange(5000) % 5 == 0, (labels + 1) % 1000, labels).tolist()
    >>> out = metric.compute(predictions=preds, file_names=names)
    >>> out["coverage"]["predictions"], out["images"] + out["coverage"]["prototypes_ignored"]
    (5000, 5000)
    >>> sorted(out["error_ratio"])[:3]
    ['background', 'brighter', 'color']

    2. With references and factor flags (16 per image, in ``imagenet_x_hf.FACTORS`` order),
    accumulated batch by batch.

    >>> flags = np.eye(16, dtype=int)[[0, 0, 1, 1, 2, 2]].tolist()
    >>> metric.add_batch(predictions=[1, 2, 3], references=[1, 0, 3], factors=flags[:3])
    >>> metric.add_batch(predictions=[4, 5, 6], references=[4, 5, 0], factors=flags[3:])
    >>> out = metric.compute()
    >>> round(out["accuracy"], 4), round(out["error_ratio"]["pose"], 4), out["error_ratio"]["background"]
    (0.6667, 1.5, 0.0)
"""

import datasets
import evaluate
import numpy as np

from imagenet_x_hf.annotations import class_to_metaclass
from imagenet_x_hf.metrics import Predictions, score_arrays, score_predictions
from imagenet_x_hf.metrics.core import correctness
from imagenet_x_hf.metrics.predictions import check_class_ids, check_probabilities
from imagenet_x_hf.metrics.score import check_options

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
    file_names (`list` of `str`): ImageNet file names (e.g. ILSVRC2012_val_00000001.JPEG);
        labels, factors and metaclasses are then read from the annotations.
    references (`list` of `int`): true class ids, when not giving file names.
    factors (`list` of `list` of `int`): with references, 16 0/1 flags per image in
        imagenet_x_hf.FACTORS order.
    probabilities (`list` of `float`, optional): top-1 probability per image, for calibration.
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

_FORMS = {
    ("references", "factors"): {
        "predictions": datasets.Value("int64"),
        "references": datasets.Value("int64"),
        "factors": datasets.Sequence(datasets.Value("int8")),
    },
    ("file_names",): {
        "predictions": datasets.Value("int64"),
        "file_names": datasets.Value("string"),
    },
}


def _form_features(keys, with_probabilities):
    columns = dict(_FORMS[keys])
    if with_probabilities:
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
            features=[_form_features(k, p) for k in _FORMS for p in (False, True)],
            homepage="https://facebookresearch.github.io/imagenetx/site/home",
            codebase_urls=["https://github.com/facebookresearch/imagenetx"],
            reference_urls=["https://arxiv.org/abs/2211.01866"],
        )

    # evaluate assumes one set of input columns; this metric takes one of two, chosen
    # by the names the caller passes and kept until compute() ends the accumulation.
    def _select_form(self, given):
        by_name = given.get("file_names") is not None
        with_refs = [k for k in ("references", "factors") if given.get(k) is not None]
        if by_name and with_refs:
            raise ValueError(
                f"got file_names and {' and '.join(with_refs)}: give either file_names (labels and "
                "factors come from the annotations) or references with factors, not both"
            )
        if not by_name and len(with_refs) < 2:
            raise ValueError(
                "give predictions with file_names, or predictions with references and factors "
                "(16 0/1 flags per image in imagenet_x_hf.FACTORS order)"
            )
        keys = ("file_names",) if by_name else ("references", "factors")
        form = _form_features(keys, given.get("probabilities") is not None)
        current = getattr(self, "_form", None)
        if self.writer is not None and current is not None and set(current) != set(form):
            raise ValueError(
                f"inputs {sorted(form)} differ from those of the earlier batches {sorted(current)}; "
                "give the same columns in every add_batch call"
            )
        self._form = form

    def _feature_names(self):
        form = getattr(self, "_form", None)
        return list(form if form is not None else self.features[0])

    def _infer_feature_from_batch(self, batch):
        return self._form

    def _infer_feature_from_example(self, example):
        return self._form

    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Add a batch: ``predictions`` with ``file_names``, or with ``references`` and ``factors``."""
        self._select_form({"references": references, **kwargs})
        return super().add_batch(predictions=predictions, references=references, **kwargs)

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Add one image's prediction (same columns as ``add_batch``, singular)."""
        self._select_form({"references": reference, **kwargs})
        return super().add(prediction=prediction, reference=reference, **kwargs)

    def compute(self, *, predictions=None, references=None, **kwargs):
        """Error ratios of everything given so far (evaluate appends the inputs description)."""
        if predictions is not None or references is not None:
            self._select_form({"references": references, **kwargs})
        return super().compute(predictions=predictions, references=references, **kwargs)

    def _compute(
        self,
        predictions,
        references=None,
        factors=None,
        file_names=None,
        probabilities=None,
        which_factor="top",
        error_type="class",
        filter_prototypes=True,
        confidence_level=0.95,
        empty_real="error",
        split="validation",
    ):
        self._form = None
        check_options(
            split=split,
            which_factor=which_factor,
            error_type=error_type,
            empty_real=empty_real,
            confidence_level=confidence_level,
        )
        if file_names is not None:
            predictions = Predictions.from_arrays(
                file_names, predictions, probabilities, source="predictions"
            )
            return score_predictions(
                predictions,
                split=split,
                which_factor=which_factor,
                error_type=error_type,
                filter_prototypes=filter_prototypes,
                confidence_level=confidence_level,
                empty_real=empty_real,
            )
        if error_type == "real_class":
            raise ValueError(
                "error_type='real_class' needs file_names (the ReaL labels are looked up by file name)"
            )
        predicted = check_class_ids(np.asarray(predictions), what="predictions", source="imagenet_x")
        labels = check_class_ids(np.asarray(references), what="references", source="imagenet_x")
        if probabilities is not None:
            probabilities = check_probabilities(probabilities, len(predicted), source="imagenet_x")
        meta = class_to_metaclass().astype(np.int64)
        correct = correctness(predicted, error_type=error_type, labels=labels, metaclass_of_class=meta)
        result = score_arrays(
            correct,
            np.asarray(factors),
            metaclass=meta[labels],
            probabilities=probabilities,
            confidence_level=confidence_level,
        )
        return {"which_factor": which_factor, "error_type": error_type, **result}
