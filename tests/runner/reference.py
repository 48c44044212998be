"""Naive per-image references: the model's own preprocessing and one forward pass per image."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image


def images(dataset):
    """(file_name, RGB PIL image) per row, decoded at full size by PIL."""
    raw = dataset.cast_column("image", __import__("datasets").Image(decode=False))
    for row in raw:
        yield row["file_name"], Image.open(io.BytesIO(row["image"]["bytes"])).convert("RGB")


@torch.no_grad()
def transformers_predictions(model_dir, dataset, *, drop_first: bool = False, backend: str | None = None):
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
    import timm
    import timm.data

    model = timm.create_model(f"local-dir:{model_dir}", pretrained=True).eval()
    config = timm.data.resolve_data_config(model=model, use_test_size=True)
    transform = timm.data.create_transform(**config, is_training=False)
    return _loop(dataset, lambda im: transform(im)[None], model, False)


def _loop(dataset, preprocess, forward, drop_first):
    names, classes, probs, top5 = [], [], [], []
    for name, image in images(dataset):
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
