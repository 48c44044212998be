"""The inference loop: pixel batches -> ImageNet top-5 predictions, shard by shard.

Batches run under ``torch.inference_mode`` with autocast (bf16/fp16) on accelerators;
the device turns ``uint8`` pixels into normalised floats. A batch that runs out of
device memory is retried in halves, and the smaller size is kept for the rest of
the run.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

from imagenet_x_hf.runner.labels import LabelSpace
from imagenet_x_hf.runner.preprocess import Normalizer
from imagenet_x_hf.runner.store import TOP_K
from imagenet_x_hf.settings import PRECISIONS

logger = logging.getLogger(__name__)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> bf16 on a GPU that supports it, fp16 on other GPUs, fp32 on CPU.

    >>> resolve_precision("auto", torch.device("cpu"))
    'fp32'
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {PRECISIONS}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type in ("xpu", "mps"):
        return "fp16" if device.type == "mps" else "bf16"
    return "fp32"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def is_out_of_memory(err: BaseException) -> bool:
    if isinstance(err, torch.OutOfMemoryError):
        return True
    text = str(err).lower()
    return isinstance(err, RuntimeError) and ("out of memory" in text or "not enough memory" in text)


@dataclass
class BatchPredictor:
    """Runs one model on device batches; keeps the largest batch size that fits."""

    module: Callable[[torch.Tensor], torch.Tensor]
    label_space: LabelSpace
    device: torch.device
    precision: str
    normalizer: Normalizer
    channels_last: bool = False
    batch_size: int = 32
    pad_to_batch: bool = False
    backoffs: list[int] = field(default_factory=list)

    def _forward(self, pixels: torch.Tensor) -> torch.Tensor:
        n = pixels.shape[0]
        if self.pad_to_batch and n < self.batch_size:
            # a compiled model sees one shape: pad the short last batch, drop the padding after
            pad = pixels[:1].expand(self.batch_size - n, *pixels.shape[1:])
            pixels = torch.cat([pixels, pad])
        x = self.normalizer(pixels)
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.device, self.precision):
            logits = self.module(x)
        return self.label_space.apply(logits[:n])

    def logits(self, pixels: torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``(N, 1000)`` float32, in micro-batches of at most ``batch_size``."""
        out, start = [], 0
        while start < pixels.shape[0]:
            chunk = pixels[start : start + self.batch_size]
            try:
                out.append(self._forward(chunk))
            except Exception as err:
                if not is_out_of_memory(err) or self.batch_size == 1:
                    raise
                self.batch_size = max(1, self.batch_size // 2)
                self.backoffs.append(self.batch_size)
                logger.warning("out of memory; batch size lowered to %d", self.batch_size)
                del err
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                continue
            start += chunk.shape[0]
        return torch.cat(out)

    @torch.inference_mode()
    def predict(self, pixels: torch.Tensor) -> dict[str, np.ndarray]:
        """Top-1 class and probability plus the top-5 of a batch of pixels (on any device)."""
        pixels = pixels.to(self.device, non_blocking=True)
        logits = self.logits(pixels)
        probs = torch.softmax(logits, dim=1)
        # argmax of the logits (softmax can round distinct logits to equal probabilities) returns
        # the first maximum, which keeps ties (identical class prompts) deterministic.
        top1 = logits.argmax(dim=1)
        top_p, top_c = probs.topk(TOP_K, dim=1)
        return {
            "predicted_class": top1.cpu().numpy(),
            "predicted_probability": probs.gather(1, top1[:, None])[:, 0].cpu().numpy(),
            "top5_classes": top_c.cpu().numpy(),
            "top5_probabilities": top_p.cpu().numpy(),
        }


class ShardBuffer:
    """Collects batch predictions of one shard until all its rows are in."""

    def __init__(self):
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, rows: np.ndarray, predictions: dict[str, np.ndarray]) -> None:
        self.parts.append({"rows": rows, **predictions})

    def take(self) -> dict[str, np.ndarray]:
        merged = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        self.parts = []
        return merged


def run_shards(
    predictor: BatchPredictor,
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    plan: list[tuple[int, int]],
    write_shard: Callable[[int, dict[str, np.ndarray]], None],
    *,
    progress=None,
) -> int:
    """Predict every batch of ``plan`` (``(shard, batches in it)`` in loader order), writing each shard when complete.

    Returns the number of images predicted.
    """
    batches = iter(loader)
    done = 0
    for shard, n_batches in plan:
        buffer = ShardBuffer()
        for _ in range(n_batches):
            rows, pixels = next(batches)
            buffer.add(rows.numpy(), predictor.predict(pixels))
            done += rows.shape[0]
            if progress is not None:
                progress.update(rows.shape[0])
        write_shard(shard, buffer.take())
    return done
