"""The Hugging Face evaluation path: ``evaluate.evaluator("image-classification")`` with the
metric, on a dataset from ``imagenet_x_hf.load(..., imagenet=...)``, equals scoring the same
pipeline's predictions by file name."""

from __future__ import annotations

import warnings

import pytest

import imagenet_x_hf
from imagenet_x_hf.metrics import Predictions
from imagenet_x_hf.testing import make_synthetic_imagenet

from .conftest import score

N_IMAGES = 29  # divides no batch size


@pytest.mark.slow
def test_evaluator_with_the_metric_equals_scoring_by_file_name(tmp_path, model_dirs):
    import evaluate
    from transformers import pipeline

    source = make_synthetic_imagenet(tmp_path / "imagenet", layout="val_flat", n=N_IMAGES, size=(40, 36))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the synthetic source holds 29 of the annotated images
        data = imagenet_x_hf.load("validation", imagenet=source, allow_missing=True, cache_dir=tmp_path / "c")
    pipe = pipeline("image-classification", model=str(model_dirs["vit"]), device="cpu")
    label_mapping = {name: i for i, name in pipe.model.config.id2label.items()}

    got = evaluate.evaluator("image-classification").compute(
        model_or_pipeline=pipe,
        data=data,
        metric=evaluate.load(imagenet_x_hf.METRIC_PATH),
        label_column="file_name",
        label_mapping=label_mapping,
    )

    # the same pipeline, one image at a time, scored by file name
    top = [max(out, key=lambda o: o["score"])["label"] for out in pipe([row["image"] for row in data])]
    expected = score(Predictions.from_arrays(data["file_name"], [label_mapping[t] for t in top], name="vit"))
    assert got["coverage"]["used"] == N_IMAGES == data.num_rows
    assert got["error_ratio"] == expected["error_ratio"]
    assert got["factors"] == expected["factors"]
    assert 0 <= got["accuracy"] < 0.2  # random weights
