"""One process's share of a run: load the model, predict the given shards, write each one.

``predict_shards`` returns a ``PredictionOutcome`` (how many images, the batch size that
fitted, the model's load report) instead of reporting through shared state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from imagenet_x_hf.runner.context import RunContext
from imagenet_x_hf.runner.data import ImageRows, make_loader, shard_batches
from imagenet_x_hf.runner.predict import BatchPredictor, run_shards
from imagenet_x_hf.runner.preprocess import Normalizer, PixelTransform
from imagenet_x_hf.runner.store import RunStateError


@dataclass(frozen=True)
class PredictionOutcome:
    """What one process predicted: images, seconds, the batch size it ended with (and the
    sizes it backed off to on out-of-memory), and how the weights loaded (``None``: not loaded,
    every shard was done)."""

    predicted: int
    seconds: float
    batch_size: int
    backoffs: tuple[int, ...] = ()
    load_report: dict[str, Any] | None = None


def rows_and_normalizer(ctx: RunContext) -> tuple[ImageRows, Normalizer]:
    """The run's images as pixel batches (decoded and transformed in the workers) and its
    on-device normalisation; a sweep shares the rows of one model among those with the same pixels."""
    spec, plan, ds = ctx.spec, ctx.plan, ctx.images.dataset
    if not plan.use_fast:
        return ImageRows(ds, spec.reference_transform, draft=None), Normalizer(None, ctx.device)
    prep = spec.preprocessing if plan.preprocessing["jpeg_draft_used"] else spec.preprocessing.without_draft()
    return ImageRows(ds, PixelTransform(prep), draft=prep.draft_request()), Normalizer(prep, ctx.device)


def predict_shards(ctx: RunContext, shards: list[int]) -> PredictionOutcome:
    """Predict ``shards`` (this process's share), writing each as soon as it is complete."""
    start = time.time()
    plan = ctx.plan
    if not shards:
        return PredictionOutcome(0, 0.0, plan.batch_size)
    device = ctx.device
    rows, normalizer = rows_and_normalizer(ctx)
    predictor, report = load_predictor(ctx, normalizer)
    schedule, batches = [], []
    for k in shards:
        shard = shard_batches(*ctx.store.shard_range(k), plan.batch_size)
        schedule.append((k, len(shard)))
        batches += shard
    loader = make_loader(rows, batches, num_workers=plan.num_workers, pin_memory=device.type == "cuda")

    def write(k: int, pred: dict) -> None:
        ctx.store.write_shard(k, **pred)
        if ctx.is_main:  # the books of this invocation, kept current so a kill loses little time
            now = time.time()
            ctx.store.update_invocation(predict_seconds=now - start, total_seconds=now - ctx.started)

    from tqdm.auto import tqdm

    total = sum(len(b) for b in batches)
    processes = ctx.accelerator.num_processes
    name = ctx.spec.model if processes == 1 else f"{ctx.spec.model} (process 1 of {processes})"
    show = ctx.options.progress and ctx.is_main
    with tqdm(total=total, unit="img", desc=name, disable=not show, dynamic_ncols=True) as bar:
        done = run_shards(predictor, loader, schedule, write, progress=bar)
    if done != total:
        raise RunStateError(f"predicted {done} images but was given {total}")
    return PredictionOutcome(
        done, time.time() - start, predictor.batch_size, tuple(predictor.backoffs), report
    )


def load_predictor(ctx: RunContext, normalizer: Normalizer) -> tuple[BatchPredictor, dict[str, Any]]:
    """The model's weights on the device, ready for pixel batches, and how they loaded."""
    plan = ctx.plan
    loaded = ctx.spec.load_weights(ctx.device)
    module = loaded.module
    if plan.channels_last:
        module = module.to(memory_format=torch.channels_last)
    if ctx.options.compile:
        module = torch.compile(module)
    predictor = BatchPredictor(
        module=module,
        label_space=ctx.spec.label_space,
        device=ctx.device,
        precision=plan.precision,
        normalizer=normalizer,
        channels_last=plan.channels_last,
        batch_size=plan.batch_size,
        pad_to_batch=ctx.options.compile,
    )
    return predictor, loaded.report.to_dict()
