"""What every model adapter gives the runner: a ``ModelSpec``, cheap to build, then weights on demand.

Building a spec reads only the model's config and preprocessing files, so the label
space is checked and the run's fingerprint is known before any weights are
downloaded; ``spec.load(device)`` then returns a module mapping a normalised pixel
batch to logits in the model's own label space.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image

from imagenet_x_hf.runner.labels import LabelSpace
from imagenet_x_hf.runner.preprocess import Preprocessing
from imagenet_x_hf.settings import LoadOptions

__all__ = ["LoadOptions", "LoadReport", "LoadedModel", "LogitsModule", "ModelSpec"]

SHOWN_KEYS = 4


def _shown(keys: tuple[str, ...]) -> str:
    return ", ".join(keys[:SHOWN_KEYS]) + (", ..." if len(keys) > SHOWN_KEYS else "")


@dataclass(frozen=True)
class LoadReport:
    """Which of the architecture's weights the checkpoint did not fill, and which it held for none.

    A weight the checkpoint lacks is initialised at random: the predictions would be noise
    (a backbone without its classifier, another architecture's file in the folder), so such
    a checkpoint is refused. Weights the checkpoint holds beyond the architecture's (an unused
    pooler, say) are ignored: every weight the model uses still comes from the file; they
    are recorded and warned about.

    >>> LoadReport(missing_keys=("classifier.weight", "classifier.bias")).problem("m")
    'm: its checkpoint does not hold 2 weights of the classifier it is loaded as (classifier.weight, classifier.bias); they would be random, not trained. Evaluate a checkpoint with a trained ImageNet classifier (a ...ForImageClassification model), or check that the weights file belongs to this config.json'
    """

    missing_keys: tuple[str, ...] = ()
    unexpected_keys: tuple[str, ...] = ()
    mismatched_keys: tuple[str, ...] = ()
    checked_by: str = "transformers loading info"

    @property
    def all_weights_loaded(self) -> bool:
        """Every weight of the architecture came from the checkpoint."""
        return not (self.missing_keys or self.mismatched_keys)

    def problem(self, model: str) -> str | None:
        """One line naming what did not load and what to do; ``None`` when everything loaded."""
        if self.all_weights_loaded:
            return None
        parts = []
        for what, keys in (
            ("does not hold", self.missing_keys),
            ("has a wrong shape for", self.mismatched_keys),
        ):
            if keys:
                parts.append(f"{what} {len(keys)} weights of the classifier it is loaded as ({_shown(keys)})")
        return (
            f"{model}: its checkpoint {'; '.join(parts)}; they would be random, not trained. Evaluate a "
            "checkpoint with a trained ImageNet classifier (a ...ForImageClassification model), or check "
            "that the weights file belongs to this config.json"
        )

    def unused(self, model: str) -> str | None:
        """One line about weights the checkpoint holds that the architecture does not use."""
        if not self.unexpected_keys:
            return None
        keys = self.unexpected_keys
        return (
            f"{model}: its checkpoint holds {len(keys)} weights the model does not use ({_shown(keys)}); "
            "they are ignored (every weight the model uses was loaded)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "missing_keys": list(self.missing_keys),
            "unexpected_keys": list(self.unexpected_keys),
            "mismatched_keys": list(self.mismatched_keys),
            "all_weights_loaded": self.all_weights_loaded,
            "checked_by": self.checked_by,
        }


@dataclass(frozen=True)
class LoadedModel:
    """A model's weights on a device (``module``: pixels -> logits) and how they loaded."""

    module: torch.nn.Module
    report: LoadReport


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
    loader: Callable[[torch.device], LoadedModel] = field(repr=False)
    revision: str | None = None
    commit: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    file_hashes: dict[str, str] = field(default_factory=dict)

    def load(self, device: torch.device | str = "cpu") -> torch.nn.Module:
        """Load the weights (float32, eval mode) onto ``device``; the module maps pixels to logits."""
        return self.load_weights(device).module

    def load_weights(self, device: torch.device | str = "cpu") -> LoadedModel:
        """``load`` with its ``LoadReport``; a checkpoint that leaves weights unfilled is refused
        (``ModelLoadError``) before any prediction."""
        from imagenet_x_hf.runner.adapters.source import ModelLoadError

        loaded = self.loader(torch.device(device))
        problem = loaded.report.problem(self.model)
        if problem is not None:
            raise ModelLoadError(problem)
        unused = loaded.report.unused(self.model)
        if unused is not None:
            warnings.warn(unused, UserWarning, stacklevel=2)
        return LoadedModel(loaded.module.to(device).eval(), loaded.report)

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
