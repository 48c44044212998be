"""The Hugging Face evaluation path: ``evaluate.evaluator("image-classification")`` with the
metric, on a dataset from ``imagenet_x_hf.load(..., imagenet=...)``, equals scoring the same
pipeline's predictions by file name.

It runs as the README gives it, in a fresh process (the metric as the path string
``imagenet_x_hf.METRIC_PATH``, nothing imported before), on a model whose class names repeat
as ImageNet's do ("crane" is class 134 and 517): labels are mapped by index."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings

import pytest

import imagenet_x_hf
from imagenet_x_hf.metrics import Predictions
from imagenet_x_hf.testing import make_synthetic_imagenet

from .conftest import score

N_IMAGES = 29  # divides no batch size

# The README's recipe, verbatim but for the paths.
RECIPE = """
import json, sys, warnings
import evaluate
from transformers import pipeline
import imagenet_x_hf

model, source, cache = sys.argv[1:4]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    data = imagenet_x_hf.load("validation", imagenet=source, allow_missing=True, cache_dir=cache)
pipe = pipeline("image-classification", model=model, device="cpu")
n = pipe.model.config.num_labels
pipe.model.config.id2label = {i: str(i) for i in range(n)}
out = evaluate.evaluator("image-classification").compute(
    model_or_pipeline=pipe,
    data=data,
    metric=imagenet_x_hf.METRIC_PATH,
    label_column="file_name",
    label_mapping={str(i): i for i in range(n)},
)
print(json.dumps({k: out[k] for k in ("coverage", "error_ratio", "factors", "accuracy")}))
"""


@pytest.mark.slow
def test_evaluator_with_the_metric_path_equals_scoring_by_file_name(tmp_path, model_dirs):
    from transformers import pipeline

    # Class names that repeat in pairs, as "crane" does in ImageNet.
    model = shutil.copytree(model_dirs["vit"], tmp_path / "repeated-names")
    config = json.loads((model / "config.json").read_text())
    config["id2label"] = {str(i): f"class {i // 2}" for i in range(len(config["id2label"]))}
    config["label2id"] = {name: int(i) for i, name in config["id2label"].items()}
    (model / "config.json").write_text(json.dumps(config))

    source = make_synthetic_imagenet(tmp_path / "imagenet", layout="val_flat", n=N_IMAGES, size=(40, 36))
    done = subprocess.run(
        [sys.executable, "-c", RECIPE, str(model), str(source), str(tmp_path / "c")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])

    # the same weights with unique names, one image at a time, scored by file name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = imagenet_x_hf.load("validation", imagenet=source, allow_missing=True, cache_dir=tmp_path / "c")
    pipe = pipeline("image-classification", model=str(model_dirs["vit"]), device="cpu")
    index = {name: i for i, name in pipe.model.config.id2label.items()}
    top = [index[max(out, key=lambda o: o["score"])["label"]] for out in pipe([row["image"] for row in data])]
    assert any(t % 2 for t in top), "no prediction whose name a lower class shares: nothing to tell apart"
    expected = score(Predictions.from_arrays(data["file_name"], top, name="vit"))
    assert got["coverage"]["used"] == N_IMAGES == data.num_rows
    assert got["error_ratio"] == expected["error_ratio"]
    assert got["factors"] == json.loads(json.dumps(expected["factors"]))
    assert got["accuracy"] == expected["accuracy"]


@pytest.mark.slow
@pytest.mark.parametrize("first", ["imagenet_x_hf", "evaluate"])
def test_the_evaluators_transformers_check_works_in_a_fresh_process(first):
    """Whichever is imported first, the name evaluate 0.4.6 checks exists once METRIC_PATH is taken."""
    steps = {
        "imagenet_x_hf": "import imagenet_x_hf; imagenet_x_hf.METRIC_PATH",
        "evaluate": "from evaluate import evaluator",
    }
    script = "; ".join(
        [
            "import sys",
            steps[first],
            *(s for k, s in steps.items() if k != first),
            "base = sys.modules['evaluate.evaluator.base']",
            "print(isinstance(object(), base.transformers.TFPreTrainedModel))",
        ]
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr[-2000:]
