"""Resolve a run's options once, for one model, one set of images and one machine: the ``RunPlan``.

Every ``auto`` becomes what it stands for (the preprocessing path, the precision, the
memory format, the workers, the batch size) in a fixed order, and the plan's
``settings`` hold everything that decides a prediction, in resolved form: the model's
identity and the contents of its weights and processing files, the label map's content,
the images' names. Their ``fingerprint`` is what a resumed run must match; the images'
content is checked row by row instead (``RunStore.prepare``), so changed images are
predicted again and moved ones resume.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.runner.adapters import ModelSpec
from imagenet_x_hf.runner.predict import resolve_precision
from imagenet_x_hf.runner.preprocess import matches_reference
from imagenet_x_hf.settings import RunOptions, fingerprint, prediction_settings

# Options whose value the plan resolves (``auto`` -> what it became); the resolved value is
# fingerprinted instead of the option, so --precision fp32 resumes a run whose auto became fp32.
RESOLVED = ("adapter", "preprocessing", "precision", "channels_last")


@dataclass(frozen=True)
class RunPlan:
    """What ``RunOptions`` resolve to for one model, one set of images and one machine.

    ``settings`` is everything that decides the predictions (JSON-ready); its
    ``fingerprint`` is what a resumed run must match.
    """

    preprocessing: dict[str, Any]
    use_fast: bool
    precision: str
    channels_last: bool
    num_workers: int
    batch_size: int
    settings: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.settings)


def resolve_plan(
    spec: ModelSpec, images, options: RunOptions, device: torch.device, local_processes: int
) -> RunPlan:
    """Resolve every setting once, in a fixed order: the preprocessing path, the numerics, the
    data loading; then the fingerprint inputs. ``images`` is the run's ``ImageSet``."""
    use_fast, preprocessing = choose_preprocessing(
        spec, options.preprocessing, jpeg_draft=options.load.jpeg_draft
    )
    precision = resolve_precision(options.precision, device)
    channels_last = options.channels_last if options.channels_last is not None else device.type == "cuda"
    workers = options.num_workers
    if workers is None:
        workers = default_workers(device, int(os.environ.get("LOCAL_WORLD_SIZE", local_processes)))
    batch_size = options.batch_size or (256 if device.type == "cuda" else 32)
    chosen = prediction_settings(options)
    for name in RESOLVED:
        chosen.pop(name, None)
    chosen["load"].pop("label_map", None)  # its content is fingerprinted once, as label_map_sha256
    settings = {
        "options": chosen,
        "model": spec.describe(),
        "model_files_sha256": spec.file_hashes,
        "label_map_sha256": label_map_sha256(options),
        "preprocessing": {k: preprocessing.get(k) for k in ("path", "resolved", "jpeg_draft_used")},
        "precision": precision,
        "channels_last": channels_last,
        "dataset": images.identity(),
        "shard_size": options.shard_size,
    }
    return RunPlan(preprocessing, use_fast, precision, channels_last, workers, batch_size, settings)


def label_map_sha256(options: RunOptions) -> str | None:
    """The fingerprint of the label map's content, ``None`` without one."""
    label_map = options.load.label_map
    return None if label_map is None else fingerprint({str(k): v for k, v in label_map.items()})


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
