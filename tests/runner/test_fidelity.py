"""By default the runner's predictions are the model's own: its processor on the fully decoded image.

The images are large (shorter side >= 700 px) and textured, so that every decoding shortcut
a small-input model allows (JPEG draft decoding at 1/2, 1/4, 1/8) would trigger; the
models take 32, 64 and 96 px inputs. The reference is a per-image loop through the
model's own processor or timm transform.
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from imagenet_x_hf.runner import LoadOptions, RunOptions, evaluate_model

# (width, height): landscape, portrait, square, odd sizes; shorter side >= 700 everywhere
SIZES = [(933, 700), (700, 1050), (1400, 700), (760, 760), (1001, 717), (705, 913), (1203, 801)]


@pytest.fixture(scope="module")
def large_images(tiny):
    return tiny.textured_dataset(SIZES)


def _run(model, dataset, out, **load):
    options = RunOptions(batch_size=3, shard_size=4, num_workers=0, progress=False, load=LoadOptions(**load))
    results = evaluate_model(str(model), out, options=options, dataset=dataset)
    return results, pq.read_table(out / "predictions.parquet").to_pydict()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vit", "vit64", "timm96"])
def test_default_predictions_are_the_models_own_on_large_jpegs(
    name, model_dirs, large_images, reference, tmp_path
):
    model = model_dirs[name]
    results, ours = _run(model, large_images, tmp_path / "default")
    if name.startswith("timm"):
        theirs = reference.timm_predictions(model, large_images)
    else:
        theirs = reference.transformers_predictions(model, large_images)
    assert results["run"]["preprocessing"]["jpeg_draft_used"] is False
    assert ours["file_name"] == theirs["file_name"]
    agreement = np.mean(np.array(ours["predicted_class"]) == theirs["predicted_class"])
    assert agreement == 1.0
    np.testing.assert_allclose(
        ours["predicted_probability"], theirs["predicted_probability"], rtol=0, atol=1e-4
    )
    np.testing.assert_array_equal(np.array(ours["top5_classes"]), theirs["top5_classes"])

    # the same images with the shortcut asked for: it does trigger on them, and the run says so
    drafted, _ = _run(model, large_images, tmp_path / "draft", jpeg_draft=True)
    prep = drafted["run"]["preprocessing"]
    assert prep["jpeg_draft_asked"] and prep["jpeg_draft_used"]
    assert prep["max_abs_difference_with_jpeg_draft"] > 1e-3
    assert drafted["run"]["options"]["load"]["jpeg_draft"] is True
    assert drafted["run"]["fingerprint"] != results["run"]["fingerprint"]


def test_the_automatic_check_probes_imagenet_sized_jpegs():
    import io

    from PIL import Image

    from imagenet_x_hf.runner.preprocess import probe_images

    sizes = [Image.open(io.BytesIO(data)).size for data in probe_images()]
    assert all(Image.open(io.BytesIO(data)).format == "JPEG" for data in probe_images())
    assert min(min(s) for s in sizes) >= 333 and max(max(s) for s in sizes) >= 500


def test_draft_decoding_moves_pixels_the_check_sees(model_dirs):
    from imagenet_x_hf.runner import model_spec
    from imagenet_x_hf.runner.preprocess import matches_reference

    spec = model_spec(str(model_dirs["vit"]), options=LoadOptions(jpeg_draft=True))
    exact, exact_diff = matches_reference(spec.preprocessing.without_draft(), spec.reference_transform)
    drafted, draft_diff = matches_reference(spec.preprocessing, spec.reference_transform)
    assert exact and exact_diff <= 1e-4
    assert not drafted and draft_diff > 1e-3  # 500x375 probes decode at 1/8 for a 32 px model


@pytest.mark.slow
def test_bf16_autocast_on_cpu(model_dirs, dataset, tmp_path):
    """The bf16 path (autocast, as on a GPU) runs on CPU and mostly agrees with fp32."""
    options = RunOptions(batch_size=16, num_workers=0, progress=False)
    fp32 = evaluate_model(str(model_dirs["resnet"]), tmp_path / "fp32", options=options, dataset=dataset)
    bf16 = evaluate_model(
        str(model_dirs["resnet"]),
        tmp_path / "bf16",
        options=options.replace(precision="bf16"),
        dataset=dataset,
    )
    assert fp32["run"]["precision"] == "fp32" and bf16["run"]["precision"] == "bf16"
    assert bf16["run"]["options"]["precision"] == "bf16"
    a = pq.read_table(tmp_path / "fp32" / "predictions.parquet").column("predicted_class").to_numpy()
    b = pq.read_table(tmp_path / "bf16" / "predictions.parquet").column("predicted_class").to_numpy()
    agreement = float(np.mean(a == b))
    print(f"bf16 vs fp32 top-1 agreement: {agreement:.3f} on {a.size} images")
    assert agreement >= 0.8
    assert bf16["run"]["fingerprint"] != fp32["run"]["fingerprint"]
