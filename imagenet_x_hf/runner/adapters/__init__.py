"""Model adapters: turn a model reference (Hub id or local directory) into a ``ModelSpec``.

``adapter="auto"`` picks: timm for ``timm/...`` ids and timm saves (``config.json``
with ``architecture``); transformers for image classifiers (``...ForImageClassification``);
zero-shot for image-text dual encoders (a config with ``text_config`` and ``vision_config``).
"""

from __future__ import annotations

from typing import Any

from imagenet_x_hf.runner.adapters.base import LoadOptions, LogitsModule, ModelSpec
from imagenet_x_hf.runner.adapters.source import ModelLoadError, ModelSource
from imagenet_x_hf.settings import ADAPTERS


def detect_adapter(source: ModelSource, config: dict[str, Any]) -> str:
    """Which adapter fits a model, from its id and ``config.json``.

    >>> detect_adapter(ModelSource("timm/resnet50.a1_in1k"), {})
    'timm'
    >>> detect_adapter(ModelSource("x/y"), {"architectures": ["CLIPModel"], "text_config": {}, "vision_config": {}})
    'zero-shot'
    >>> detect_adapter(ModelSource("x/y"), {"architectures": ["ViTForImageClassification"]})
    'transformers'
    """
    if source.ref.startswith("timm/") or ("architecture" in config and "model_type" not in config):
        return "timm"
    architectures = config.get("architectures") or []
    if any("ForImageClassification" in a for a in architectures):
        return "transformers"
    if "text_config" in config and "vision_config" in config:
        return "zero-shot"
    if "model_type" in config:
        return "transformers"
    raise ModelLoadError(
        f"cannot tell what kind of model {source.ref} is from its config.json; pass --adapter "
        "transformers, timm or zero-shot"
    )


def model_spec(ref: str, *, adapter: str = "auto", options: LoadOptions | None = None) -> ModelSpec:
    """Read a model's config and preprocessing, check its label space; no weights are loaded yet."""
    options = options or LoadOptions()
    if adapter not in ADAPTERS:
        raise ModelLoadError(f"unknown adapter {adapter!r}; use one of {', '.join(ADAPTERS)}")
    source = ModelSource.resolve(ref, revision=options.revision)
    config = source.config()
    if adapter == "auto":
        adapter = detect_adapter(source, config)
    if adapter == "timm":
        from imagenet_x_hf.runner.adapters.timm_adapter import timm_spec as build
    elif adapter == "zero-shot":
        from imagenet_x_hf.runner.adapters.zero_shot import zero_shot_spec as build
    else:
        from imagenet_x_hf.runner.adapters.transformers_adapter import transformers_spec as build
    spec = build(source, options, config)
    # read after the adapter has fetched what it needs (for a Hub id: config, processor, tokenizer)
    spec.file_hashes = source.content_hashes()
    return spec


__all__ = [
    "ADAPTERS",
    "LoadOptions",
    "LogitsModule",
    "ModelLoadError",
    "ModelSpec",
    "detect_adapter",
    "model_spec",
]
