"""``sweep_models``: many models, one pass over the images per preprocessing.

A sweep evaluates a list of models into ``OUTPUT/<model folder>`` each (the folders of
bulk mode), with the run of each model exactly what ``evaluate_model`` would make of it:
the same resolved plan and fingerprint, the same shards, the same predictions byte for
byte, the same results.json (plus a ``"sweep"`` note saying how its images were read).
What changes is the reading: models whose preprocessing turns an image into identical
pixels (the same resize, crop, interpolation and kernel; each model normalises on the
device with its own mean and std) form a *group*, and each image of a group is read,
decoded, resized and cropped once and fed to every model of the group.

The steps, each over every model at once:

1. resolve each model (config, label space, preprocessing; no weights) and its plan;
2. open each model's output folder (start, resume under the same fingerprint, or refuse);
3. per group: load the weights of as many models as fit in the memory budget (the rest
   form the next round), predict the missing shards of every loaded model in one pass
   (each process takes every ``num_processes``-th shard, as ``evaluate`` does), write
   each model's shard as soon as it is complete;
4. write each finished model's outputs, and ``summary.json`` after every round.

A model that fails (at reading, at loading its weights, or mid-run) is recorded in the
summary with the step it failed at and the others go on; its finished shards stay, so the
same command resumes it. On several processes a model failing on any process fails on all.

>>> preprocessing_group_key({"resize": 256, "crop": [224, 224], "interpolation": "bilinear",
...     "kernel": "pil", "crop_rounding": "round", "mean": [0.5] * 3, "std": [0.5] * 3, "scale": 1 / 255})
'fast:{"crop":[224,224],"crop_rounding":"round","interpolation":"bilinear","kernel":"pil","resize":256}'
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.runner.adapters import ModelSpec, model_spec
from imagenet_x_hf.runner.bulk import SUMMARY, model_folders
from imagenet_x_hf.runner.collectives import (
    broadcast_object,
    main_process_first,
    make_accelerator,
)
from imagenet_x_hf.runner.context import ImageSet, RunContext, load_dataset_for
from imagenet_x_hf.runner.data import make_loader, shard_batches
from imagenet_x_hf.runner.faults import crash_point
from imagenet_x_hf.runner.plan import resolve_plan
from imagenet_x_hf.runner.predict import BatchPredictor, ShardBuffer
from imagenet_x_hf.runner.record import RunOutcome, run_record
from imagenet_x_hf.runner.shards import load_predictor, rows_and_normalizer
from imagenet_x_hf.runner.store import RunStore, atomic_write_json, check_output_folder
from imagenet_x_hf.settings import RunOptions

__all__ = ["preprocessing_group_key", "sweep_models"]

# The fields of a resolved fast-path preprocessing that decide the pixels handed to the model
# (mean, std and scale are applied on the device, per model).
PIXEL_FIELDS = ("resize", "crop", "interpolation", "kernel", "crop_rounding")
# Share of the free memory (GPU: the device's; CPU: MemAvailable) the weights of one round may take.
MEMORY_SHARE = 0.5


def preprocessing_group_key(resolved: dict[str, Any] | None, *, draft: bool = False, model: str = "") -> str:
    """The key under which models share decoded pixels: the pixel-deciding fields of a fast-path
    preprocessing; a model on its own transform (``resolved`` None) shares with no other."""
    if resolved is None:
        return f"reference:{model}"
    fields = {k: resolved.get(k) for k in PIXEL_FIELDS}
    if draft:
        fields["jpeg_draft"] = True
    return "fast:" + json.dumps(fields, sort_keys=True, separators=(",", ":"))


@dataclass
class _Model:
    """One model's state through the sweep (on this process)."""

    index: int
    model: str
    folder: Path
    ctx: RunContext | None = None
    changed: dict[str, Any] | None = None
    load_report: dict[str, Any] | None = None
    opened: bool = False  # its output folder was prepared by this invocation (main process)
    settled: bool = False
    pending: list[int] = field(default_factory=list)
    resumed: int = 0
    status: str = "pending"  # pending -> ok | failed
    stage: str | None = None
    error: str | None = None
    traceback: str | None = None
    group: int | None = None
    predicted: int = 0
    seconds: float = 0.0
    predictor: BatchPredictor | None = None
    batch_size: int | None = None
    backoffs: list[int] = field(default_factory=list)
    weight_bytes: int | None = None
    results: dict[str, Any] | None = None

    @property
    def active(self) -> bool:
        return self.status == "pending"

    def fail(self, stage: str, err: BaseException) -> None:
        self.status, self.stage = "failed", stage
        self.error = f"{type(err).__name__}: {err}"
        if not isinstance(err, ImageNetXError):
            self.traceback = traceback.format_exc(limit=8)
        self.predictor = None

    @property
    def spec(self) -> ModelSpec:
        return self.ctx.spec

    @property
    def store(self) -> RunStore:
        return self.ctx.store

    def group_key(self) -> str:
        plan = self.ctx.plan
        resolved = plan.preprocessing.get("resolved") if plan.use_fast else None
        key = preprocessing_group_key(
            resolved, draft=bool(plan.preprocessing.get("jpeg_draft_used")), model=self.model
        )
        return f"{key}|batch={plan.batch_size}|workers={plan.num_workers}"


def sweep_models(
    models: Sequence[str],
    output: str | os.PathLike,
    *,
    options: RunOptions | None = None,
    dataset=None,
    accelerator=None,
    memory_budget: int | None = None,
) -> dict[str, Any]:
    """Evaluate ``models`` into ``output/<model folder>``, one decode per image and preprocessing.

    Args:
        models: Hub ids or local folders, evaluated with the same ``options``.
        output: the sweep's folder: a sub-folder per model (each exactly an ``evaluate`` run's
            folder, resumable by either) and ``summary.json``.
        options: ``RunOptions`` shared by every model.
        dataset: a ready dataset instead of loading ``options.imagenet``.
        accelerator: an ``accelerate.Accelerator`` (default: a new one, ended at return).
        memory_budget: bytes the weights of the models predicting together may take (default:
            half of the free device memory, or of the available RAM on CPU); a group whose
            models do not fit together is predicted in rounds.

    Returns the summary (also written to ``output/summary.json``): one entry per model with
    its status (``ok``/``failed``), accuracy, output folder, group, and the error and the step
    it happened at for a failed one. The leaderboard that ``imagenet-x sweep`` adds is a report,
    written afterwards from the folder:
    ``imagenet_x_hf.reports.leaderboard.write_sweep_leaderboard(output, summary)``.
    """
    options = RunOptions() if options is None else options
    models = [os.fspath(m) for m in models]
    folders = model_folders(models)
    if memory_budget is not None and memory_budget <= 0:
        raise ImageNetXError(f"the memory budget must be positive, not {memory_budget}")
    root = check_output_folder(output)
    own = accelerator is None
    accelerator = accelerator or make_accelerator()
    try:
        sweep = _Sweep(models, folders, root, options, accelerator, memory_budget)
        return sweep.run(dataset)
    finally:
        if own:
            accelerator.end_training()


class _Sweep:
    def __init__(self, models, folders, root: Path, options: RunOptions, accelerator, memory_budget):
        self.models = [_Model(i, m, root / f) for i, (m, f) in enumerate(zip(models, folders))]
        self.root = root
        self.options = options
        self.accelerator = accelerator
        self.memory_budget = memory_budget
        self.started = time.time()
        self.group_count = 0
        self.progress = None

    @property
    def main(self) -> bool:
        return self.accelerator.is_main_process

    # -- collective bookkeeping -------------------------------------------------------------------

    def agree(self, stage: str) -> None:
        """Every process learns which models failed anywhere in ``stage`` (a collective)."""
        acc = self.accelerator
        if acc.num_processes == 1:
            return
        from accelerate.utils import gather_object

        mine = {m.index: m.error for m in self.models if m.status == "failed" and m.stage == stage}
        everyone = gather_object([mine])
        for process, failed in enumerate(everyone):
            for index, error in failed.items():
                m = self.models[index]
                if m.status != "failed":
                    m.status, m.stage, m.predictor = "failed", stage, None
                    m.error = f"on process {process}: {error}"

    def sum_each(self, values: list[int]) -> list[int]:
        acc = self.accelerator
        if acc.num_processes == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.int64, device=acc.device)
        return acc.gather(tensor).view(acc.num_processes, -1).sum(0).tolist()

    def attempt(self, m: _Model, stage: str, fn, *args) -> None:
        """``fn(*args)`` for model ``m`` while it is still in the sweep; a failure fails ``m`` only."""
        if not m.active:
            return
        try:
            fn(*args)
        except Exception as err:  # one model's failure must not stop the others
            m.fail(stage, err)

    # -- the steps --------------------------------------------------------------------------------

    def run(self, dataset) -> dict[str, Any]:
        acc, options = self.accelerator, self.options

        def read_images() -> ImageSet:
            ds = dataset if dataset is not None else load_dataset_for(options)
            return ImageSet.from_dataset(ds, split=options.split, source=options.imagenet)

        images = main_process_first(acc, read_images, what="reading the dataset")

        # 1. resolve every model (the main process first: it fills the Hub cache once)
        def resolve_all() -> None:
            for m in self.models:
                self.attempt(m, "reading the model", self._resolve, m, images)

        main_process_first(acc, resolve_all, what="reading the models")
        self.agree("reading the model")

        # 2. output folders: start, resume or refuse, model by model
        if self.main:
            for m in self.models:
                self.attempt(m, "preparing the output folder", self._open, m)
        self.agree("preparing the output folder")
        for m in self.models:
            self.attempt(m, "checking the output folder", self._check, m)
        self.agree("checking the output folder")
        for m in self.models:
            if m.active:
                m.pending = sorted(set(range(m.store.num_shards)) - m.store.done_shards())
                missing = sum(m.store.shard_range(k)[1] - m.store.shard_range(k)[0] for k in m.pending)
                m.resumed = m.store.num_rows - missing

        # 3 and 4. group by pixels, predict round by round, write each model's outputs
        if self.memory_budget is None:
            self.memory_budget = broadcast_object(acc, _free_memory(acc.device) if self.main else None)
        groups: dict[str, list[_Model]] = {}
        for m in self.models:
            if m.active:
                groups.setdefault(m.group_key(), []).append(m)
        self.group_count = len(groups)
        self._start_progress(list(groups.values()))
        self._settle()  # the models that failed before predicting
        try:
            for number, members in enumerate(groups.values()):
                for m in members:
                    m.group = number
                self._run_group(number, members)
                self._settle()
        except BaseException:
            self._settle(stopping=True)
            raise
        finally:
            if self.progress is not None:
                self.progress.close()
        summary = self._summary(final=True)
        return broadcast_object(acc, summary if self.main else None)

    def _resolve(self, m: _Model, images: ImageSet) -> None:
        """What ``evaluate``'s ``build_context`` makes of one model, on the images read once."""
        options, acc = self.options, self.accelerator
        spec = model_spec(m.model, adapter=options.adapter, options=options.load)
        plan = resolve_plan(spec, images, options, acc.device, acc.num_processes)
        store = RunStore(m.folder, num_rows=len(images.file_names), shard_size=options.shard_size)
        m.ctx = RunContext(spec, images, options, plan, store, acc, started=self.started)

    def _open(self, m: _Model) -> None:
        ctx = m.ctx
        check_output_folder(m.folder)
        m.changed = ctx.store.prepare(
            ctx.plan.settings,
            digests=ctx.images.digests,
            names=ctx.images.file_names,
            overwrite=self.options.overwrite,
        )
        m.opened = True
        ctx.store.start_invocation(num_processes=self.accelerator.num_processes)

    def _check(self, m: _Model) -> None:
        m.store.check_manifest(m.ctx.plan.settings)

    def _settle(self, *, stopping: bool = False) -> None:
        """Main process, as ``evaluate`` does at its end: a model's earlier run set aside by
        --overwrite is dropped once the new one has a shard, or put back when the new one failed
        without any. ``stopping``: the sweep itself failed; models still running count as failed."""
        if not self.main:
            return
        for m in self.models:
            if m.opened and not m.settled and (stopping or m.status != "pending"):
                m.settled = True
                with contextlib.suppress(OSError):  # the next invocation recovers what was set aside
                    m.store.settle(failed=m.status != "ok")

    def _run_group(self, number: int, members: list[_Model]) -> None:
        waiting = [m for m in members if m.active]
        rounds = 0
        while waiting:
            todo = [m for m in waiting if m.pending]
            loaded, deferred = self._load_round(todo)
            start = time.time()
            if loaded:
                self._predict_round(loaded, start)
            elapsed = time.time() - start
            for m in loaded:
                m.seconds = elapsed
                if m.predictor is not None:
                    m.batch_size, m.backoffs = m.predictor.batch_size, list(m.predictor.backoffs)
                m.predictor = None  # free the weights before the next round loads
            if self.accelerator.device.type == "cuda":
                torch.cuda.empty_cache()
            self.agree("predicting")
            predicted = self.sum_each([m.predicted for m in self.models])
            finished = [m for m in waiting if m not in deferred]
            names = [m.model for m in finished]
            for m in finished:
                if self.main:
                    self.attempt(
                        m,
                        "writing the outputs",
                        self._write,
                        m,
                        predicted[m.index],
                        number,
                        rounds,
                        names,
                    )
            self.agree("writing the outputs")
            for m in finished:
                if m.active:
                    m.status = "ok"
                if self.main and self.progress is not None:
                    self.progress.set_description(self._progress_label())
                    detail = (
                        f"accuracy {m.results['accuracy']:.4f}"
                        if m.status == "ok"
                        else f"{m.stage}: {m.error}"
                    )
                    self.progress.write(f"{m.status:<6} {m.model}: {detail}")
            if self.main:
                self._summary(final=False)
            waiting, rounds = deferred, rounds + 1

    def _load_round(self, todo: list[_Model]) -> tuple[list[_Model], list[_Model]]:
        """Load as many of ``todo`` as fit in the budget (always at least one); return (loaded, deferred).

        Each load is agreed on by every process, and sizes are the weights' own (the same on
        every process), so every process loads and defers the same models."""
        loaded, deferred, used = [], [], 0
        for m in todo:
            estimate = m.weight_bytes if m.weight_bytes is not None else _weight_bytes_on_disk(m.spec)
            if loaded and estimate is not None and used + estimate > self.memory_budget:
                deferred.append(m)
                continue
            self.attempt(m, "loading the weights", self._load, m)
            self.agree("loading the weights")
            if not m.active:
                continue
            if loaded and used + m.weight_bytes > self.memory_budget:
                m.predictor = None  # it fits alone: the next round
                deferred.append(m)
                continue
            used += m.weight_bytes
            loaded.append(m)
        return loaded, deferred

    def _load(self, m: _Model) -> None:
        m.predictor, m.load_report = load_predictor(m.ctx, rows_and_normalizer(m.ctx)[1])
        module = m.predictor.module
        m.weight_bytes = sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))

    def _predict_round(self, loaded: list[_Model], start: float) -> None:
        """One pass over the union of the loaded models' missing shards; this process takes every
        ``num_processes``-th of them, as ``evaluate`` does."""
        acc, first = self.accelerator, loaded[0]
        plan = first.ctx.plan
        union = sorted(set().union(*(m.pending for m in loaded)))
        mine = union[acc.process_index :: acc.num_processes]
        if not mine:
            return
        rows, _ = rows_and_normalizer(first.ctx)  # the same pixels for every model of the group
        schedule, batches = [], []
        for k in mine:
            shard = shard_batches(*first.store.shard_range(k), plan.batch_size)
            schedule.append((k, len(shard)))
            batches += shard
        loader = iter(
            make_loader(rows, batches, num_workers=plan.num_workers, pin_memory=acc.device.type == "cuda")
        )
        wanting = {k: [m for m in loaded if k in set(m.pending)] for k in mine}
        decoded = 0
        for k, n_batches in schedule:
            buffers = {m.index: ShardBuffer() for m in wanting[k]}
            for _ in range(n_batches):
                row_ids, pixels = next(loader)
                row_ids = row_ids.numpy()
                for m in wanting[k]:
                    if m.active:
                        self.attempt(
                            m,
                            "predicting",
                            self._predict,
                            m,
                            row_ids,
                            pixels,
                            buffers[m.index],
                        )
                        if m.active and self.progress is not None:
                            self.progress.update(len(row_ids))
            for m in wanting[k]:
                self.attempt(m, "predicting", self._write_shard, m, k, buffers[m.index], start)
            lo, hi = first.store.shard_range(k)
            decoded += hi - lo
            if self.progress is not None:
                rate = decoded / max(time.time() - start, 1e-9)
                self.progress.set_postfix_str(
                    f"group {first.group + 1} of {self.group_count}: {rate:.1f} images/s decoded"
                )

    def _predict(self, m: _Model, row_ids, pixels: torch.Tensor, buffer: ShardBuffer) -> None:
        # tests make one model fail mid-run here, on every process or on one
        crash_point(f"predict-{m.folder.name}")
        crash_point(f"predict-{m.folder.name}-process{self.accelerator.process_index}")
        buffer.add(row_ids, m.predictor.predict(pixels))

    def _write_shard(self, m: _Model, k: int, buffer: ShardBuffer, start: float) -> None:
        pred = buffer.take()
        m.store.write_shard(k, **pred)
        m.predicted += len(pred["rows"])
        if self.main:  # the books of this invocation, kept current so a kill loses little time
            now = time.time()
            m.store.update_invocation(predict_seconds=now - start, total_seconds=now - self.started)

    def _write(self, m: _Model, predicted_now: int, group: int, rounds: int, names: list[str]) -> None:
        """What ``evaluate`` writes at its end, for one model of the sweep."""
        from imagenet_x_hf.runner.outputs import predictions_table, write_outputs

        ctx, store = m.ctx, m.store
        store.update_invocation(
            predict_seconds=m.seconds, total_seconds=time.time() - self.started, final=True
        )
        outcome = RunOutcome(
            predicted=predicted_now,
            resumed=m.resumed,
            predict_seconds=m.seconds,
            batch_size=m.batch_size or ctx.plan.batch_size,
            backoffs=tuple(m.backoffs),
            load_report=m.load_report,
            changed_images=m.changed or {"count": 0, "first": []},
        )
        record = run_record(ctx, outcome)
        record["sweep"] = {
            "output": str(self.root),
            "group": group,
            "round": rounds,
            "decoded_once_for": names,
            "preprocessing_key": m.group_key(),
        }
        table = predictions_table(store, ctx.images.file_names)
        m.results = write_outputs(
            store.output, table, model_name=ctx.spec.model, run_info=record, scoring=self.options.scoring
        )

    # -- progress and summary ---------------------------------------------------------------------

    def _start_progress(self, groups: list[list[_Model]]) -> None:
        """One bar over every (image, model) prediction of this process: its rate and time left
        cover the whole sweep; the label counts the models done."""
        if not (self.options.progress and self.main):
            return
        from tqdm.auto import tqdm

        acc = self.accelerator
        total = 0
        for members in groups:
            union = sorted(set().union(*(m.pending for m in members)))
            for k in union[acc.process_index :: acc.num_processes]:
                start, stop = members[0].store.shard_range(k)
                total += (stop - start) * sum(k in m.pending for m in members)
        unit = "pred" if acc.num_processes == 1 else "pred (process 1)"
        self.progress = tqdm(total=total, unit=unit, desc=self._progress_label(), dynamic_ncols=True)

    def _progress_label(self) -> str:
        done = sum(m.status != "pending" for m in self.models)
        failed = sum(m.status == "failed" for m in self.models)
        return f"sweep: {done}/{len(self.models)} models done" + (f", {failed} failed" if failed else "")

    def _summary(self, *, final: bool) -> dict[str, Any]:
        entries = []
        for m in self.models:
            entry: dict[str, Any] = {"model": m.model, "output": str(m.folder), "status": m.status}
            if m.group is not None:
                entry["group"] = m.group
            if m.status == "ok" and m.results is not None:
                entry.update(accuracy=m.results.get("accuracy"), images=m.results.get("images"))
                entry["images_per_second"] = m.results["run"]["timing"]["images_per_second"]
            if m.status == "failed":
                entry.update(stage=m.stage, error=m.error)
                if m.traceback:
                    entry["traceback"] = m.traceback
            entries.append(entry)
        summary = {
            "output": str(self.root),
            "models": entries,
            "groups": len({m.group for m in self.models if m.group is not None}),
            "failed": sum(m.status == "failed" for m in self.models),
            "seconds": round(time.time() - self.started, 2),
            "complete": final,
        }
        if self.main:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.root / SUMMARY, summary)
        return summary


def _free_memory(device: torch.device) -> int:
    """Bytes the weights of one round may take: a share of what is free now."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * MEMORY_SHARE)
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(int(line.split()[1]) * 1024 * MEMORY_SHARE)
    except OSError:
        pass
    return 8 << 30  # not Linux: a modest default


def _weight_bytes_on_disk(spec: ModelSpec) -> int | None:
    """The float32 size of a model's weights from its files, before loading them (``None``: not known).

    safetensors headers give every tensor's shape; other weight files count by their size.
    A Hub model whose weights are not downloaded yet is not known until it loads."""
    from imagenet_x_hf.runner.adapters.source import WEIGHT_SUFFIXES, ModelSource

    try:
        folder = ModelSource.resolve(spec.model, revision=spec.revision).folder()
    except Exception:
        return None
    total, found = 0, False
    for path in folder.glob("*"):
        if not path.is_file() or not path.name.endswith(WEIGHT_SUFFIXES):
            continue
        found = True
        if path.suffix == ".safetensors":
            total += _safetensors_elements(path) * 4
        else:
            total += path.stat().st_size
    return total if found else None


def _safetensors_elements(path: Path) -> int:
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    count = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        n = 1
        for d in info["shape"]:
            n *= d
        count += n
    return count
