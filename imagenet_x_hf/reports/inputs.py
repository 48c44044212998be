"""Read what a report is made from: a run directory, a results file or a predictions file.

A run directory is what ``imagenet-x evaluate --output DIR`` writes: ``results.json``
(a RESULTS dict plus a ``"run"`` key) next to ``predictions.parquet`` and
``predictions.csv``. A predictions file (the authors' CSV format, or Parquet) is
scored here with ``imagenet_x_hf.metrics.score_predictions``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from imagenet_x_hf.reports.errors import ResultsFileError
from imagenet_x_hf.reports.reproduce import public_model_name
from imagenet_x_hf.reports.summary import check_results

RESULTS_FILE = "results.json"
PREDICTION_FILES = ("predictions.parquet", "predictions.csv")
PREDICTION_SUFFIXES = (".csv", ".parquet")
# The settings two results must share to be compared.
SETTINGS = ("split", "which_factor", "error_type", "filter_prototypes", "confidence_level", "empty_real")


@dataclasses.dataclass
class ModelResults:
    """One model's results and where they came from.

    ``kind`` is ``"run"`` (a run directory), ``"results"`` (a results JSON file) or
    ``"predictions"`` (a predictions file scored here).
    """

    name: str
    results: dict
    source: Path
    kind: str
    predictions_path: Path | None = None
    run: dict | None = None
    _predictions: Any = dataclasses.field(default=None, repr=False)

    def predictions(self):
        """The model's predictions (``imagenet_x_hf.metrics.Predictions``), read once."""
        if self._predictions is None:
            if self.predictions_path is None:
                raise ResultsFileError(
                    f"{str(self.source)!r} holds results but no predictions, and comparing models "
                    "image by image needs them: pass the run directory (with predictions.parquet "
                    "or predictions.csv) or the predictions file instead"
                )
            from imagenet_x_hf.metrics import read_predictions

            predictions = read_predictions(self.predictions_path)
            self._predictions = dataclasses.replace(predictions, name=self.name)
        return self._predictions


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ResultsFileError(
            f"cannot read {str(path)!r}: {err}; check the path and its permissions"
        ) from err
    except json.JSONDecodeError as err:
        raise ResultsFileError(
            f"{str(path)!r} is not valid JSON ({err.msg} at line {err.lineno}); it may be truncated: "
            "rerun 'imagenet-x evaluate' or rescore the predictions with 'imagenet-x score'"
        ) from err


def read_run(directory: str | os.PathLike, *, name: str | None = None) -> ModelResults:
    """Read a run directory written by ``imagenet-x evaluate``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ResultsFileError(f"{str(directory)!r} is not a directory; pass the --output folder of a run")
    path = directory / RESULTS_FILE
    if not path.is_file():
        found = sorted(p.name for p in directory.iterdir())[:8]
        raise ResultsFileError(
            f"no {RESULTS_FILE} in {str(directory)!r} (it holds: {', '.join(found) or 'nothing'}); "
            "pass the --output folder of 'imagenet-x evaluate' after the run has finished, "
            "or pass a predictions CSV instead (--predictions FILE)"
        )
    return _from_results(_read_json(path), path, kind="run", name=name)


def _from_results(data: Any, path: Path, *, kind: str, name: str | None) -> ModelResults:
    results = check_results(data, source=repr(str(path)))
    run = results.pop("run", None)
    predictions_path = next((path.parent / f for f in PREDICTION_FILES if (path.parent / f).is_file()), None)
    model = results.get("model") or (run or {}).get("model")
    name = name or (public_model_name(model) if model else path.parent.name)
    return ModelResults(
        name=str(name),
        results=results,
        source=path.parent if kind == "run" else path,
        kind=kind,
        predictions_path=predictions_path,
        run=run if isinstance(run, dict) else None,
    )


def read_results_file(path: str | os.PathLike, *, name: str | None = None) -> ModelResults:
    """Read a results JSON file (``score --json`` output or a run's ``results.json``)."""
    path = Path(path)
    return _from_results(_read_json(path), path, kind="results", name=name)


def score_file(path: str | os.PathLike, *, name: str | None = None, **options: Any) -> ModelResults:
    """Score a predictions file (CSV or Parquet) with the metric; ``options`` go to ``score_predictions``."""
    from imagenet_x_hf.metrics import read_predictions, score_predictions

    path = Path(path)
    predictions = read_predictions(path)
    name = name or predictions.name or path.stem
    predictions = dataclasses.replace(predictions, name=name)
    results = check_results(score_predictions(predictions, **options), source=repr(str(path)))
    return ModelResults(
        name=name,
        results=results,
        source=path,
        kind="predictions",
        predictions_path=path,
        _predictions=predictions,
    )


def load_model_results(path: str | os.PathLike, *, name: str | None = None, **options: Any) -> ModelResults:
    """A run directory, a results ``.json`` or a predictions ``.csv``/``.parquet`` file.

    ``options`` (``which_factor``, ``error_type``, ...) apply when a predictions file
    is scored; results read from a run or a JSON file keep the settings they were
    computed with (``check_same_settings`` compares them).
    """
    path = Path(path)
    if path.is_dir():
        return read_run(path, name=name)
    if not path.exists():
        raise ResultsFileError(
            f"{str(path)!r} does not exist; pass a run directory (imagenet-x evaluate --output DIR), "
            "a results .json file or a predictions .csv/.parquet file"
        )
    if path.suffix.lower() == ".json":
        return read_results_file(path, name=name)
    if path.suffix.lower() in PREDICTION_SUFFIXES:
        return score_file(path, name=name, **options)
    raise ResultsFileError(
        f"{str(path)!r} is neither a run directory, a .json results file nor a .csv/.parquet "
        "predictions file; rename it with the right extension or pass the run directory"
    )


def check_same_settings(models: Sequence[ModelResults], *, expected: Mapping[str, Any] | None = None) -> None:
    """Fail unless all results were computed with the same settings (and ``expected`` ones)."""
    if not models:
        return
    reference = dict(expected or {}) or {k: models[0].results.get(k) for k in SETTINGS}
    for model in models:
        for key, want in reference.items():
            got = model.results.get(key)
            if key in model.results and got != want:
                raise ResultsFileError(
                    f"{model.name!r} ({model.source}) was scored with {key}={got!r} but the comparison uses "
                    f"{key}={want!r}; pass its predictions file instead (it is then scored with the "
                    "comparison's settings) or rescore it with the same settings"
                )


def unique_names(models: Sequence[ModelResults]) -> None:
    """Fail when two inputs carry the same model name (tables and legends would mix them)."""
    seen: dict[str, Path] = {}
    for model in models:
        if model.name in seen:
            raise ResultsFileError(
                f"two inputs are both named {model.name!r} ({seen[model.name]} and {model.source}); "
                "rename one of the files, or compare them in separate runs"
            )
        seen[model.name] = model.source
