"""What every model adapter gives the runner: a ``ModelSpec``, cheap to build, then weights on demand.

Building a spec reads only the model's config and preprocessing files, so the label
space is checked and the run's fingerprint is known before any weights are
downloaded; ``spec.load(device)`` then returns a module mapping a normalised pixel
batch to logits in the model's own label space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image

from imagenet_x_hf.runner.labels import LabelSpace
from imagenet_x_hf.runner.preprocess import Preprocessing
from imagenet_x_hf.settings import LoadOptions

__all__ = ["LoadOptions", "LogitsModule", "ModelSpec"]


@dataclass
class ModelSpec:
    """A model ready to load: identity, label space and preprocessing.

    ``preprocessing`` is the resolved fast path (``None`` when the model's transform
    has steps it cannot express); ``reference_transform`` is the model's own eval
    transform (PIL -> normalised float tensor), the ground truth the fast path is
    checked against and the fallback when it does not agree.
    """

    model: str
    adapter: str
    label_space: LabelSpace
    preprocessing: Preprocessing | None
    reference_transform: Callable[[Image.Image], torch.Tensor]
    loader: Callable[[torch.device], torch.nn.Module] = field(repr=False)
    revision: str | None = None
    commit: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    file_hashes: dict[str, str] = field(default_factory=dict)

    def load(self, device: torch.device | str = "cpu") -> torch.nn.Module:
        """Load the weights (float32, eval mode) onto ``device``; the module maps pixels to logits."""
        module = self.loader(torch.device(device))
        return module.to(device).eval()

    def describe(self) -> dict[str, Any]:
        """JSON-ready identity of the model, for results and fingerprints."""
        return {
            "model": self.model,
            "adapter": self.adapter,
            "revision": self.revision,
            "commit": self.commit,
            "label_space": self.label_space.to_dict(),
            **self.info,
        }


class LogitsModule(torch.nn.Module):
    """Wraps a classifier whose forward returns an output object with ``.logits``."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixel_values).logits
