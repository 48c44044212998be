"""Bulk mode: many models in one go; a model that fails is recorded and the others go on.

Each model gets its own folder under the output root (its id with ``/`` as ``__``);
``summary.json`` there lists every model with its status, rewritten after each one.

>>> model_folder_name("timm/resnet50.a1_in1k"), model_folder_name("/models/my-vit/")
('timm__resnet50.a1_in1k', 'my-vit')
"""

from __future__ import annotations

import os
import re
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.runner.collectives import main_process_first, make_accelerator
from imagenet_x_hf.runner.context import load_dataset_for
from imagenet_x_hf.runner.run import RunOptions, evaluate_model
from imagenet_x_hf.runner.store import atomic_write_json

SUMMARY = "summary.json"


def model_folder_name(model: str) -> str:
    path = Path(model)
    name = path.name if (model.startswith(("/", ".", "~")) or path.is_dir()) else model.replace("/", "__")
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", name) or "model"


def read_models_file(path: str | os.PathLike) -> list[str]:
    """One model per line; blank lines and ``#`` comments are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ImageNetXError(f"cannot read the models file {path}: {err}") from err
    models = [line.split("#", 1)[0].strip() for line in lines]
    return [m for m in models if m]


def model_folders(models: Sequence[str]) -> list[str]:
    """The output sub-folder of each model; an error when none is given or two would share one."""
    if not models:
        raise ImageNetXError("no models given: pass --model (repeatable) or --models-file")
    folders = [model_folder_name(m) for m in models]
    clashes = sorted({f for f in folders if folders.count(f) > 1})
    if clashes:
        raise ImageNetXError(
            f"several models would share the output folder(s) {clashes}; list each model once "
            "(or evaluate same-named local folders separately)"
        )
    return folders


def evaluate_models(
    models: Sequence[str],
    output: str | os.PathLike,
    *,
    options: RunOptions | None = None,
    dataset=None,
    accelerator=None,
) -> dict[str, Any]:
    """Evaluate each model into ``output/<model folder>``; return (and write) the summary."""
    options = options or RunOptions()
    folders = model_folders(models)
    own = accelerator is None
    accelerator = accelerator or make_accelerator()
    root = Path(output)
    summary: dict[str, Any] = {"output": str(root), "models": []}
    try:
        if dataset is None:
            dataset = main_process_first(
                accelerator, lambda: load_dataset_for(options), what="loading the dataset"
            )
        for model, folder in zip(models, folders):
            started = time.time()
            entry: dict[str, Any] = {"model": model, "output": str(root / folder)}
            try:
                results = evaluate_model(
                    model, root / folder, options=options, dataset=dataset, accelerator=accelerator
                )
                entry.update(status="ok", accuracy=results.get("accuracy"), images=results.get("images"))
            except Exception as err:  # one model's failure must not stop the others
                entry.update(status="failed", error=f"{type(err).__name__}: {err}")
                if not isinstance(err, ImageNetXError):
                    entry["traceback"] = traceback.format_exc(limit=8)
            entry["seconds"] = round(time.time() - started, 2)
            summary["models"].append(entry)
            if accelerator.is_main_process:
                root.mkdir(parents=True, exist_ok=True)
                atomic_write_json(root / SUMMARY, summary)
        summary["failed"] = sum(e["status"] != "ok" for e in summary["models"])
        if accelerator.is_main_process:
            atomic_write_json(root / SUMMARY, summary)
        return summary
    finally:
        if own:
            accelerator.end_training()
