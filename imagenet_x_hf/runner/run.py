"""``evaluate_model``: one model on ImageNet-X, from model id to results.json, on one or many processes.

The run is a straight pipeline:

1. resolve: the model's config, label space and preprocessing (no weights yet), the
   dataset, the preprocessing path, and the fingerprint of everything that decides
   the predictions (settings, the model's file contents, the label map, the rows);
2. output folder: start, resume (same fingerprint) or refuse (another one);
3. predict: every process predicts every ``world_size``-th missing shard, so no
   padding or duplicate rows arise, and a shard is always predicted in the same
   batches whatever the number of processes (1 and N processes agree);
4. gather: the processes add up what they predicted;
5. write: the main process checks that every row was predicted exactly once and
   writes predictions.parquet, predictions.csv and results.json.

The collective steps (every process takes part; one failure stops all) live in
``imagenet_x_hf.runner.collectives``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.runner.adapters import ModelSpec, model_spec
from imagenet_x_hf.runner.collectives import (
    RunnerError,
    collective,
    main_process_first,
    make_accelerator,
    on_main,
    sum_over_processes,
)
from imagenet_x_hf.runner.data import ImageRows, make_loader, shard_batches
from imagenet_x_hf.runner.predict import BatchPredictor, resolve_precision, run_shards
from imagenet_x_hf.runner.preprocess import Normalizer, PixelTransform, matches_reference
from imagenet_x_hf.runner.store import RunStateError, RunStore, check_output_folder, fingerprint
from imagenet_x_hf.settings import PREPROCESSING_PATHS, RunOptions, SettingsError, prediction_settings

__all__ = [
    "PREPROCESSING_PATHS",
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
    if dataset is None:
        require_source(options)
    output = check_output_folder(output)
    own = accelerator is None
    accelerator = accelerator or make_accelerator()
    try:
        return _evaluate(model, output, options, dataset, accelerator)
    finally:
        if own:
            accelerator.end_training()


def _evaluate(model: str, output: Path, options: RunOptions, dataset, accelerator) -> dict[str, Any]:
    started = time.time()

    # 1. resolve: model (no weights), data, preprocessing path, fingerprint
    def read_model_and_data():
        spec = model_spec(model, adapter=options.adapter, options=options.load)
        return spec, dataset if dataset is not None else load_dataset_for(options)

    spec, ds = main_process_first(accelerator, read_model_and_data, what="reading the model and the dataset")
    plan = resolve_plan(spec, ds, options, accelerator.device, accelerator.num_processes)

    # 2. output folder: start, resume, or refuse another run's
    store = RunStore(output, num_rows=len(plan.file_names), shard_size=options.shard_size)

    def open_store() -> None:
        store.prepare(plan.settings, overwrite=options.overwrite)
        store.start_invocation(num_processes=accelerator.num_processes)

    on_main(accelerator, open_store, what="preparing the output folder")
    collective(accelerator, lambda: store.check_manifest(plan.settings), what="checking the output folder")
    pending = sorted(set(range(store.num_shards)) - store.done_shards())
    resumed = len(plan.file_names) - sum(store.shard_range(k)[1] - store.shard_range(k)[0] for k in pending)

    # 3. predict this process's share of the missing shards
    mine = pending[accelerator.process_index :: accelerator.num_processes]
    predict_start = time.time()
    state: dict[str, Any] = {"batch_size": plan.batch_size, "backoffs": []}

    def predict_mine() -> int:
        return _predict(spec, ds, store, mine, plan, options, accelerator, state, predict_start, started)

    predicted_here = collective(accelerator, predict_mine, what="predicting")
    accelerator.wait_for_everyone()
    predict_seconds = time.time() - predict_start

    # 4. gather: how many rows every process predicted
    predicted_now = sum_over_processes(accelerator, predicted_here)

    # 5. write (main process); the others read what it wrote
    def write() -> dict[str, Any]:
        from imagenet_x_hf.runner.outputs import predictions_table, write_outputs

        store.update_invocation(
            predict_seconds=predict_seconds, total_seconds=time.time() - started, final=True
        )
        this_run = {"predicted": predicted_now, "resumed": resumed, "predict_seconds": predict_seconds}
        record = run_record(spec, plan, options, accelerator, state, store, this_run, started)
        table = predictions_table(store, plan.file_names)
        return write_outputs(output, table, model_name=spec.model, run_info=record, scoring=options.scoring)

    results = on_main(accelerator, write, what="writing the outputs")
    accelerator.wait_for_everyone()
    if results is None:
        results = json.loads((output / "results.json").read_text(encoding="utf-8"))
    return results


# -- 1. resolve ---------------------------------------------------------------------------------


MISSING_NAMES_RECORDED = 20


def require_source(options: RunOptions) -> None:
    """Refuse options without an ImageNet source, before any output folder or dataset work."""
    if options.imagenet is None:
        raise ImageNetXError("no ImageNet source: pass --imagenet (a folder, tar, or Hub id of ImageNet)")


def load_dataset_for(options: RunOptions):
    """Every annotated image of the split with its image, prototypes included (the metric filters)."""
    from imagenet_x_hf import load

    require_source(options)
    return load(
        options.split,
        imagenet=options.imagenet,
        filter_prototypes=False,
        source_kind=options.source_kind,
        allow_missing=options.allow_missing,
        rebuild=options.rebuild,
    )


@dataclass(frozen=True)
class RunPlan:
    """What ``RunOptions`` resolve to for one model, one dataset and one machine.

    ``settings`` is everything that decides the predictions; its fingerprint is what a
    resumed run must match.
    """

    file_names: list[str]
    preprocessing: dict[str, Any]
    use_fast: bool
    precision: str
    channels_last: bool
    num_workers: int
    batch_size: int
    source_gaps: dict[str, Any]
    settings: dict[str, Any]


def resolve_plan(
    spec: ModelSpec, ds, options: RunOptions, device: torch.device, local_processes: int
) -> RunPlan:
    """Resolve every setting once, in a fixed order: the rows, the preprocessing path, the
    numerics, the data loading; then the fingerprint inputs."""
    file_names = list(ds["file_name"])
    if not file_names:
        raise ImageNetXError("the dataset has no rows: nothing to evaluate")
    use_fast, preprocessing = choose_preprocessing(
        spec, options.preprocessing, jpeg_draft=options.load.jpeg_draft
    )
    precision = resolve_precision(options.precision, device)
    channels_last = options.channels_last if options.channels_last is not None else device.type == "cuda"
    workers = options.num_workers
    if workers is None:
        workers = default_workers(device, int(os.environ.get("LOCAL_WORLD_SIZE", local_processes)))
    batch_size = options.batch_size or (256 if device.type == "cuda" else 32)
    settings = {
        "options": prediction_settings(options),
        "model": spec.describe(),
        "model_files_sha256": spec.file_hashes,
        "label_map_sha256": label_map_sha256(options),
        "preprocessing": {k: preprocessing.get(k) for k in ("path", "resolved", "jpeg_draft_used")},
        "precision": precision,
        "channels_last": channels_last,
        "dataset": dataset_identity(file_names, options),
        "shard_size": options.shard_size,
    }
    return RunPlan(
        file_names,
        preprocessing,
        use_fast,
        precision,
        channels_last,
        workers,
        batch_size,
        source_gaps(ds),
        settings,
    )


def choose_preprocessing(
    spec: ModelSpec, mode: str, *, jpeg_draft: bool = False
) -> tuple[bool, dict[str, Any]]:
    """Fast path or the model's own transform; returns ``(use_fast, description)``.

    The fast path counts as the model's own when it reproduces the model's transform on
    ImageNet-sized JPEG probes, fully decoded. JPEG draft decoding is used only when asked
    for (``jpeg_draft``); the description then says how far it moves the pixels on the probes.
    """
    info: dict[str, Any] = {"asked": mode, "jpeg_draft_asked": jpeg_draft, "jpeg_draft_used": False}
    if spec.preprocessing is None:
        if mode == "fast":
            raise ImageNetXError(
                f"{spec.model}: its preprocessing has steps the fast path cannot express; "
                "use --preprocessing auto or reference"
            )
        return False, {**info, "path": "reference", "reason": "steps the fast path cannot express"}
    exact = spec.preprocessing.without_draft()
    info["resolved"] = exact.to_dict()
    if mode == "reference":
        return False, {**info, "path": "reference", "reason": "asked for"}
    agrees, diff = matches_reference(exact, spec.reference_transform)
    info["max_abs_difference_vs_model_transform"] = diff
    if mode == "auto" and not agrees:
        return False, {
            **info,
            "path": "reference",
            "reason": "fast path disagrees with the model's transform",
        }
    if jpeg_draft and spec.preprocessing.draft_request() is not None:
        same, draft_diff = matches_reference(spec.preprocessing, spec.reference_transform)
        info.update(jpeg_draft_used=True, max_abs_difference_with_jpeg_draft=draft_diff)
        info["jpeg_draft_identical_on_probes"] = same
    return True, {**info, "path": "fast"}


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


def label_map_sha256(options: RunOptions) -> str | None:
    """sha256 of the label map's content (sorted JSON), ``None`` without one."""
    label_map = options.load.label_map
    if label_map is None:
        return None
    text = json.dumps({str(k): int(v) for k, v in sorted(label_map.items())}, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def dataset_identity(file_names: list[str], options: RunOptions) -> dict[str, Any]:
    digest = hashlib.sha256("\n".join(file_names).encode()).hexdigest()
    source = options.imagenet
    if source is not None and Path(source).expanduser().exists():
        source = str(Path(source).expanduser().resolve())  # ./val and /data/val are one source
    return {"split": options.split, "rows": len(file_names), "file_names_sha256": digest, "imagenet": source}


def source_gaps(ds) -> dict[str, Any]:
    """What the dataset build left out of the source, from its ``SourceReport``.

    Unreadable and mislabelled files are listed whole (they are few, and name files to fix);
    absent images are counted, with the first few names (a partial source lacks thousands).
    A dataset passed in by the caller without its report gets a note instead.
    """
    report = getattr(ds, "source_report", None)
    if report is None:  # a dataset handed in by the caller, derived with map/select
        return {"note": "the dataset was passed in: what its source lacks is not known here"}
    return {
        "annotated": report.annotated,
        "found": report.found,
        "missing": len(report.missing),
        "missing_first": list(report.missing[:MISSING_NAMES_RECORDED]),
        "unreadable": list(report.unreadable),
        "mislabelled": list(report.mislabelled),
        "left_out": report.left_out,
    }


# -- 3. predict ---------------------------------------------------------------------------------


def _predict(
    spec: ModelSpec,
    ds,
    store: RunStore,
    shards: list[int],
    plan: RunPlan,
    options: RunOptions,
    accelerator,
    state: dict[str, Any],
    predict_start: float,
    started: float,
) -> int:
    if not shards:
        return 0
    device = accelerator.device
    module = spec.load(device)
    if plan.channels_last:
        module = module.to(memory_format=torch.channels_last)
    if options.compile:
        module = torch.compile(module)
    if plan.use_fast:
        prep = (
            spec.preprocessing
            if plan.preprocessing["jpeg_draft_used"]
            else spec.preprocessing.without_draft()
        )
        rows = ImageRows(ds, PixelTransform(prep), draft=prep.draft_request())
        normalizer = Normalizer(prep, device)
    else:
        rows = ImageRows(ds, spec.reference_transform, draft=None)
        normalizer = Normalizer(None, device)
    predictor = BatchPredictor(
        module=module,
        label_space=spec.label_space,
        device=device,
        precision=plan.precision,
        normalizer=normalizer,
        channels_last=plan.channels_last,
        batch_size=plan.batch_size,
        pad_to_batch=options.compile,
    )
    schedule, batches = [], []
    for k in shards:
        start, stop = store.shard_range(k)
        shard = shard_batches(start, stop, plan.batch_size)
        schedule.append((k, len(shard)))
        batches += shard
    loader = make_loader(rows, batches, num_workers=plan.num_workers, pin_memory=device.type == "cuda")
    main = accelerator.is_main_process

    def write(k: int, pred: dict) -> None:
        store.write_shard(k, **pred)
        if main:  # the books of this invocation, kept current so a kill loses little time
            now = time.time()
            store.update_invocation(predict_seconds=now - predict_start, total_seconds=now - started)

    from tqdm.auto import tqdm

    total = sum(len(b) for b in batches)
    name = (
        spec.model
        if accelerator.num_processes == 1
        else f"{spec.model} (process 1 of {accelerator.num_processes})"
    )
    with tqdm(
        total=total, unit="img", desc=name, disable=not (options.progress and main), dynamic_ncols=True
    ) as bar:
        done = run_shards(predictor, loader, schedule, write, progress=bar)
    state["batch_size"] = predictor.batch_size
    state["backoffs"] = predictor.backoffs
    if done != total:
        raise RunStateError(f"predicted {done} images but was given {total}")
    return done


# -- 5. write -----------------------------------------------------------------------------------


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


def _timing(store: RunStore, this_run: dict[str, Any], started: float) -> dict[str, Any]:
    """This invocation's figures and the sums over every invocation of the run (kills included)."""
    records = store.invocations()
    predicted = sum(
        (r.get("rows_done_at_end") or r["rows_done_at_start"]) - r["rows_done_at_start"] for r in records
    )
    predict_seconds = sum(r.get("predict_seconds", 0.0) for r in records)
    return {
        "images": store.num_rows,
        "invocations": len(records),
        "images_predicted_this_invocation": this_run["predicted"],
        "images_resumed_from_earlier_invocations": this_run["resumed"],
        "predict_seconds": round(predict_seconds, 3),
        "total_seconds": round(sum(r.get("total_seconds", 0.0) for r in records), 3),
        "images_per_second": round(predicted / predict_seconds, 2)
        if predicted and predict_seconds > 0
        else None,
        "this_invocation": {
            "predict_seconds": round(this_run["predict_seconds"], 3),
            "total_seconds": round(time.time() - started, 3),
        },
    }


def run_record(
    spec: ModelSpec,
    plan: RunPlan,
    options: RunOptions,
    accelerator,
    state: dict[str, Any],
    store: RunStore,
    this_run: dict[str, Any],
    started: float,
) -> dict[str, Any]:
    """``results.json["run"]``: the settings as given, what they resolved to, and the fingerprint."""
    device = accelerator.device
    label_map = options.load.label_map
    record: dict[str, Any] = {
        "model": spec.model,
        "revision": spec.revision,
        "commit": spec.commit,
        "adapter": spec.adapter,
        "architecture": spec.info.get("architecture"),
        "label_space": spec.label_space.to_dict(),
        "options": options.to_dict(),
        "preprocessing": plan.preprocessing,
        "precision": plan.precision,
        "batch_size": state["batch_size"],
        "batch_size_backoffs": state["backoffs"],
        "num_workers": plan.num_workers,
        "channels_last": plan.channels_last,
        "compile": options.compile,
        "num_processes": accelerator.num_processes,
        "device": str(device.type) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "security": {
            "trust_remote_code": options.load.trust_remote_code,
            "allow_pickle": options.load.allow_pickle,
        },
        "label_map": None
        if label_map is None
        else {
            "file": options.load.label_map_file,
            "entries": len(label_map),
            "sha256": plan.settings["label_map_sha256"],
        },
        "model_files_sha256": spec.file_hashes,
        "dataset": {
            **plan.settings["dataset"],
            "allow_missing": options.allow_missing,
            "left_out_of_source": plan.source_gaps,
        },
        "shard_size": options.shard_size,
        "fingerprint": fingerprint(plan.settings),
        "versions": software_versions(),
        "timing": _timing(store, this_run, started),
    }
    if spec.adapter == "zero-shot":
        record["zero_shot"] = {
            "templates": spec.info.get("templates"),
            "class_names": spec.info.get("class_names"),
        }
    return record
