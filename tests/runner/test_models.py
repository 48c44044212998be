"""Every adapter's predictions equal a naive loop: the model's own preprocessing, one image at a time."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from imagenet_x_hf.runner import LoadOptions, RunOptions, evaluate_model


def run(model_dir, dataset, out, **kwargs):
    load = kwargs.pop("load", LoadOptions())
    options = RunOptions(batch_size=16, shard_size=32, num_workers=1, progress=False, load=load, **kwargs)
    results = evaluate_model(str(model_dir), out, options=options, dataset=dataset)
    return results, pq.read_table(out / "predictions.parquet").to_pydict()


def assert_same(table, ref):
    assert table["file_name"] == ref["file_name"]
    np.testing.assert_array_equal(table["predicted_class"], ref["predicted_class"])
    np.testing.assert_allclose(
        table["predicted_probability"], ref["predicted_probability"], rtol=1e-4, atol=1e-7
    )
    np.testing.assert_array_equal(np.array(table["top5_classes"]), ref["top5_classes"])


@pytest.mark.parametrize("path", ["auto", pytest.param("reference", marks=pytest.mark.slow)])
def test_vit_equals_per_image_processor_loop(model_dirs, dataset, tmp_path, path, reference):
    results, table = run(model_dirs["vit"], dataset, tmp_path, preprocessing=path)
    assert results["run"]["preprocessing"]["path"] == ("fast" if path == "auto" else "reference")
    assert results["run"]["adapter"] == "transformers"
    assert_same(table, reference.transformers_predictions(model_dirs["vit"], dataset))


@pytest.mark.slow
def test_vit_with_pil_processor_backend(model_dirs, dataset, tmp_path, reference):
    results, table = run(model_dirs["vit"], dataset, tmp_path, load=LoadOptions(processor_backend="pil"))
    assert results["run"]["preprocessing"]["resolved"]["kernel"] == "pil"
    assert_same(table, reference.transformers_predictions(model_dirs["vit"], dataset, backend="pil"))


@pytest.mark.slow
def test_cnn_with_imagenet_label_names(model_dirs, dataset, tmp_path, reference):
    results, table = run(model_dirs["resnet"], dataset, tmp_path)
    assert results["run"]["label_space"]["check"].startswith("label names match the ImageNet classes at 1000")
    assert results["run"]["preprocessing"]["resolved"]["crop"] == [32, 32]
    assert_same(table, reference.transformers_predictions(model_dirs["resnet"], dataset))


@pytest.mark.slow
def test_1001_label_model_drops_background(model_dirs, dataset, tmp_path, reference):
    results, table = run(model_dirs["resnet1001"], dataset, tmp_path)
    assert results["run"]["label_space"]["kind"] == "imagenet-1k+background"
    assert_same(table, reference.transformers_predictions(model_dirs["resnet1001"], dataset, drop_first=True))


@pytest.mark.slow
def test_timm_model_uses_timm_eval_transform(model_dirs, dataset, tmp_path, reference):
    results, table = run(model_dirs["timm"], dataset, tmp_path)
    assert results["run"]["adapter"] == "timm"
    assert results["run"]["preprocessing"]["resolved"]["crop_rounding"] == "round"
    assert_same(table, reference.timm_predictions(model_dirs["timm"], dataset))


@pytest.mark.slow
def test_zero_shot_clip_equals_transformers_pipeline(model_dirs, dataset, tmp_path, reference, tiny):
    from transformers import pipeline

    from imagenet_x_hf.runner.adapters.zero_shot import prompt_class_names

    subset = dataset.select(range(19))  # the pipeline embeds all 1000 prompts again for every image
    results, table = run(
        model_dirs["clip"], subset, tmp_path, load=LoadOptions(templates=tiny.zero_shot_templates)
    )
    assert results["run"]["adapter"] == "zero-shot"
    names = prompt_class_names()
    classify = pipeline("zero-shot-image-classification", model=str(model_dirs["clip"]), device="cpu")
    candidates = sorted(set(names))  # two ImageNet classes share a name ("crane", "maillot")
    for (file_name, image), ours, top5 in zip(
        reference.images(subset), table["predicted_class"], table["top5_classes"]
    ):
        theirs = classify(image, candidate_labels=candidates, hypothesis_template=tiny.zero_shot_templates[0])
        assert names[ours] == theirs[0]["label"], file_name
        ours_ranked = list(dict.fromkeys(names[c] for c in top5))[:3]
        assert ours_ranked == [r["label"] for r in theirs[:3]], file_name


def test_outputs_follow_the_contract(model_dirs, dataset, tmp_path):
    import json

    from imagenet_x_hf.metrics import read_predictions

    results, table = run(model_dirs["vit"], dataset, tmp_path)
    csv = (tmp_path / "predictions.csv").read_text().splitlines()
    assert csv[0] == "file_name,predicted_class,predicted_probability"
    assert len(csv) == 1 + len(dataset)
    from_csv = read_predictions(tmp_path / "predictions.csv")
    assert list(from_csv.names()) == table["file_name"]
    np.testing.assert_array_equal(from_csv.predicted_class, table["predicted_class"])
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk == json.loads(json.dumps(results))
    assert on_disk["coverage"]["predictions"] == len(dataset)
    assert set(on_disk["error_ratio"]) == set(__import__("imagenet_x_hf").FACTORS)
    run_info = on_disk["run"]
    for key in (
        "model",
        "revision",
        "adapter",
        "preprocessing",
        "precision",
        "batch_size",
        "versions",
        "timing",
    ):
        assert key in run_info
    assert run_info["timing"]["images_predicted_this_invocation"] == len(dataset)
    assert sorted(table) == [
        "file_name",
        "predicted_class",
        "predicted_probability",
        "top5_classes",
        "top5_probabilities",
    ]
