"""Tiny random-weight models saved like Hub checkpoints, one builder per adapter the runner has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from imagenet_x_hf import schema


def imagenet_lemmas() -> list[str]:
    """ImageNet labels as Hub classifiers write them ("tench, Tinca tinca"), from timm's own copy."""
    import timm.data

    return list(timm.data.ImageNetInfo().label_descriptions())


def _id2label(names: list[str]) -> dict[int, str]:
    return dict(enumerate(names))


def build_vit(folder: Path) -> Path:
    """ViT on 32x32 inputs, generic LABEL_i names, ViT image processor (resize 32x32, no crop)."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    config = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1000,
    )
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def build_resnet(folder: Path, *, num_labels: int = 1000, names: list[str] | None = None) -> Path:
    """A small transformers ResNet with a ConvNeXt-style processor (shorter side 36, crop 32, bicubic)."""
    from transformers import ConvNextImageProcessor, ResNetConfig, ResNetForImageClassification

    torch.manual_seed(1)
    config = ResNetConfig(
        embedding_size=8,
        hidden_sizes=[8, 16],
        depths=[1, 1],
        layer_type="basic",
        num_labels=num_labels,
        id2label=_id2label(names) if names else None,
        label2id={n: i for i, n in enumerate(names)} if names else None,
    )
    ResNetForImageClassification(config).save_pretrained(folder)
    ConvNextImageProcessor(size={"shortest_edge": 32}, crop_pct=0.875).save_pretrained(folder)
    return folder


def build_resnet_1001(folder: Path) -> Path:
    """1001 outputs, index 0 "background" (the TensorFlow convention), then the ImageNet labels."""
    return build_resnet(folder, num_labels=1001, names=["background", *imagenet_lemmas()])


def build_timm(folder: Path) -> Path:
    """timm resnet10t saved by timm (safetensors + config.json), eval at 32 px, crop_pct 0.9, bicubic."""
    import timm
    from timm.models import save_for_hf

    torch.manual_seed(2)
    model = timm.create_model("resnet10t", pretrained=False, num_classes=1000)
    data_config = {
        "input_size": (3, 32, 32),
        "interpolation": "bicubic",
        "crop_pct": 0.9,
        "crop_mode": "center",
        "mean": (0.485, 0.456, 0.406),
        "std": (0.229, 0.224, 0.225),
    }
    save_for_hf(
        model,
        folder,
        model_config={"label_names": list(schema.WNIDS)},
        data_config=data_config,
        safe_serialization=True,
    )
    return folder


def _word_tokenizer(folder: Path, texts: list[str]):
    """A word-level fast tokenizer over ``texts`` (no download), saved as a transformers tokenizer."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = sorted({w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower())})
    specials = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
    vocab = {w: i for i, w in enumerate(specials + words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", vocab["[BOS]"]), ("[EOS]", vocab["[EOS]"])]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
        model_max_length=32,
    )
    fast.save_pretrained(folder)
    return fast, vocab


def build_clip(folder: Path, *, templates: tuple[str, ...]) -> Path:
    """A tiny CLIP (text and vision towers of width 32) with a word-level tokenizer and CLIP processor."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    from imagenet_x_hf.runner.adapters.zero_shot import prompt_class_names

    texts = [t.format(n) for n in prompt_class_names() for t in templates] + ["this is a photo of"]
    folder.mkdir(parents=True, exist_ok=True)
    _, vocab = _word_tokenizer(folder, texts)
    torch.manual_seed(3)
    config = CLIPConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 32,
            "pad_token_id": vocab["[PAD]"],
            "bos_token_id": vocab["[BOS]"],
            "eos_token_id": vocab["[EOS]"],
        },
        vision_config={
            "image_size": 32,
            "patch_size": 8,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
        },
        projection_dim=16,
    )
    CLIPModel(config).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder
    )
    return folder


def write_config_only(folder: Path, *, num_labels: int) -> Path:
    """A classifier config with no weights at all: label checks must fail before weights are needed."""
    from transformers import ViTConfig, ViTImageProcessor

    folder.mkdir(parents=True, exist_ok=True)
    ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=num_labels,
        architectures=["ViTForImageClassification"],
    ).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    assert not any(folder.glob("*.safetensors"))
    json.loads((folder / "config.json").read_text())
    return folder
