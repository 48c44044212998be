"""The commands that reproduce a report, for the card's "Reproduce" part.

Every scoring option comes from the one ``ScoringOptions`` object the results were
computed with (``ScoringOptions.cli_args()``), so no option can be dropped: a setting
added there reaches the Reproduce block without a change here.

Local paths are reduced to their last component (``runs/vit`` -> ``vit``): a card is
public, the user's directory layout is not, and the reader runs the commands in a
folder of their own anyway. ImageNet's location is a placeholder for the same reason.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from imagenet_x_hf.results import Results, RunRecord
from imagenet_x_hf.settings import ScoringOptions

IMAGENET_PLACEHOLDER = "/path/to/imagenet"
PACKAGE = "imagenet-x-hf"
# Run-config keys written by the runner and the ``imagenet-x evaluate`` options they came from.
# The resolved commit pins the weights exactly; the revision asked for is the fallback.
_EVALUATE_OPTIONS = (
    (("commit", "revision"), "--revision"),
    (("adapter",), "--adapter"),
    (("precision",), "--precision"),
    (("batch_size",), "--batch-size"),
)
# ``evaluate`` scores at the default confidence level; a run with another one is redone with card.
_DEFAULT_LEVEL = ScoringOptions().confidence_level


def install_command(*, runner: bool = False) -> str:
    """The ``pip install`` line of this version (with timm support when a model is evaluated).

    >>> install_command().startswith("pip install imagenet-x-hf==")
    True
    """
    from imagenet_x_hf import __version__

    extra = "[all]" if runner else ""
    return _join(["pip", "install", f"{PACKAGE}{extra}=={__version__}"])


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


def evaluate_command(run: RunRecord, *, output: str, scoring: ScoringOptions) -> str | None:
    """The ``imagenet-x evaluate`` command of a run, or None without a model id.

    Its scoring options are ``scoring`` (all but the confidence level, which
    ``evaluate`` does not take).

    >>> evaluate_command(RunRecord(model="google/vit-base-patch16-224", batch_size=64), output="vit",
    ...                  scoring=ScoringOptions(error_type="real_class", empty_real="exclude"))
    'imagenet-x evaluate --model google/vit-base-patch16-224 --batch-size 64 --imagenet /path/to/imagenet --output vit --error-type real_class --empty-real exclude'
    """
    model = run.model
    if not model:
        return None
    argv = ["imagenet-x", "evaluate", "--model", public_model_name(model)]
    for keys, flag in _EVALUATE_OPTIONS:
        value = next((run.get(k) for k in keys if run.get(k) not in (None, "", False)), None)
        if value is not None:
            argv += [flag, value]
    argv += ["--imagenet", IMAGENET_PLACEHOLDER, "--output", output]
    settings = scoring.replace(confidence_level=_DEFAULT_LEVEL)
    return _join(argv + settings.cli_args())


def reproduce_commands(
    *,
    kind: str,
    source: str | Path,
    results: Results,
    model: str | None = None,
) -> list[str]:
    """The commands that recreate the numbers and the section from scratch, install line first.

    ``kind`` is that of ``ModelResults``: ``"predictions"`` (scored from a file),
    ``"run"`` (a run directory) or ``"results"`` (a results JSON, e.g. ``score --json``
    output: the section is rebuilt from the model's predictions file, ``MODEL.csv``).

    >>> from imagenet_x_hf.schema import FACTORS
    >>> results = Results.from_dict({"which_factor": "multi", "filter_prototypes": False, "accuracy": 0.8,
    ...                              "images": 10, "factors": {f: {} for f in FACTORS}})
    >>> reproduce_commands(kind="predictions", source="/home/me/preds/ResNet50.csv", results=results)[1]
    'imagenet-x card --predictions ResNet50.csv --which-factor multi --keep-prototypes --model-card README.md'
    """
    settings = results.scoring
    from imagenet_x_hf.share import is_predictions_source

    # a model of a predictions repository is named by its whole address, which every command reads
    name = str(source) if kind == "predictions" and is_predictions_source(source) else Path(source).name
    if kind == "run":
        commands = [install_command(runner=True)]
        evaluate = evaluate_command(results.run or RunRecord(), output=name, scoring=settings)
        if evaluate:
            commands.append(evaluate)
        if settings.confidence_level == _DEFAULT_LEVEL:
            commands.append(_join(["imagenet-x", "card", "--run", name, "--model-card", "README.md"]))
        else:
            # The run's results were rescored at another level: score its predictions again.
            argv = ["imagenet-x", "card", "--predictions", f"{name}/predictions.parquet"]
            argv += ["--model-name", model or name, *settings.cli_args(), "--model-card", "README.md"]
            commands.append(_join(argv))
        return commands
    if kind == "results":
        stem = public_model_name(str(results.model or model or Path(name).stem))
        predictions = f"{stem.replace('/', '_')}.csv"
    else:
        predictions = name
    argv = ["imagenet-x", "card", "--predictions", predictions]
    if model and model != Path(predictions).stem:
        argv += ["--model-name", model]
    return [install_command(), _join(argv + settings.cli_args() + ["--model-card", "README.md"])]
