"""Zero-shot classification with CLIP-style models (transformers CLIP, SigLIP, ...).

Each ImageNet class gets a text embedding: the class name in a few prompt templates,
each prompt embedded and L2-normalised, averaged, normalised again. An image's
logits are its normalised embedding against those 1000 embeddings, times the
model's logit scale (plus its bias for SigLIP).

>>> class_prompts("tench", ("a photo of a {}.",))
['a photo of a tench.']
>>> prompt_class_names()[134]
'crane'
"""

from __future__ import annotations

import re
from typing import Any

import torch

from imagenet_x_hf.runner.adapters.base import LoadedModel, LoadOptions, ModelSpec
from imagenet_x_hf.runner.adapters.source import ModelLoadError, ModelSource
from imagenet_x_hf.runner.adapters.transformers_adapter import (
    check_weights_format,
    load_processor,
    load_weights,
    processor_spec,
)
from imagenet_x_hf.runner.labels import resolve_label_space

# A small ensemble of CLIP's ImageNet templates (the seven its authors found to work best together).
TEMPLATES: tuple[str, ...] = (
    "itap of a {}.",
    "a bad photo of the {}.",
    "a origami {}.",
    "a photo of the large {}.",
    "a {} in a video game.",
    "art of the {}.",
    "a photo of the small {}.",
)


def prompt_class_names() -> list[str]:
    """The ImageNet class names without the ``(nXXXXXXXX)`` that keeps duplicates apart."""
    from imagenet_x_hf import schema

    return [re.sub(r" \(n\d{8}\)$", "", name) for name in schema.CLASS_NAMES]


def class_prompts(name: str, templates: tuple[str, ...]) -> list[str]:
    return [t.format(name) for t in templates]


def _pooled(output: Any) -> torch.Tensor:
    # transformers 5 returns a model output whose pooler_output is the projected embedding.
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class ZeroShotClassifier(torch.nn.Module):
    """Image -> logits against fixed per-class text embeddings."""

    def __init__(self, model: torch.nn.Module, text_embeddings: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("text_embeddings", text_embeddings)
        scale = getattr(model, "logit_scale", None)
        bias = getattr(model, "logit_bias", None)
        self.register_buffer(
            "scale", scale.detach().exp().float() if scale is not None else torch.tensor(1.0)
        )
        self.register_buffer("bias", bias.detach().float() if bias is not None else torch.tensor(0.0))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        image = _pooled(self.model.get_image_features(pixel_values=pixel_values)).float()
        image = image / image.norm(dim=-1, keepdim=True)
        return self.scale * image @ self.text_embeddings.T + self.bias


@torch.no_grad()  # not inference_mode: the embeddings are reused outside it
def text_embeddings(
    model: torch.nn.Module,
    tokenizer: Any,
    templates: tuple[str, ...],
    *,
    device: torch.device,
    padding: Any = True,
    max_length: int | None = None,
    batch_classes: int = 64,
) -> torch.Tensor:
    """``(1000, dim)`` unit-norm class embeddings: template embeddings normalised, averaged, renormalised."""
    names = prompt_class_names()
    out = []
    for start in range(0, len(names), batch_classes):
        chunk = names[start : start + batch_classes]
        prompts = [p for name in chunk for p in class_prompts(name, templates)]
        tokens = tokenizer(
            prompts, padding=padding, truncation=True, max_length=max_length, return_tensors="pt"
        ).to(device)
        kwargs = {"input_ids": tokens["input_ids"]}
        if "attention_mask" in tokens:
            kwargs["attention_mask"] = tokens["attention_mask"]
        emb = _pooled(model.get_text_features(**kwargs)).float()
        emb = emb / emb.norm(dim=-1, keepdim=True)
        emb = emb.view(len(chunk), len(templates), -1).mean(dim=1)
        out.append(emb / emb.norm(dim=-1, keepdim=True))
    return torch.cat(out)


def zero_shot_spec(source: ModelSource, options: LoadOptions, config: dict[str, Any]) -> ModelSpec:
    """A CLIP-style dual encoder used as a 1000-class ImageNet classifier."""
    from transformers import AutoModel, AutoTokenizer

    if not (isinstance(config.get("text_config"), dict) and isinstance(config.get("vision_config"), dict)):
        raise ModelLoadError(
            f"{source.ref} is not an image-text dual encoder (its config.json has no text_config and "
            "vision_config), so --adapter zero-shot cannot use it; leave --adapter auto for an image "
            "classifier, or pass a CLIP-style model"
        )
    templates = tuple(options.templates or TEMPLATES)
    model_type = str(config.get("model_type", ""))
    label_space = resolve_label_space(1000, None, model=source.ref, label_map=options.label_map)
    processor = load_processor(source, options)
    check_weights_format(source, options)
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source.ref, revision=source.revision, trust_remote_code=options.trust_remote_code
        )
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"cannot load the tokenizer of {source.ref}: {err}") from err
    # SigLIP pools the last token, so its prompts must be padded to the length it was trained with.
    text_config = config.get("text_config") or {}
    if model_type.startswith("siglip"):
        padding, max_length = "max_length", int(text_config.get("max_position_embeddings", 64))
    else:
        padding, max_length = True, min(int(tokenizer.model_max_length or 77), 512)

    def loader(device: torch.device) -> torch.nn.Module:
        model, report = load_weights(AutoModel, source, options, what="an image-text model")
        if not hasattr(model, "get_image_features") or not hasattr(model, "get_text_features"):
            raise ModelLoadError(f"{source.ref} ({type(model).__name__}) is not an image-text dual encoder")
        model = model.to(device).eval()
        emb = text_embeddings(
            model, tokenizer, templates, device=device, padding=padding, max_length=max_length
        )
        return LoadedModel(ZeroShotClassifier(model, emb), report)

    return processor_spec(
        source,
        options,
        processor,
        adapter="zero-shot",
        label_space=label_space,
        loader=loader,
        info={
            "architecture": (config.get("architectures") or [model_type])[0],
            "templates": list(templates),
            "class_names": "imagenet_x_hf.schema.CLASS_NAMES without the (wnid) suffix",
        },
    )
