"""The batch loop: out-of-memory back-off gives the same predictions with smaller batches."""

from __future__ import annotations

import numpy as np
import torch

from imagenet_x_hf.runner.labels import resolve_label_space
from imagenet_x_hf.runner.predict import BatchPredictor
from imagenet_x_hf.runner.preprocess import Normalizer, Preprocessing


class RaisesWhenLarge(torch.nn.Module):
    """A real linear classifier that fails like a full GPU on batches above ``limit``."""

    def __init__(self, limit: int):
        super().__init__()
        torch.manual_seed(0)
        self.head = torch.nn.Linear(3 * 8 * 8, 1000)
        self.limit = limit
        self.seen: list[int] = []

    def forward(self, x):
        self.seen.append(x.shape[0])
        if x.shape[0] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.head(x.flatten(1))


def _predictor(module, batch_size):
    prep = Preprocessing(resize=(8, 8), crop=None, interpolation="bilinear", kernel="pil",
                         mean=(0.5,) * 3, std=(0.25,) * 3)  # fmt: skip
    return BatchPredictor(
        module=module,
        label_space=resolve_label_space(1000, None, model="m"),
        device=torch.device("cpu"),
        precision="fp32",
        normalizer=Normalizer(prep, torch.device("cpu")),
        batch_size=batch_size,
    )


def test_out_of_memory_halves_the_batch_and_keeps_results():
    pixels = torch.randint(0, 256, (37, 3, 8, 8), dtype=torch.uint8)
    small = _predictor(RaisesWhenLarge(limit=1000), batch_size=37).predict(pixels)
    flaky = RaisesWhenLarge(limit=10)
    predictor = _predictor(flaky, batch_size=37)
    got = predictor.predict(pixels)
    assert predictor.batch_size == 9 and predictor.backoffs == [18, 9]
    assert max(s for s in flaky.seen[2:]) <= 10
    np.testing.assert_array_equal(got["predicted_class"], small["predicted_class"])
    np.testing.assert_allclose(got["predicted_probability"], small["predicted_probability"], rtol=1e-5)
    # by hand: normalise, linear layer, softmax, argmax
    x = (pixels.float() / 255 - 0.5) / 0.25
    expected = flaky.head(x.flatten(1)).argmax(1).numpy()
    np.testing.assert_array_equal(got["predicted_class"], expected)


def test_other_errors_are_not_swallowed():
    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("shape mismatch")

    try:
        _predictor(Broken(), batch_size=4).predict(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    except RuntimeError as err:
        assert "shape mismatch" in str(err)
    else:
        raise AssertionError("the error should propagate")
