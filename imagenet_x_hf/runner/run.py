"""``evaluate_model``: one model on ImageNet-X, from model id to results.json, on one or many processes.

The run is a straight pipeline:

1. resolve, once, into a ``RunContext`` (``runner.context``): the model's config, label
   space and preprocessing (no weights yet), the images and their content digests
   (an ``ImageSet``, which several models can share), and the ``RunPlan``
   (``runner.plan``): every ``auto`` resolved and the fingerprint of what decides a
   prediction; every later step reads the context;
2. output folder: start, resume (same fingerprint; shards of changed images are
   predicted again) or refuse (another run's); ``--overwrite`` sets the earlier run
   aside until this one has a shard;
3. predict: every process predicts every ``world_size``-th missing shard, so no
   padding or duplicate rows arise, and a shard is always predicted in the same
   batches whatever the number of processes (1 and N processes agree);
4. gather: the processes add up what they predicted;
5. write: the main process checks that every row was predicted exactly once and
   writes predictions.parquet, predictions.csv and results.json.

Prediction itself is ``runner.shards.predict_shards`` (it returns a ``PredictionOutcome``);
results.json's ``"run"`` record is ``runner.record``. The collective steps (every
process takes part; one failure stops all) live in ``imagenet_x_hf.runner.collectives``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.runner.adapters import model_spec
from imagenet_x_hf.runner.collectives import (
    RunnerError,
    collective,
    main_process_first,
    make_accelerator,
    on_main,
    sum_over_processes,
)
from imagenet_x_hf.runner.context import ImageSet, RunContext, load_dataset_for, require_source
from imagenet_x_hf.runner.plan import RunPlan, resolve_plan
from imagenet_x_hf.runner.record import RunOutcome, run_record
from imagenet_x_hf.runner.shards import predict_shards
from imagenet_x_hf.runner.store import RunStateError, RunStore, check_output_folder
from imagenet_x_hf.settings import PREPROCESSING_PATHS, RunOptions, SettingsError

__all__ = [
    "PREPROCESSING_PATHS",
    "require_source",
    "RunOptions",
    "RunPlan",
    "RunStateError",
    "RunnerError",
    "evaluate_model",
    "make_accelerator",
]


def evaluate_model(
    model: str,
    output: str | os.PathLike,
    *,
    options: RunOptions | None = None,
    dataset=None,
    accelerator=None,
) -> dict[str, Any]:
    """Evaluate one image classifier on ImageNet-X; write and return the results.

    Args:
        model: a Hub model id (``owner/name``, ``timm/...``) or a local directory.
        output: the run's folder (created; resumed when it holds this run's shards).
        options: see ``RunOptions`` (checked when built, before any of this starts).
        dataset: a ready ``datasets.Dataset`` (annotation features + ``image``) instead of
            ``imagenet_x_hf.load(split, imagenet=options.imagenet, filter_prototypes=False)``.
        accelerator: an ``accelerate.Accelerator`` to run under (default: a new one, ended at return).

    Returns the RESULTS dict of ``imagenet_x_hf.metrics.score_predictions`` plus ``"run"``.
    """
    options = RunOptions() if options is None else options
    if not isinstance(options, RunOptions):
        raise SettingsError(f"options must be a RunOptions, not {type(options).__name__}")
    if not isinstance(model, (str, os.PathLike)) or not os.fspath(model):
        raise ImageNetXError(f"model must be a Hub model id or a local folder (text), not {model!r}")
    output = check_output_folder(output)
    if dataset is None:
        require_source(options)
    own = accelerator is None
    accelerator = accelerator or make_accelerator()
    try:
        return run(build_context(os.fspath(model), output, options, dataset, accelerator))
    finally:
        if own:
            accelerator.end_training()


def build_context(model: str, output: Path, options: RunOptions, dataset, accelerator) -> RunContext:
    """Step 1: the model (config, label space, preprocessing; no weights), the images and the plan."""

    def read_model_and_images() -> tuple[Any, ImageSet]:
        spec = model_spec(model, adapter=options.adapter, options=options.load)
        ds = dataset if dataset is not None else load_dataset_for(options)
        return spec, ImageSet.from_dataset(ds, split=options.split, source=options.imagenet)

    spec, images = main_process_first(
        accelerator, read_model_and_images, what="reading the model and the dataset"
    )
    plan = resolve_plan(spec, images, options, accelerator.device, accelerator.num_processes)
    store = RunStore(output, num_rows=len(images.file_names), shard_size=options.shard_size)
    return RunContext(spec, images, options, plan, store, accelerator)


def run(ctx: RunContext) -> dict[str, Any]:
    """Steps 2 to 5 on a built context: open the output folder, predict, gather, write."""
    store, accelerator = ctx.store, ctx.accelerator

    # 2. output folder: start, resume, or refuse another run's
    def open_store() -> dict[str, Any]:
        changed = store.prepare(
            ctx.plan.settings,
            digests=ctx.images.digests,
            names=ctx.images.file_names,
            overwrite=ctx.options.overwrite,
        )
        store.start_invocation(num_processes=accelerator.num_processes)
        return changed

    changed = on_main(accelerator, open_store, what="preparing the output folder")
    try:
        results = _predict_and_write(ctx, changed)
    except BaseException:
        if ctx.is_main:
            store.settle(failed=True)  # an overwritten run comes back unless this one has a shard
        raise
    if ctx.is_main:
        store.settle(failed=False)
    return results


def _predict_and_write(ctx: RunContext, changed: dict[str, Any] | None) -> dict[str, Any]:
    accelerator, store = ctx.accelerator, ctx.store
    collective(
        accelerator, lambda: store.check_manifest(ctx.plan.settings), what="checking the output folder"
    )
    pending = sorted(set(range(store.num_shards)) - store.done_shards())
    resumed = store.num_rows - sum(store.shard_range(k)[1] - store.shard_range(k)[0] for k in pending)

    # 3. predict this process's share of the missing shards
    mine = pending[accelerator.process_index :: accelerator.num_processes]
    outcome = collective(accelerator, lambda: predict_shards(ctx, mine), what="predicting")
    accelerator.wait_for_everyone()

    # 4. gather: how many rows every process predicted
    predicted_now = sum_over_processes(accelerator, outcome.predicted)

    # 5. write (main process); the others read what it wrote
    def write() -> dict[str, Any]:
        from imagenet_x_hf.runner.outputs import predictions_table, write_outputs

        store.update_invocation(
            predict_seconds=outcome.seconds, total_seconds=time.time() - ctx.started, final=True
        )
        record = run_record(
            ctx,
            RunOutcome(
                predicted=predicted_now,
                resumed=resumed,
                predict_seconds=outcome.seconds,
                batch_size=outcome.batch_size,
                backoffs=outcome.backoffs,
                load_report=outcome.load_report,
                changed_images=changed or {"count": 0, "first": []},
            ),
        )
        table = predictions_table(store, ctx.images.file_names)
        return write_outputs(
            store.output, table, model_name=ctx.spec.model, run_info=record, scoring=ctx.options.scoring
        )

    results = on_main(accelerator, write, what="writing the outputs")
    accelerator.wait_for_everyone()
    if results is None:
        results = json.loads((store.output / "results.json").read_text(encoding="utf-8"))
    return results
