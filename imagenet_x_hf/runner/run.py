"""``evaluate_model``: one model on ImageNet-X, from model id to results.json, on one or many processes.

The run, in order: read the model's config and preprocessing (label space checked,
no weights yet); load the dataset; decide the preprocessing path; set up or resume
the output directory (main process), then every process predicts its share of the
missing shards; the main process checks that every row was predicted exactly once
and writes the outputs. Under ``accelerate launch`` / ``torchrun`` each process
takes every ``world_size``-th missing shard, so no padding or duplicate rows arise,
and a shard is always predicted in the same batches whatever the number of
processes, so 1 and N processes give the same predictions.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.runner.adapters import LoadOptions, ModelSpec, model_spec
from imagenet_x_hf.runner.data import ImageRows, make_loader, shard_batches
from imagenet_x_hf.runner.predict import BatchPredictor, resolve_precision, run_shards
from imagenet_x_hf.runner.preprocess import Normalizer, PixelTransform, matches_reference
from imagenet_x_hf.runner.store import RunStateError, RunStore, fingerprint

PREPROCESSING_PATHS = ("auto", "fast", "reference")


class RunnerError(ImageNetXError):
    """A run failed (on this process or another one)."""


@dataclass
class RunOptions:
    """Everything about a run except the model and the output folder.

    Args:
        split: ``"validation"`` or ``"train"``.
        imagenet: the ImageNet source (folder, tar, Hub id) for ``imagenet_x_hf.load``.
        source_kind, allow_missing: passed to ``imagenet_x_hf.load``.
        adapter: ``"auto"``, ``"transformers"``, ``"timm"`` or ``"zero-shot"``.
        load: how to load the model (revision, remote code, pickles, label map, ...).
        batch_size: images per forward pass (``None``: 256 on a GPU, 32 on CPU; lowered on OOM).
        num_workers: DataLoader workers per process (``None``: from the CPU count).
        precision: ``"auto"`` (bf16/fp16 on GPU, fp32 on CPU), ``"fp32"``, ``"bf16"``, ``"fp16"``.
        compile: ``torch.compile`` the model.
        channels_last: memory format for 4-D inputs (``None``: on GPU only).
        shard_size: rows per prediction shard (the unit of resumption).
        preprocessing: ``"auto"`` (the fast path when it reproduces the model's own transform
            on probe images, else the model's transform), ``"fast"`` or ``"reference"``.
        overwrite: discard an existing run in the output folder.
        progress: show a progress bar on the main process.
        which_factor, error_type, filter_prototypes, empty_real: how results.json scores the predictions
            (every annotated image is predicted, prototypes included, either way).
    """

    split: str = "validation"
    imagenet: str | None = None
    source_kind: str | None = None
    allow_missing: bool = False
    adapter: str = "auto"
    load: LoadOptions = field(default_factory=LoadOptions)
    batch_size: int | None = None
    num_workers: int | None = None
    precision: str = "auto"
    compile: bool = False
    channels_last: bool | None = None
    shard_size: int = 1024
    preprocessing: str = "auto"
    overwrite: bool = False
    progress: bool = True
    which_factor: str = "top"
    error_type: str = "class"
    filter_prototypes: bool = True
    empty_real: str = "error"

    def __post_init__(self):
        if self.preprocessing not in PREPROCESSING_PATHS:
            raise ImageNetXError(
                f"preprocessing must be one of {PREPROCESSING_PATHS}, not {self.preprocessing!r}"
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise ImageNetXError(f"batch_size must be positive, not {self.batch_size}")
        if self.shard_size < 1:
            raise ImageNetXError(f"shard_size must be positive, not {self.shard_size}")


def _has_accelerator_device() -> bool:
    if torch.cuda.is_available():
        return True
    xpu = getattr(torch, "xpu", None)
    if xpu is not None and xpu.is_available():
        return True
    return torch.backends.mps.is_available()


def make_accelerator(*, cpu: bool | None = None):
    """An ``Accelerator`` for inference; on machines without GPUs it runs on CPU, distributed over gloo.

    accelerate treats a torchrun/``accelerate launch`` world on a GPU-less machine as one
    process unless told ``cpu=True``; then every process would predict everything, so a
    world size it did not pick up is an error.
    """
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=not _has_accelerator_device() if cpu is None else cpu)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world != accelerator.num_processes:
        raise RunnerError(
            f"launched as {world} processes but accelerate sees {accelerator.num_processes}; "
            "check the launcher settings (on GPU-less machines pass --cpu)"
        )
    return accelerator


def load_dataset_for(options: RunOptions):
    """Every annotated image of the split with its image, prototypes included (the metric filters)."""
    from imagenet_x_hf import load

    if options.imagenet is None:
        raise ImageNetXError("no ImageNet source: pass --imagenet (a folder, tar, or Hub id of ImageNet)")
    return load(
        options.split,
        imagenet=options.imagenet,
        filter_prototypes=False,
        source_kind=options.source_kind,
        allow_missing=options.allow_missing,
    )


def choose_preprocessing(spec: ModelSpec, mode: str) -> tuple[bool, dict[str, Any]]:
    """Fast path or the model's own transform; returns ``(use_fast, description)``."""
    if spec.preprocessing is None:
        if mode == "fast":
            raise ImageNetXError(
                f"{spec.model}: its preprocessing has steps the fast path cannot express; "
                "use --preprocessing auto or reference"
            )
        return False, {"path": "reference", "reason": "steps the fast path cannot express"}
    info = {"resolved": spec.preprocessing.to_dict()}
    if mode == "reference":
        return False, {"path": "reference", "reason": "asked for", **info}
    agrees, diff = matches_reference(spec.preprocessing, spec.reference_transform)
    info["max_abs_difference_vs_model_transform"] = diff
    if mode == "fast" or agrees:
        return True, {"path": "fast", **info}
    return False, {"path": "reference", "reason": "fast path disagrees with the model's transform", **info}


def default_workers(device: torch.device, local_processes: int) -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    per_process = max(1, cpus // max(1, local_processes))
    if device.type == "cpu":
        # the model's own threads need the cores too
        return max(1, per_process // 2)
    return max(1, min(16, per_process - 1))


def software_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for dist in (
        "imagenet-x-hf",
        "torch",
        "torchvision",
        "transformers",
        "timm",
        "accelerate",
        "datasets",
        "pillow",
    ):
        with contextlib.suppress(md.PackageNotFoundError):
            out[dist] = md.version(dist)
    return out


def _dataset_identity(dataset, file_names: list[str], options: RunOptions) -> dict[str, Any]:
    digest = hashlib.sha256("\n".join(file_names).encode()).hexdigest()[:16]
    source = options.imagenet
    if source is not None and Path(source).expanduser().exists():
        source = str(Path(source).expanduser().resolve())  # ./val and /data/val are one source
    return {
        "split": options.split,
        "rows": len(file_names),
        "file_names_sha256": digest,
        "imagenet": source,
    }


def _agree(accelerator, ok: bool) -> bool:
    """True when every process reports ok (a collective: every process must call it)."""
    if accelerator.num_processes == 1:
        return ok
    flag = torch.tensor([0 if ok else 1], device=accelerator.device)
    return int(accelerator.gather(flag).sum().item()) == 0


def _collective(accelerator, fn, *, what: str):
    """Run ``fn`` on this process, then agree with the others; re-raise here or report theirs."""
    result, error = None, None
    try:
        result = fn()
    except Exception as err:  # re-raised below once every process knows
        error = err
    if not _agree(accelerator, error is None):
        if error is not None:
            raise error
        raise RunnerError(f"another process failed while {what}; see its error above")
    return result


def main_process_first(accelerator, fn, *, what: str):
    """``fn`` on the main process, then on the others (filling caches once); failures are shared.

    Unlike ``accelerator.main_process_first()``, an error on the main process does not leave
    the others waiting at a barrier: every process learns of it and stops.
    """
    noop = lambda: None  # noqa: E731
    first = _collective(accelerator, fn if accelerator.is_main_process else noop, what=what)
    rest = _collective(accelerator, noop if accelerator.is_main_process else fn, what=what)
    return first if accelerator.is_main_process else rest


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
        options: see ``RunOptions``.
        dataset: a ready ``datasets.Dataset`` (annotation features + ``image``) instead of
            ``imagenet_x_hf.load(options.split, imagenet=options.imagenet, filter_prototypes=False)``.
        accelerator: an ``accelerate.Accelerator`` to run under (default: a new one, ended at return).

    Returns the RESULTS dict of ``imagenet_x_hf.metrics.score_predictions`` plus ``"run"``.
    """
    options = options or RunOptions()
    own = accelerator is None
    accelerator = accelerator or make_accelerator()
    try:
        return _evaluate(model, Path(output), options, dataset, accelerator)
    finally:
        if own:
            accelerator.end_training()


def _evaluate(model: str, output: Path, options: RunOptions, dataset, accelerator) -> dict[str, Any]:
    started = time.time()
    device = accelerator.device
    main = accelerator.is_main_process

    def setup():
        spec = model_spec(model, adapter=options.adapter, options=options.load)
        return spec, dataset if dataset is not None else load_dataset_for(options)

    spec, ds = main_process_first(accelerator, setup, what="reading the model config and the dataset")
    file_names = list(ds["file_name"])
    if not file_names:
        raise ImageNetXError("the dataset has no rows: nothing to evaluate")
    use_fast, preprocessing_info = choose_preprocessing(spec, options.preprocessing)
    precision = resolve_precision(options.precision, device)
    settings = {
        "model": spec.describe(),
        "preprocessing": preprocessing_info,
        "precision": precision,
        "dataset": _dataset_identity(ds, file_names, options),
        "shard_size": options.shard_size,
    }
    store = RunStore(output, num_rows=len(file_names), shard_size=options.shard_size)
    _collective(
        accelerator,
        (lambda: store.prepare(settings, overwrite=options.overwrite)) if main else (lambda: None),
        what="preparing the output folder",
    )
    _collective(accelerator, lambda: store.check_manifest(settings), what="checking the output folder")

    pending = sorted(set(range(store.num_shards)) - store.done_shards())
    mine = pending[accelerator.process_index :: accelerator.num_processes]
    previously_done = len(file_names) - sum(
        store.shard_range(k)[1] - store.shard_range(k)[0] for k in pending
    )
    batch_size = options.batch_size or (256 if device.type == "cuda" else 32)
    run_state: dict[str, Any] = {"batch_size": batch_size, "backoffs": []}

    def predict_mine() -> int:
        if not mine:
            return 0
        return _predict(
            spec, ds, store, mine, use_fast, precision, batch_size, options, accelerator, run_state
        )

    predict_start = time.time()
    predicted_here = _collective(accelerator, predict_mine, what="predicting")
    accelerator.wait_for_everyone()
    predict_seconds = time.time() - predict_start
    counts = torch.tensor([predicted_here], device=device)
    predicted_now = (
        int(accelerator.gather(counts).sum().item()) if accelerator.num_processes > 1 else predicted_here
    )

    run_info = {
        "model": spec.model,
        "revision": spec.revision,
        "commit": spec.commit,
        "adapter": spec.adapter,
        "architecture": spec.info.get("architecture"),
        "label_space": spec.label_space.to_dict(),
        "preprocessing": preprocessing_info,
        "precision": precision,
        "batch_size": run_state["batch_size"],
        "batch_size_backoffs": run_state["backoffs"],
        "compile": options.compile,
        "num_processes": accelerator.num_processes,
        "device": str(device.type) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "dataset": settings["dataset"],
        "shard_size": options.shard_size,
        "fingerprint": fingerprint(settings),
        "versions": software_versions(),
        "timing": {
            "images": len(file_names),
            "images_predicted_this_invocation": predicted_now,
            "images_resumed_from_earlier_invocations": previously_done,
            "predict_seconds": round(predict_seconds, 3),
            "total_seconds": round(time.time() - started, 3),
            "images_per_second": round(predicted_now / predict_seconds, 2)
            if predicted_now and predict_seconds > 0
            else None,
        },
    }
    if spec.adapter == "zero-shot":
        run_info["zero_shot"] = {
            "templates": spec.info.get("templates"),
            "class_names": spec.info.get("class_names"),
        }

    def finish():
        if not main:
            return None
        from imagenet_x_hf.runner.outputs import predictions_table, write_outputs

        table = predictions_table(store, file_names)
        return write_outputs(
            output,
            table,
            model_name=spec.model,
            run_info=run_info,
            split=options.split,
            which_factor=options.which_factor,
            error_type=options.error_type,
            filter_prototypes=options.filter_prototypes,
            empty_real=options.empty_real,
        )

    results = _collective(accelerator, finish, what="writing the outputs")
    accelerator.wait_for_everyone()
    if results is None:
        import json

        results = json.loads((output / "results.json").read_text(encoding="utf-8"))
    return results


def _predict(
    spec: ModelSpec,
    ds,
    store: RunStore,
    shards: list[int],
    use_fast: bool,
    precision: str,
    batch_size: int,
    options: RunOptions,
    accelerator,
    run_state: dict[str, Any],
) -> int:
    device = accelerator.device
    module = spec.load(device)
    channels_last = options.channels_last if options.channels_last is not None else device.type == "cuda"
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    if options.compile:
        module = torch.compile(module)
    if use_fast:
        rows = ImageRows(ds, PixelTransform(spec.preprocessing), draft=spec.preprocessing.draft_request())
        normalizer = Normalizer(spec.preprocessing, device)
    else:
        rows = ImageRows(ds, spec.reference_transform, draft=None)
        normalizer = Normalizer(None, device)
    predictor = BatchPredictor(
        module=module,
        label_space=spec.label_space,
        device=device,
        precision=precision,
        normalizer=normalizer,
        channels_last=channels_last,
        batch_size=batch_size,
        pad_to_batch=options.compile,
    )
    plan, batches = [], []
    for k in shards:
        start, stop = store.shard_range(k)
        shard = shard_batches(start, stop, batch_size)
        plan.append((k, len(shard)))
        batches += shard
    workers = options.num_workers
    if workers is None:
        workers = default_workers(device, int(os.environ.get("LOCAL_WORLD_SIZE", accelerator.num_processes)))
    loader = make_loader(rows, batches, num_workers=workers, pin_memory=device.type == "cuda")

    def write(k: int, pred: dict) -> None:
        store.write_shard(
            k,
            rows=pred["rows"],
            predicted_class=pred["predicted_class"],
            predicted_probability=pred["predicted_probability"],
            top5_classes=pred["top5_classes"],
            top5_probabilities=pred["top5_probabilities"],
        )

    from tqdm.auto import tqdm

    total = sum(len(b) for b in batches)
    with tqdm(
        total=total,
        unit="img",
        desc=f"{spec.model} (process 1 of {accelerator.num_processes})"
        if accelerator.num_processes > 1
        else spec.model,
        disable=not (options.progress and accelerator.is_main_process),
        dynamic_ncols=True,
    ) as bar:
        done = run_shards(predictor, loader, plan, write, progress=bar)
    run_state["batch_size"] = predictor.batch_size
    run_state["backoffs"] = predictor.backoffs
    if done != total:
        raise RunStateError(f"predicted {done} images but was given {total}")
    return done


__all__ = ["RunOptions", "RunnerError", "evaluate_model", "RunStateError"]
