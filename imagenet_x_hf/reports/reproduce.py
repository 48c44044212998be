"""The commands that reproduce a report, for the card's "Reproduce" part.

Local paths are reduced to their last component (``runs/vit`` -> ``vit``): a card is
public, the user's directory layout is not, and the reader runs the commands in a
folder of their own anyway. ImageNet's location is a placeholder for the same reason.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

IMAGENET_PLACEHOLDER = "/path/to/imagenet"
# Run-config keys written by the runner and the ``imagenet-x evaluate`` options they came from.
# The resolved commit pins the weights exactly; the revision asked for is the fallback.
_EVALUATE_OPTIONS = (
    (("commit", "revision"), "--revision"),
    (("adapter",), "--adapter"),
    (("precision",), "--precision"),
    (("batch_size",), "--batch-size"),
)
_SCORE_OPTIONS = (
    ("split", "--split", "validation"),
    ("which_factor", "--which-factor", "top"),
    ("error_type", "--error-type", "class"),
    ("confidence_level", "--confidence-level", 0.95),
)


def public_model_name(model: str) -> str:
    """A Hub id as it is; a local folder by its last component (a card must not show local paths).

    >>> public_model_name("google/vit-base-patch16-224"), public_model_name("/home/me/ckpt/vit/")
    ('google/vit-base-patch16-224', 'vit')
    """
    path = str(model).replace("\\", "/")
    if path.startswith(("/", ".", "~")) or path.count("/") > 1 or re.match(r"^[A-Za-z]:", path):
        return path.rstrip("/").rsplit("/", 1)[-1] or str(model)
    return str(model)


def _join(argv: Sequence[Any]) -> str:
    return shlex.join(str(a) for a in argv)


def evaluate_command(
    run: Mapping[str, Any], *, output: str, results: Mapping[str, Any] | None = None
) -> str | None:
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
    argv = ["imagenet-x", "evaluate", "--model", public_model_name(model)]
    for keys, flag in _EVALUATE_OPTIONS:
        value = next((run[k] for k in keys if run.get(k) not in (None, "", False)), None)
        if value is not None:
            argv += [flag, value]
    results = results or {}
    argv += ["--imagenet", IMAGENET_PLACEHOLDER, "--output", output]
    # evaluate scores at the default level; a different level is the card command's business.
    argv += _score_flags(results, confidence=False)
    return _join(argv)


def _score_flags(results: Mapping[str, Any], *, confidence: bool = True) -> list[str]:
    flags: list[str] = []
    for key, flag, default in _SCORE_OPTIONS:
        if key == "confidence_level" and not confidence:
            continue
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
        evaluate = evaluate_command(run or {}, output=name, results=results)
        if evaluate:
            commands.append(evaluate)
        commands.append(_join(["imagenet-x", "card", "--run", name, "--model-card", "README.md"]))
        return commands
    flag = "--predictions" if kind == "predictions" else "--run"
    return [_join(["imagenet-x", "card", flag, name, *_score_flags(results), "--model-card", "README.md"])]
