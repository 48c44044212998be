"""The commands that reproduce a report, for the card's "Reproduce" part.

Local paths are reduced to their last component (``runs/vit`` -> ``vit``): a card is
public, the user's directory layout is not, and the reader runs the commands in a
folder of their own anyway. ImageNet's location is a placeholder for the same reason.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

IMAGENET_PLACEHOLDER = "/path/to/imagenet"
# Run-config keys written by the runner and the ``imagenet-x evaluate`` options they came from.
_EVALUATE_OPTIONS = (
    ("revision", "--revision"),
    ("adapter", "--adapter"),
    ("precision", "--precision"),
    ("batch_size", "--batch-size"),
)
_SCORE_OPTIONS = (
    ("which_factor", "--which-factor", "top"),
    ("error_type", "--error-type", "class"),
    ("confidence_level", "--confidence-level", 0.95),
)


def _join(argv: Sequence[Any]) -> str:
    return shlex.join(str(a) for a in argv)


def evaluate_command(run: Mapping[str, Any], *, output: str) -> str | None:
    """The ``imagenet-x evaluate`` command of a run config, or None without a model id.

    >>> evaluate_command({"model": "google/vit-base-patch16-224", "batch_size": 64}, output="vit")
    'imagenet-x evaluate --model google/vit-base-patch16-224 --batch-size 64 --imagenet /path/to/imagenet --output vit'
    """
    command = run.get("command")
    if isinstance(command, str) and command.strip():
        return command.strip()
    if isinstance(command, (list, tuple)) and command:
        return _join(command)
    model = run.get("model")
    if not model:
        return None
    argv = ["imagenet-x", "evaluate", "--model", model]
    for key, flag in _EVALUATE_OPTIONS:
        value = run.get(key)
        if value not in (None, "", False):
            argv += [flag, value]
    argv += ["--imagenet", IMAGENET_PLACEHOLDER, "--output", output]
    return _join(argv)


def _score_flags(results: Mapping[str, Any]) -> list[str]:
    flags: list[str] = []
    for key, flag, default in _SCORE_OPTIONS:
        value = results.get(key, default)
        if value != default:
            flags += [flag, str(value)]
    if results.get("filter_prototypes", True) is False:
        flags.append("--keep-prototypes")
    return flags


def reproduce_commands(
    *, kind: str, source: str | Path, results: Mapping[str, Any], run: Mapping[str, Any] | None = None
) -> list[str]:
    """The commands that recreate the numbers and the section from scratch.

    >>> reproduce_commands(kind="predictions", source="/home/me/preds/ResNet50.csv", results={"which_factor": "multi"})
    ['imagenet-x card --predictions ResNet50.csv --which-factor multi --model-card README.md']
    """
    name = Path(source).name
    if kind == "run":
        commands = []
        evaluate = evaluate_command(run or {}, output=name)
        if evaluate:
            commands.append(evaluate)
        commands.append(_join(["imagenet-x", "card", "--run", name, "--model-card", "README.md"]))
        return commands
    flag = "--predictions" if kind == "predictions" else "--run"
    return [_join(["imagenet-x", "card", flag, name, *_score_flags(results), "--model-card", "README.md"])]
