"""``results.json["run"]``: what a run was given, what it resolved to, and what a reproduction needs.

The record keeps the keys earlier releases wrote (readers such as the predictions export
rely on them) and adds the command-line options (``cli_args``), the source's content identity, the model's load
report and the versions of every library that touches a prediction.
"""

from __future__ import annotations

import contextlib
import platform
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from imagenet_x_hf.runner.context import RunContext

VERSIONED = (
    "imagenet-x-hf",
    "torch",
    "torchvision",
    "transformers",
    "timm",
    "accelerate",
    "datasets",
    "pillow",
    "numpy",
    "pyarrow",
    "huggingface_hub",
)


@dataclass(frozen=True)
class RunOutcome:
    """What this invocation did, gathered over every process (the main process writes it down)."""

    predicted: int
    resumed: int
    predict_seconds: float
    batch_size: int
    backoffs: tuple[int, ...] = ()
    load_report: dict[str, Any] | None = None
    changed_images: dict[str, Any] = field(default_factory=lambda: {"count": 0, "first": []})


def software_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for dist in VERSIONED:
        with contextlib.suppress(md.PackageNotFoundError):
            out[dist] = md.version(dist)
    return out


def timing(ctx: RunContext, outcome: RunOutcome) -> dict[str, Any]:
    """This invocation's figures and the sums over every invocation of the run (kills included)."""
    records = ctx.store.invocations()
    predicted = sum(
        (r.get("rows_done_at_end") or r["rows_done_at_start"]) - r["rows_done_at_start"] for r in records
    )
    predict_seconds = sum(r.get("predict_seconds", 0.0) for r in records)
    return {
        "images": ctx.store.num_rows,
        "invocations": len(records),
        "images_predicted_this_invocation": outcome.predicted,
        "images_resumed_from_earlier_invocations": outcome.resumed,
        "predict_seconds": round(predict_seconds, 3),
        "total_seconds": round(sum(r.get("total_seconds", 0.0) for r in records), 3),
        "images_per_second": round(predicted / predict_seconds, 2)
        if predicted and predict_seconds > 0
        else None,
        "this_invocation": {
            "predict_seconds": round(outcome.predict_seconds, 3),
            "total_seconds": round(time.time() - ctx.started, 3),
        },
    }


def run_record(ctx: RunContext, outcome: RunOutcome) -> dict[str, Any]:
    """``results.json["run"]``: the settings as given, what they resolved to, and the fingerprint."""
    spec, plan, options = ctx.spec, ctx.plan, ctx.options
    device = ctx.device
    label_map = options.load.label_map
    record: dict[str, Any] = {
        "model": spec.model,
        "revision": spec.revision,
        "commit": spec.commit,
        "adapter": spec.adapter,
        "architecture": spec.info.get("architecture"),
        "label_space": spec.label_space.to_dict(),
        "options": options.to_dict(),
        # the options as ``imagenet-x evaluate`` takes them (the model and --output are above)
        "cli_args": ctx.options.cli_args(),
        "preprocessing": plan.preprocessing,
        "precision": plan.precision,
        "batch_size": outcome.batch_size,
        "batch_size_backoffs": list(outcome.backoffs),
        "num_workers": plan.num_workers,
        "channels_last": plan.channels_last,
        "compile": options.compile,
        "num_processes": ctx.accelerator.num_processes,
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
        "load_report": outcome.load_report
        or {
            "all_weights_loaded": True,
            "note": "the weights were loaded and checked by the invocations that predicted the shards",
        },
        "dataset": {
            **ctx.images.record(),
            "allow_missing": options.allow_missing,
            "images_changed_since_earlier_invocations": outcome.changed_images,
        },
        "shard_size": options.shard_size,
        "fingerprint": plan.fingerprint,
        "versions": software_versions(),
        "timing": timing(ctx, outcome),
    }
    if spec.adapter == "zero-shot":
        record["zero_shot"] = {
            "templates": spec.info.get("templates"),
            "class_names": spec.info.get("class_names"),
        }
    return record
