"""The few collective steps a run needs, safe when one process fails.

Every function here is a collective: each process must call it, in the same order.
An error on one process never leaves the others waiting at a barrier: the failing
process re-raises its own error, the others raise ``RunnerError`` saying another
process failed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import torch

from imagenet_x_hf.errors import RunnerError

T = TypeVar("T")


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


def agree(accelerator, ok: bool) -> bool:
    """True when every process reports ok."""
    if accelerator.num_processes == 1:
        return ok
    flag = torch.tensor([0 if ok else 1], device=accelerator.device)
    return int(accelerator.gather(flag).sum().item()) == 0


def collective(accelerator, fn: Callable[[], T], *, what: str) -> T:
    """Run ``fn`` on this process, then agree with the others; re-raise here or report theirs."""
    result, error = None, None
    try:
        result = fn()
    except Exception as err:  # re-raised below once every process knows
        error = err
    if not agree(accelerator, error is None):
        if error is not None:
            raise error
        raise RunnerError(f"another process failed while {what}; see its error above")
    return result


def on_main(accelerator, fn: Callable[[], T], *, what: str) -> T | None:
    """``fn`` on the main process only (``None`` elsewhere); a failure stops every process."""
    return collective(accelerator, fn if accelerator.is_main_process else (lambda: None), what=what)


def main_process_first(accelerator, fn: Callable[[], T], *, what: str) -> T:
    """``fn`` on the main process, then on the others (filling caches once); failures are shared.

    Unlike ``accelerator.main_process_first()``, an error on the main process does not leave
    the others waiting at a barrier: every process learns of it and stops.
    """
    noop = lambda: None  # noqa: E731
    first = collective(accelerator, fn if accelerator.is_main_process else noop, what=what)
    rest = collective(accelerator, noop if accelerator.is_main_process else fn, what=what)
    return first if accelerator.is_main_process else rest


def sum_over_processes(accelerator, value: int) -> int:
    """The sum of an integer over all processes."""
    if accelerator.num_processes == 1:
        return value
    tensor = torch.tensor([value], device=accelerator.device)
    return int(accelerator.gather(tensor).sum().item())


def broadcast_object(accelerator, obj: Any) -> Any:
    """The main process's ``obj`` on every process."""
    if accelerator.num_processes == 1:
        return obj
    from accelerate.utils import broadcast_object_list

    return broadcast_object_list([obj])[0]
