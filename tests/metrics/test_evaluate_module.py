"""``evaluate.load(METRIC_PATH)`` gives the core's numbers, for both configurations, and
works in ``evaluate.evaluator("image-classification")`` on a dataset from ``load``."""

import numpy as np
import pytest

import imagenet_x_hf
from imagenet_x_hf import FACTORS
from imagenet_x_hf.metrics import read_predictions, score_arrays

from .conftest import score


@pytest.fixture(scope="module")
def metric():
    """The default configuration: file names as references."""
    import evaluate

    return evaluate.load(imagenet_x_hf.METRIC_PATH)


@pytest.fixture(scope="module")
def by_label():
    """The "references" configuration: class ids and factor flags."""
    import evaluate

    return evaluate.load(imagenet_x_hf.METRIC_PATH, "references")


@pytest.fixture(scope="module")
def by_label_with_probabilities():
    import evaluate

    return evaluate.load(imagenet_x_hf.METRIC_PATH, "references+probabilities")


def test_metric_path_is_the_module_folder():
    from pathlib import Path

    folder = Path(imagenet_x_hf.METRIC_PATH)
    for name in ("imagenet_x.py", "README.md", "requirements.txt", "app.py"):
        assert (folder / name).is_file(), name


def test_module_declares_one_import_per_line():
    """evaluate parses the script's imports line by line; 'import a, b' would break it."""
    from pathlib import Path

    source = (Path(imagenet_x_hf.METRIC_PATH) / "imagenet_x.py").read_text()
    for line in source.splitlines():
        if line.startswith("import "):
            assert "," not in line, line


def test_file_name_form_equals_the_core(prediction_files):
    import evaluate

    metric = evaluate.load(imagenet_x_hf.METRIC_PATH, "default+probabilities")
    pred = read_predictions(prediction_files["ResNet50"])
    expected = score(pred, which_factor="multi", error_type="metaclass")
    got = metric.compute(
        predictions=pred.predicted_class.tolist(),
        references=pred.file_names.tolist(),
        probabilities=pred.predicted_probability.tolist(),
        which_factor="multi",
        error_type="metaclass",
    )
    assert got["error_ratio"] == expected["error_ratio"]
    assert got["factors"] == expected["factors"]
    assert got["coverage"] == expected["coverage"]
    assert got["calibration"] == expected["calibration"]
    assert set(got["error_ratio"]) == set(FACTORS) and all(
        isinstance(v, float) for v in got["error_ratio"].values()
    )


def test_scoring_options_object_equals_keywords(metric, prediction_files):
    from imagenet_x_hf.settings import ScoringOptions

    pred = read_predictions(prediction_files["ViT"])
    inputs = {"predictions": pred.predicted_class.tolist(), "references": pred.file_names.tolist()}
    options = ScoringOptions(which_factor="multi", error_type="real_class")
    assert metric.compute(**inputs, options=options) == metric.compute(
        **inputs, which_factor="multi", error_type="real_class"
    )
    with pytest.raises(ValueError, match="which_factor must be one of"):
        metric.compute(**inputs, which_factor="both")


def test_references_form_with_batches_equals_the_core(by_label_with_probabilities, val_arrays):
    metric = by_label_with_probabilities
    rng = np.random.default_rng(11)
    n = 2111
    rows = rng.choice(len(val_arrays.labels), n, replace=False)
    labels = val_arrays.labels[rows]
    factors = val_arrays.top.dense(16, rows)
    preds = np.where(rng.random(n) < 0.7, labels, rng.integers(0, 1000, n))
    probs = rng.random(n)
    for start in range(0, n, 500):  # 5 uneven batches
        stop = start + 500
        metric.add_batch(
            predictions=preds[start:stop].tolist(),
            references=labels[start:stop].tolist(),
            factors=factors[start:stop].astype(int).tolist(),
            probabilities=probs[start:stop].tolist(),
        )
    got = metric.compute()
    expected = score_arrays(
        preds == labels, factors, metaclass=val_arrays.metaclass[rows], probabilities=probs
    )
    for key in ("error_ratio", "factors", "metaclass", "calibration", "accuracy", "images"):
        assert got[key] == expected[key], key


def test_references_form_metaclass_error_type(by_label, val_arrays):
    metric = by_label
    n = 700
    labels = val_arrays.labels[:n]
    factors = val_arrays.multi.dense()[:n]
    preds = (labels + 3) % 1000
    got = metric.compute(
        predictions=preds.tolist(),
        references=labels.tolist(),
        factors=factors.astype(int).tolist(),
        error_type="metaclass",
    )
    meta = val_arrays.metaclass_of_class
    expected = score_arrays(meta[preds] == meta[labels], factors, metaclass=meta[labels])
    assert got["error_ratio"] == expected["error_ratio"]


def test_add_single_examples(by_label):
    metric = by_label
    flags = np.eye(16, dtype=int)
    for i in range(6):
        metric.add(prediction=i, reference=i if i % 3 else 999, factors=flags[i % 2].tolist())
    got = metric.compute()
    # pose: images 0, 2, 4, of which 0 is wrong (reference 999)
    assert got["images"] == 6 and got["factors"]["pose"]["images"] == 3
    assert got["factors"]["pose"]["correct"] == 2


def test_each_configuration_takes_its_own_columns(metric, by_label):
    with pytest.raises(ValueError, match="Bad inputs for evaluation module: \\['factors'\\]"):
        metric.add_batch(predictions=[1], references=["ILSVRC2012_val_00000001.JPEG"], factors=[[0] * 16])
    with pytest.raises(ValueError, match="inputs are missing: \\['factors'\\]"):
        by_label.compute(predictions=[1], references=[1])


def test_unknown_configuration_is_refused():
    import evaluate

    with pytest.raises(ValueError, match="unknown configuration 'multilabel'"):
        evaluate.load(imagenet_x_hf.METRIC_PATH, "multilabel")


def test_empty_and_mismatched_inputs(metric, by_label):
    with pytest.raises(ValueError, match="no predictions given"):
        metric.compute(predictions=[], references=[])
    with pytest.raises(ValueError, match="Mismatch in the number of predictions"):
        by_label.compute(predictions=[1, 2], references=[1], factors=[[0] * 16])
    with pytest.raises(ValueError, match="rows have 3 columns, expected 16"):
        by_label.compute(predictions=[1], references=[1], factors=[[0, 1, 0]])


def test_real_class_needs_file_names(by_label):
    with pytest.raises(ValueError, match="needs file names"):
        by_label.compute(predictions=[1], references=[1], factors=[[1] + [0] * 15], error_type="real_class")


def test_module_doctests_are_collected():
    """pytest's --doctest-modules (the project's settings) must find the evaluate script's examples."""
    from pathlib import Path

    class Items:
        ids: list[str] = []

        def pytest_collection_modifyitems(self, items):
            self.ids.extend(item.nodeid for item in items)

    script = Path(imagenet_x_hf.METRIC_PATH) / "imagenet_x.py"
    items = Items()
    # an in-process session: the script is already imported, so collection is instant
    code = pytest.main(["--collect-only", "-q", "--noconftest", str(script)], plugins=[items])
    assert code == 0
    assert any(i.endswith("imagenet_x.py::imagenet_x_hf.metrics.imagenet_x.imagenet_x") for i in items.ids), (
        items.ids
    )
