"""The torch Dataset view: pixels, label and factor vector per image."""

from __future__ import annotations

import pytest
import torch

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.loaders.torch_view import ImageNetXTorch


@pytest.fixture(scope="module")
def dataset(sources, small_annotations, quiet_load, tmp_path_factory):
    path, _ = sources["val_flat"]
    return quiet_load(
        "validation",
        path,
        annotations_dir=small_annotations,
        allow_missing=True,
        cache_dir=tmp_path_factory.mktemp("c"),
    )


def test_items_carry_pixels_label_and_factors(dataset, sources):
    _, roles = sources["val_flat"]
    top, multi = ImageNetXTorch(dataset), ImageNetXTorch(dataset, which_factor="multi")
    assert len(top) == dataset.num_rows == 35
    odd = set(roles["cmyk"] + roles["grayscale"] + roles["png"])
    seen_odd = 0
    for i, row in enumerate(dataset.remove_columns("image")):
        pixels, label, factors = top[i]
        assert pixels.dtype == torch.uint8 and tuple(pixels.shape) == (3, 36, 44)
        assert label == row["label"]
        expected = torch.zeros(16)
        if row["top_factor"] is not None:
            expected[row["top_factor"]] = 1
        assert torch.equal(factors, expected)
        expected_multi = torch.zeros(16)
        expected_multi[row["factors"]] = 1
        assert torch.equal(multi[i][2], expected_multi)
        seen_odd += row["file_name"] in odd
    assert seen_odd == 3


def test_transform_and_dataloader(dataset):
    from torchvision import transforms

    view = ImageNetXTorch(dataset, transforms.Compose([transforms.Resize((8, 8)), transforms.ToTensor()]))
    batches = list(torch.utils.data.DataLoader(view, batch_size=4))
    assert len(batches) == 9 and batches[-1][0].shape == (3, 3, 8, 8)
    assert batches[0][0].dtype == torch.float32 and batches[0][2].shape == (4, 16)
    assert torch.cat([b[1] for b in batches]).tolist() == dataset["label"]


def test_bad_input_is_refused(dataset):
    with pytest.raises(ImageNetXError, match="which_factor must be one of"):
        ImageNetXTorch(dataset, which_factor="best")
    with pytest.raises(ImageNetXError, match="no 'image' column"):
        ImageNetXTorch(dataset.remove_columns("image"))
