"""A model's output classes, mapped onto the 1000 ImageNet-1k classes.

ImageNet-X scores predictions in the ImageNet-1k index space. A model qualifies when
its outputs are those 1000 classes in the standard order, or 1001 outputs whose
first is "background" (an old TensorFlow convention), or when the user supplies a
mapping from model outputs to ImageNet indices. Everything is checked from the
model's config, before any weights are loaded or images decoded.

>>> space = resolve_label_space(1001, None, model="m")
>>> space.kind, space.num_model_classes
('imagenet-1k+background', 1001)
>>> import torch
>>> space.apply(torch.arange(1001.0)[None]).shape
torch.Size([1, 1000])
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from imagenet_x_hf.errors import LabelSpaceError
from imagenet_x_hf.label_map import read_label_map as read_label_map

NUM_IMAGENET = 1000
# Share of the 1000 positions whose model label must name the ImageNet class there.
MIN_NAME_AGREEMENT = 0.95
_GENERIC_LABEL = re.compile(r"^(label|class)?[ _-]?\d+$", re.IGNORECASE)
_BACKGROUND = {"background", "none", "null", "dummy", "unused", "other"}


def _normalise(text: str) -> str:
    text = text.lower().replace("_", " ").replace("'", "").replace("\u2019", "")
    return " ".join(text.split())


@dataclass(frozen=True)
class LabelSpace:
    """How a model's outputs become ImageNet-1k logits.

    ``kind`` is ``"imagenet-1k"`` (used as is), ``"imagenet-1k+background"`` (output 0
    dropped) or ``"mapped"`` (a user mapping; ImageNet classes it does not cover get
    ``-inf``, several model outputs mapped to one class are pooled by log-sum-exp,
    that is, their probabilities are added).
    """

    kind: str
    num_model_classes: int
    check: str
    source: np.ndarray = field(repr=False)
    target: np.ndarray = field(repr=False)

    @property
    def covered_classes(self) -> int:
        return int(np.unique(self.target).size)

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        """Model logits ``(N, num_model_classes)`` -> ImageNet logits ``(N, 1000)``, float32."""
        if logits.shape[-1] != self.num_model_classes:
            raise LabelSpaceError(
                f"the model returned {logits.shape[-1]} outputs but its config declares "
                f"{self.num_model_classes}; the config does not describe these weights"
            )
        logits = logits.float()
        if self.kind == "imagenet-1k":
            return logits
        if self.kind == "imagenet-1k+background":
            return logits[:, 1:]
        src = torch.as_tensor(self.source, device=logits.device)
        dst = torch.as_tensor(self.target, device=logits.device)
        picked = logits.index_select(1, src)
        if self.covered_classes == len(self.target):
            out = logits.new_full((logits.shape[0], NUM_IMAGENET), float("-inf"))
            return out.index_copy_(1, dst, picked)
        top = picked.max(dim=1, keepdim=True).values
        summed = logits.new_zeros((logits.shape[0], NUM_IMAGENET)).index_add_(1, dst, (picked - top).exp())
        return summed.log() + top

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model_classes": self.num_model_classes,
            "imagenet_classes_covered": self.covered_classes,
            "check": self.check,
        }


def _imagenet_names() -> tuple[list[str], list[str]]:
    from imagenet_x_hf import schema

    names = [_normalise(re.sub(r" \(n\d{8}\)$", "", n)) for n in schema.CLASS_NAMES]
    return names, list(schema.WNIDS)


def _matches(label: str, name: str, wnid: str) -> bool:
    label_n = _normalise(label)
    if label_n in (name, wnid):
        return True
    return name in (part.strip() for part in label_n.split(","))


def _check_names(names: Sequence[str] | None, *, model: str) -> str:
    """Names of the 1000 ImageNet outputs -> a description of the check; raises on disagreement."""
    if names is None:
        return "no label names in the config: standard ImageNet order assumed"
    if all(_GENERIC_LABEL.match(str(n).strip()) for n in names):
        return "generic label names (LABEL_i): standard ImageNet order assumed"
    imagenet, wnids = _imagenet_names()
    agree = [_matches(str(label), imagenet[i], wnids[i]) for i, label in enumerate(names)]
    count = sum(agree)
    if count >= MIN_NAME_AGREEMENT * NUM_IMAGENET:
        return f"label names match the ImageNet classes at {count} of 1000 positions"
    examples = ", ".join(
        f"{i}: {names[i]!r} vs {imagenet[i]!r}" for i in [j for j, ok in enumerate(agree) if not ok][:3]
    )
    raise LabelSpaceError(
        f"{model}: its 1000 label names match the ImageNet-1k classes at only {count} of 1000 "
        f"positions (e.g. {examples}), so its outputs are not in the standard ImageNet order. "
        "Pass --label-map FILE, a JSON object mapping each model output index to an ImageNet "
        "index (or WordNet id)."
    )


def resolve_label_space(
    num_classes: int,
    names: Sequence[str] | None,
    *,
    model: str,
    label_map: Mapping[int, int] | None = None,
) -> LabelSpace:
    """Check a model's label space against ImageNet-1k; raise ``LabelSpaceError`` when it does not fit.

    Args:
        num_classes: the number of model outputs.
        names: the model's label names by output index, if its config has them.
        model: the model's name, for messages.
        label_map: model output index -> ImageNet index; replaces every check but bounds.

    >>> resolve_label_space(1000, [f"LABEL_{i}" for i in range(1000)], model="m").kind
    'imagenet-1k'
    >>> resolve_label_space(10, None, model="m")
    Traceback (most recent call last):
    ...
    imagenet_x_hf.errors.LabelSpaceError: m has 10 output classes; ImageNet-X scores the 1000 ImageNet-1k classes (or 1001 with a background class first). Pass --label-map FILE, a JSON object mapping model output indices to ImageNet indices (or WordNet ids).
    >>> resolve_label_space(10, None, model="m", label_map={3: 0, 4: 0, 7: 999}).covered_classes
    2
    """
    if label_map is not None:
        return _mapped(num_classes, label_map, model=model)
    if names is not None and len(names) != num_classes:
        names = None
    if num_classes == NUM_IMAGENET:
        check = _check_names(names, model=model)
        idx = np.arange(NUM_IMAGENET)
        return LabelSpace("imagenet-1k", num_classes, check, idx, idx)
    if num_classes == NUM_IMAGENET + 1:
        if names is not None:
            first = _normalise(str(names[0]))
            if not (_GENERIC_LABEL.match(first) or first in _BACKGROUND):
                raise LabelSpaceError(
                    f"{model} has 1001 outputs but output 0 is {names[0]!r}, not a background "
                    "class; pass --label-map FILE to say which outputs are which ImageNet classes"
                )
        check = _check_names(None if names is None else list(names[1:]), model=model)
        idx = np.arange(NUM_IMAGENET)
        return LabelSpace("imagenet-1k+background", num_classes, f"output 0 dropped; {check}", idx + 1, idx)
    raise LabelSpaceError(
        f"{model} has {num_classes} output classes; ImageNet-X scores the 1000 ImageNet-1k classes "
        "(or 1001 with a background class first). Pass --label-map FILE, a JSON object mapping "
        "model output indices to ImageNet indices (or WordNet ids)."
    )


def _mapped(num_classes: int, label_map: Mapping[int, int], *, model: str) -> LabelSpace:
    if not label_map:
        raise LabelSpaceError("the label map is empty: map at least one model output to an ImageNet class")
    pairs = sorted((int(k), int(v)) for k, v in label_map.items())
    bad_src = [k for k, _ in pairs if not 0 <= k < num_classes]
    bad_dst = [v for _, v in pairs if not 0 <= v < NUM_IMAGENET]
    if bad_src:
        raise LabelSpaceError(
            f"the label map names model outputs {bad_src[:5]} but {model} has outputs 0..{num_classes - 1}; "
            "fix the map's keys"
        )
    if bad_dst:
        raise LabelSpaceError(f"the label map targets {bad_dst[:5]}, outside the ImageNet indices 0..999")
    source = np.array([k for k, _ in pairs], dtype=np.int64)
    target = np.array([v for _, v in pairs], dtype=np.int64)
    unmapped = num_classes - len(pairs)
    if unmapped:
        first = next(i for i in range(num_classes) if i not in label_map)
        warnings.warn(
            f"the label map leaves {unmapped} of the model's {num_classes} outputs (e.g. {first}) on no "
            "ImageNet class: their scores are ignored, so an image whose top output is one of them is "
            "predicted as its best mapped class",
            UserWarning,
            stacklevel=3,
        )
    counts = np.bincount(target, minlength=NUM_IMAGENET)
    if (counts > 1).any():
        outputs, classes = int(counts[counts > 1].sum()), int((counts > 1).sum())
        warnings.warn(
            f"the label map sends {outputs} model outputs to the same ImageNet class as another output "
            f"({classes} classes shared, e.g. class {int(np.argmax(counts > 1))}); their probabilities "
            "are added up",
            UserWarning,
            stacklevel=3,
        )
    check = f"user label map: {len(pairs)} model outputs onto {np.unique(target).size} ImageNet classes"
    return LabelSpace("mapped", num_classes, check, source, target)
