"""timm models (``timm/...`` on the Hub, or a directory saved by timm), loaded with timm itself.

transformers' TimmWrapper applies timm's *training* transform and trips on some local
saves, so timm checkpoints go through ``timm.create_model`` and timm's own eval
transform at the test size (``resolve_data_config(..., use_test_size=True)``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from imagenet_x_hf.runner.adapters.base import LoadedModel, LoadOptions, LoadReport, ModelSpec
from imagenet_x_hf.runner.adapters.source import ModelLoadError, ModelSource
from imagenet_x_hf.runner.labels import resolve_label_space
from imagenet_x_hf.runner.preprocess import Preprocessing

_INTERPOLATIONS = {"bilinear", "bicubic", "nearest", "lanczos", "box", "hamming"}


def _timm():
    try:
        import timm
        import timm.data
    except ImportError:
        raise ModelLoadError(
            "this is a timm model and timm is not installed; pip install 'imagenet-x-hf[timm]'"
        ) from None
    return timm


def data_config(config: dict[str, Any]) -> dict[str, Any]:
    """timm's eval data config (test size) for a saved model's ``config.json``."""
    timm = _timm()
    pretrained_cfg = dict(config.get("pretrained_cfg") or {})
    return timm.data.resolve_data_config(pretrained_cfg=pretrained_cfg, use_test_size=True)


def preprocessing_from_data_config(cfg: dict[str, Any], *, jpeg_draft: bool = False) -> Preprocessing | None:
    """timm's eval transform (``transforms_imagenet_eval``) as a ``Preprocessing``, when it is a plain one.

    >>> p = preprocessing_from_data_config({"input_size": (3, 224, 224), "interpolation": "bicubic",
    ...     "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225), "crop_pct": 0.875, "crop_mode": "center"})
    >>> p.resize, p.crop, p.crop_rounding
    (256, (224, 224), 'round')
    """
    _, height, width = cfg["input_size"]
    crop_pct = cfg.get("crop_pct") or 0.875
    mode = cfg.get("crop_mode") or "center"
    interpolation = cfg.get("interpolation") or "bilinear"
    if interpolation not in _INTERPOLATIONS or mode not in ("center", "squash"):
        return None
    scale = (math.floor(height / crop_pct), math.floor(width / crop_pct))
    if mode == "squash":
        resize: int | tuple[int, int] = scale
    elif scale[0] == scale[1]:
        resize = scale[0]
    else:
        return None
    return Preprocessing(
        resize=resize,
        crop=(height, width),
        interpolation=interpolation,
        kernel="pil",
        mean=tuple(float(v) for v in cfg["mean"]),
        std=tuple(float(v) for v in cfg["std"]),
        scale=1 / 255,
        crop_rounding="round",
        jpeg_draft=jpeg_draft,
    )


def weights_file(folder: Path) -> Path | None:
    """The checkpoint ``timm.create_model("local-dir:...", pretrained=True)`` reads from ``folder``.

    timm takes the first of its preferred names that exists (``model.safetensors``, then
    ``pytorch_model.bin``, ...), else the first file by extension; the safety check must
    look at that file, not at whether some safetensors file lies beside it.
    """
    from timm.models import _hub

    for name in getattr(_hub, "_PREFERRED_FILES", ("model.safetensors", "pytorch_model.bin")):
        if (folder / name).is_file():
            return folder / name
    for ext in getattr(_hub, "_EXT_PRIORITY", (".safetensors", ".pth", ".pth.tar", ".bin")):
        found = sorted(folder.glob(f"*{ext}"))
        if found:
            return found[0]
    return None


def _pickle_refused(ref: str, name: str) -> str:
    return (
        f"{ref}: timm would load the pickled weights {name}. Pickled weights are refused by default; "
        "pass --allow-pickle to load them (read with weights_only, no code runs) if you trust the source."
    )


def check_weights_file(folder: Path, ref: str) -> None:
    """Refuse a timm folder whose weights timm would read from a pickle (``--allow-pickle`` lifts it)."""
    found = weights_file(folder)
    if found is None:
        raise ModelLoadError(f"{ref} has no weights file (model.safetensors) for timm to load")
    if not found.name.endswith(".safetensors"):
        raise ModelLoadError(_pickle_refused(ref, found.name))


def _labels(config: dict[str, Any]) -> tuple[int, list[str] | None]:
    pretrained_cfg = config.get("pretrained_cfg") or {}
    num = config.get("num_classes", pretrained_cfg.get("num_classes"))
    if num is None:
        raise ModelLoadError("the timm config.json has no num_classes; re-save the model with timm")
    names = config.get("label_names") or pretrained_cfg.get("label_names")
    return int(num), (list(names) if names else None)


def timm_spec(source: ModelSource, options: LoadOptions, config: dict[str, Any]) -> ModelSpec:
    """A timm checkpoint: ``config.json`` with ``architecture`` plus weights."""
    timm = _timm()
    if "architecture" not in config:
        raise ModelLoadError(f"{source.ref}: config.json has no 'architecture'; it was not saved by timm")
    num_classes, names = _labels(config)
    label_space = resolve_label_space(num_classes, names, model=source.ref, label_map=options.label_map)
    cfg = data_config(config)
    reference = timm.data.create_transform(**cfg, is_training=False)
    if not options.allow_pickle:
        if source.is_local:
            check_weights_file(source.local_dir, source.ref)
        elif not source.has_safetensors():
            raise ModelLoadError(_pickle_refused(source.ref, "pytorch_model.bin"))

    def loader(device: torch.device) -> LoadedModel:
        if source.is_local:
            folder = source.local_dir
        else:
            weights = source.file("model.safetensors", required=False)
            if weights is None:
                weights = source.file("pytorch_model.bin")
            folder = weights.parent
        if not options.allow_pickle:
            check_weights_file(folder, source.ref)  # the file timm is about to read
        try:
            # timm loads the state dict strictly: a missing or unexpected weight is an error here
            module = timm.create_model(f"local-dir:{folder}", pretrained=True)
            return LoadedModel(module, LoadReport(checked_by="timm strict load"))
        except Exception as err:
            raise ModelLoadError(
                f"timm cannot build {source.ref} ({type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}); "
                "is the weights file complete? Save or download the model again"
            ) from err

    return ModelSpec(
        model=source.ref,
        adapter="timm",
        label_space=label_space,
        preprocessing=preprocessing_from_data_config(cfg, jpeg_draft=options.jpeg_draft),
        reference_transform=reference,
        loader=loader,
        revision=source.revision,
        commit=source.commit(),
        info={
            "architecture": config["architecture"],
            "timm_data_config": {k: _plain(v) for k, v in cfg.items()},
        },
    )


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
