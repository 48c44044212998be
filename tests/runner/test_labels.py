"""Label spaces: what passes, what is mapped, what stops before any weights are read."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from imagenet_x_hf.errors import LabelSpaceError
from imagenet_x_hf.runner import RunOptions, evaluate_model, read_label_map, resolve_label_space


def test_imagenet_names_in_order_pass_and_shuffled_names_fail(tiny):
    names = tiny.imagenet_lemmas()
    assert resolve_label_space(1000, names, model="m").check.endswith("1000 of 1000 positions")
    shuffled = list(np.random.default_rng(0).permutation(names))
    with pytest.raises(LabelSpaceError, match="--label-map"):
        resolve_label_space(1000, shuffled, model="m")


def test_wordnet_ids_count_as_names():
    from imagenet_x_hf import schema

    assert "1000 of 1000" in resolve_label_space(1000, list(schema.WNIDS), model="m").check


def test_1001_needs_a_background_first(tiny):
    names = tiny.imagenet_lemmas()
    space = resolve_label_space(1001, ["background", *names], model="m")
    logits = torch.randn(3, 1001)
    assert torch.equal(space.apply(logits), logits[:, 1:])
    with pytest.raises(LabelSpaceError, match="not a background"):
        resolve_label_space(1001, [*names, "background"], model="m")


@pytest.mark.parametrize("n", [10, 999, 21843])
def test_other_sizes_stop_without_a_map(n):
    with pytest.raises(LabelSpaceError, match=f"has {n} output classes"):
        resolve_label_space(n, None, model="m")


def test_label_map_one_to_one_and_pooled():
    logits = torch.randn(4, 6)
    space = resolve_label_space(6, None, model="m", label_map={0: 10, 1: 20, 2: 20, 5: 999})
    out = space.apply(logits)
    assert out.shape == (4, 1000)
    assert torch.isinf(out[:, 0]).all() and space.covered_classes == 3
    # pooled classes add probabilities: softmax over the covered columns, computed by hand
    probs = torch.softmax(torch.stack([logits[:, 0], torch.logsumexp(logits[:, 1:3], 1), logits[:, 5]], 1), 1)
    got = torch.softmax(out, 1)[:, [10, 20, 999]]
    torch.testing.assert_close(got, probs)


def test_label_map_bounds_and_file_errors(tmp_path):
    with pytest.raises(LabelSpaceError, match="outputs 0..5"):
        resolve_label_space(6, None, model="m", label_map={6: 1})
    with pytest.raises(LabelSpaceError, match="outside the ImageNet indices"):
        resolve_label_space(6, None, model="m", label_map={0: 1000})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(LabelSpaceError, match="not valid JSON"):
        read_label_map(bad)
    bad.write_text(json.dumps({"0": "n99999999"}))
    with pytest.raises(LabelSpaceError, match="neither an ImageNet index nor a WordNet id"):
        read_label_map(bad)


def test_wrong_label_space_stops_before_weights_or_output(tmp_path, dataset, tiny):
    # The model folder has a config and a processor but no weights: reaching the weights would fail
    # differently, so this error proves the check runs first; nothing is written either.
    model = tiny.write_config_only(tmp_path / "ten-classes", num_labels=10)
    with pytest.raises(LabelSpaceError, match="has 10 output classes"):
        evaluate_model(str(model), tmp_path / "out", options=RunOptions(progress=False), dataset=dataset)
    assert not (tmp_path / "out").exists()


def test_label_map_lets_the_model_run(tmp_path, dataset, tiny):
    folder = tiny.build_vit(tmp_path / "ten", num_labels=10)
    mapping = {i: 100 * i for i in range(10)}
    from imagenet_x_hf.runner import LoadOptions

    options = RunOptions(progress=False, num_workers=0, load=LoadOptions(label_map=mapping))
    results = evaluate_model(str(folder), tmp_path / "out", options=options, dataset=dataset.select(range(9)))
    assert results["run"]["label_space"]["kind"] == "mapped"
    import pyarrow.parquet as pq

    predicted = set(
        pq.read_table(tmp_path / "out" / "predictions.parquet").column("predicted_class").to_pylist()
    )
    assert predicted <= set(mapping.values())
