"""Test fixtures shared by every test folder: tiny random-weight models saved like Hub
checkpoints (one builder per adapter the runner has), ImageNet-sized textured JPEGs,
and naive per-image references (the model's own processor, one forward pass per image).

Tests reach these through fixtures (``tiny``, ``model_dirs``, ``reference``), so no
test edits ``sys.path`` or imports a sibling file. Models are built on first use and
shared by the whole session.
"""

from __future__ import annotations

import io
import json
import re
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from imagenet_x_hf import schema


def imagenet_lemmas() -> list[str]:
    """ImageNet labels as Hub classifiers write them ("tench, Tinca tinca"), from timm's own copy."""
    import timm.data

    return list(timm.data.ImageNetInfo().label_descriptions())


def _id2label(names: list[str]) -> dict[int, str]:
    return dict(enumerate(names))


def build_vit(folder: Path, *, size: int = 32, num_labels: int = 1000, pickled: bool = False) -> Path:
    """ViT on ``size`` x ``size`` inputs, generic LABEL_i names, ViT image processor (resize, no crop);
    ``pickled``: weights saved as ``pytorch_model.bin`` only (a torch pickle)."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    config = ViTConfig(
        image_size=size,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=num_labels,
        architectures=["ViTForImageClassification"],
    )
    model = ViTForImageClassification(config)
    if pickled:
        folder.mkdir(parents=True, exist_ok=True)
        config.save_pretrained(folder)
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
    else:
        model.save_pretrained(folder)
    ViTImageProcessor(size={"height": size, "width": size}).save_pretrained(folder)
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


def build_timm(folder: Path, *, size: int = 32) -> Path:
    """timm resnet10t saved by timm (safetensors + config.json), eval at ``size`` px, crop_pct 0.9, bicubic."""
    import timm
    from timm.models import save_for_hf

    torch.manual_seed(2)
    model = timm.create_model("resnet10t", pretrained=False, num_classes=1000)
    data_config = {
        "input_size": (3, size, size),
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


# -- ImageNet-sized images -----------------------------------------------------------------------


def textured_jpeg(seed: int, width: int, height: int, *, quality: int = 90) -> bytes:
    """A JPEG with smooth shapes plus fine noise: decodes like a photo, and downscaling changes it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [np.sin(xx / rng.uniform(5, 40)), np.cos(yy / rng.uniform(5, 40)), np.sin((xx + yy) / 17)], -1
    )
    pixels = (base * 60 + 128 + rng.normal(0, 25, (height, width, 3))).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    from PIL import Image

    Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def textured_dataset(sizes: list[tuple[int, int]]):
    """Annotated validation rows (real file names) whose images are textured JPEGs of ``sizes`` (w, h)."""
    import datasets

    import imagenet_x_hf
    from imagenet_x_hf.schema import image_features

    rows = imagenet_x_hf.load("validation", filter_prototypes=False).select(range(len(sizes))).to_dict()
    rows["image"] = [
        {"bytes": textured_jpeg(i, w, h), "path": name}
        for i, ((w, h), name) in enumerate(zip(sizes, rows["file_name"]))
    ]
    return datasets.Dataset.from_dict(rows, features=image_features())


# -- naive per-image references ------------------------------------------------------------------


def reference_images(dataset):
    """(file_name, RGB PIL image) per row, decoded at full size by PIL."""
    import datasets
    from PIL import Image

    raw = dataset.cast_column("image", datasets.Image(decode=False))
    for row in raw:
        yield row["file_name"], Image.open(io.BytesIO(row["image"]["bytes"])).convert("RGB")


@torch.no_grad()
def transformers_predictions(model_dir, dataset, *, drop_first: bool = False, backend: str | None = None):
    """A per-image loop through the model's own image processor and the model."""
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    kwargs = {"backend": backend} if backend else {}
    processor = AutoImageProcessor.from_pretrained(model_dir, **kwargs)
    model = AutoModelForImageClassification.from_pretrained(model_dir).eval()
    return _loop(
        dataset,
        lambda im: processor(images=im, return_tensors="pt")["pixel_values"],
        lambda x: model(pixel_values=x).logits,
        drop_first,
    )


@torch.no_grad()
def timm_predictions(model_dir, dataset):
    """A per-image loop through timm's own eval transform and the model."""
    import timm
    import timm.data

    model = timm.create_model(f"local-dir:{model_dir}", pretrained=True).eval()
    config = timm.data.resolve_data_config(model=model, use_test_size=True)
    transform = timm.data.create_transform(**config, is_training=False)
    return _loop(dataset, lambda im: transform(im)[None], model, False)


def _loop(dataset, preprocess, forward, drop_first):
    names, classes, probs, top5 = [], [], [], []
    for name, image in reference_images(dataset):
        logits = forward(preprocess(image))[0].float()
        if drop_first:
            logits = logits[1:]
        p = torch.softmax(logits, 0)
        names.append(name)
        classes.append(int(logits.argmax()))
        probs.append(float(p[classes[-1]]))
        top5.append(torch.topk(p, 5).indices.tolist())
    return {
        "file_name": names,
        "predicted_class": np.array(classes),
        "predicted_probability": np.array(probs),
        "top5_classes": np.array(top5),
    }


# -- fixtures ------------------------------------------------------------------------------------

ZERO_SHOT_TEMPLATES = ("this is a photo of {}.",)

_BUILDERS = {
    "vit": build_vit,
    "vit64": lambda folder: build_vit(folder, size=64),
    "resnet": lambda folder: build_resnet(folder, names=imagenet_lemmas()),
    "resnet1001": build_resnet_1001,
    "timm": build_timm,
    "timm96": lambda folder: build_timm(folder, size=96),
    "clip": lambda folder: build_clip(folder, templates=ZERO_SHOT_TEMPLATES),
}


class ModelDirs(dict):
    """Tiny saved models by name, each built on first use (``model_dirs["vit"]``)."""

    def __init__(self, root: Path):
        super().__init__()
        self.root = root

    def __missing__(self, name: str) -> Path:
        self[name] = _BUILDERS[name](self.root / name)
        return self[name]


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory) -> ModelDirs:
    """The tiny models of ``_BUILDERS``, saved once per session (never modify them in a test)."""
    return ModelDirs(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def tiny() -> types.SimpleNamespace:
    """The builders, for tests that need a model of their own (to change its files, say)."""
    return types.SimpleNamespace(
        build_vit=build_vit,
        build_resnet=build_resnet,
        build_resnet_1001=build_resnet_1001,
        build_timm=build_timm,
        build_clip=build_clip,
        write_config_only=write_config_only,
        imagenet_lemmas=imagenet_lemmas,
        textured_jpeg=textured_jpeg,
        textured_dataset=textured_dataset,
        zero_shot_templates=ZERO_SHOT_TEMPLATES,
    )


@pytest.fixture(scope="session")
def reference() -> types.SimpleNamespace:
    """Naive per-image predictions through each library's own preprocessing."""
    return types.SimpleNamespace(
        images=reference_images,
        transformers_predictions=transformers_predictions,
        timm_predictions=timm_predictions,
    )


@pytest.fixture(scope="session")
def tiny_vit_run(model_dirs):
    """A function that runs the shared tiny ViT through ``imagenet-x evaluate`` on a synthetic source.

    ``tiny_vit_run(root, layout=..., n=..., size=..., batch_size=...)`` writes the synthetic
    ImageNet and the run under ``root`` and returns the run folder. The model is copied to
    ``root/tiny-vit`` first, since cards and reports name a local model by its folder.
    """
    import shutil
    import warnings

    from imagenet_x_hf.cli import main
    from imagenet_x_hf.testing import make_synthetic_imagenet

    def run(root: Path, *, layout: str, n: int, size: tuple[int, int], batch_size: int, **synthetic) -> Path:
        model = root / "tiny-vit"
        shutil.copytree(model_dirs["vit"], model)
        source = make_synthetic_imagenet(root / "imagenet", layout=layout, n=n, size=size, **synthetic)
        out = root / "tiny-vit-run"
        argv = ["evaluate", "--model", str(model), "--imagenet", str(source), "--output", str(out)]
        argv += ["--allow-missing", "--batch-size", str(batch_size), "--workers", "0", "--no-progress"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the synthetic source holds n of the annotated images
            assert main([*argv, "--json"]) == 0
        return out

    return run


@pytest.fixture(scope="session")
def chromium() -> str:
    """A Chromium for the browser tests, found or installed (imagenet_x_hf.browser); a failure, never a skip."""
    from imagenet_x_hf.browser import BrowserSetupError, chromium_for_tests

    try:
        return chromium_for_tests()
    except BrowserSetupError as err:
        pytest.fail(str(err), pytrace=False)
