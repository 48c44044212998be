"""Read what a report is made from: a run directory, a results file or a predictions file.

A run directory is what ``imagenet-x evaluate --output DIR`` writes: ``results.json``
(``Results.to_dict()``, with the run's record and placement) next to ``predictions.parquet`` and
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

from imagenet_x_hf.errors import ResultsFileError
from imagenet_x_hf.reports.reproduce import public_model_name
from imagenet_x_hf.results import Results, RunRecord
from imagenet_x_hf.settings import ScoringOptions

RESULTS_FILE = "results.json"
PREDICTION_FILES = ("predictions.parquet", "predictions.csv")
PREDICTION_SUFFIXES = (".csv", ".parquet")


@dataclasses.dataclass
class ModelResults:
    """One model's results and where they came from.

    ``kind`` is ``"run"`` (a run directory), ``"results"`` (a results JSON file) or
    ``"predictions"`` (a predictions file scored here).
    """

    name: str
    results: Results
    source: Path | str  # str: the address of a model in a Hub predictions repository
    kind: str
    predictions_path: Path | None = None
    _predictions: Any = dataclasses.field(default=None, repr=False)

    @property
    def run(self) -> RunRecord | None:
        """How the run made the predictions, when the results come from ``imagenet-x evaluate``."""
        return self.results.run

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
            "or pass a predictions file (CSV or Parquet) instead: in its place for report, with "
            "--predictions FILE for card"
        )
    return _from_results(_read_json(path), path, kind="run", name=name)


def _from_results(
    data: Any, path: Path, *, kind: str, name: str | None, source: str | None = None
) -> ModelResults:
    results = Results.from_dict(data, source=source or repr(str(path)))
    # Predictions sit next to a run's results.json; a results file elsewhere has none of its own.
    predictions_path = (
        next((path.parent / f for f in PREDICTION_FILES if (path.parent / f).is_file()), None)
        if kind == "run" or path.name == RESULTS_FILE
        else None
    )
    model = results.model or (results.run.model if results.run else None)
    name = name or (public_model_name(model) if model else path.parent.name)
    return ModelResults(
        name=str(name),
        results=results,
        source=path.parent if kind == "run" else path,
        kind=kind,
        predictions_path=predictions_path,
    )


def _documents(data: Any, path: Path) -> list[Any]:
    """The RESULTS dicts of a JSON document: one dict, or ``imagenet-x score --json``'s ``{"results": [...]}``."""
    if isinstance(data, Mapping) and "accuracy" not in data and "results" in data:
        inner = data["results"]
        if not isinstance(inner, list) or not inner:
            raise ResultsFileError(
                f"{str(path)!r} has a 'results' key that is not a non-empty list of results; "
                "write it with 'imagenet-x score FILE --json > results.json'"
            )
        return inner
    return [data]


def read_results_documents(path: str | os.PathLike) -> list[ModelResults]:
    """Every model in a results JSON file: a run's ``results.json`` (one) or ``score --json`` output (one or more)."""
    path = Path(path)
    docs = _documents(_read_json(path), path)
    source = repr(str(path))
    models = []
    for i, doc in enumerate(docs):
        where = source if len(docs) == 1 else f"{source} (results[{i}])"
        models.append(_from_results(doc, path, kind="results", name=None, source=where))
    return models


def read_results_file(path: str | os.PathLike, *, name: str | None = None) -> ModelResults:
    """Read one model from a results JSON file (``score --json`` output or a run's ``results.json``).

    A ``score --json`` document with several models needs ``name`` to pick one.
    """
    path = Path(path)
    models = read_results_documents(path)
    if len(models) == 1:
        model = models[0]
        if name:
            model.name = str(name)
        return model
    names = [m.name for m in models]
    if name in names:
        return models[names.index(name)]
    raise ResultsFileError(
        f"{str(path)!r} holds the results of {len(models)} models ({', '.join(names)}); "
        + (f"none is named {name!r}; " if name else "")
        + "pick one with --model-name NAME"
    )


def file_model_name(path: Path) -> str:
    """A predictions file's model name: its stem, or its folder's name for a run's ``predictions.*``.

    >>> file_model_name(Path("runs/vit-b16/predictions.csv")), file_model_name(Path("ViT.csv"))
    ('vit-b16', 'ViT')
    """
    if path.stem == "predictions" and path.parent.name:
        return path.parent.name
    return path.stem


def score_file(
    path: str | os.PathLike, *, name: str | None = None, options: ScoringOptions | None = None
) -> ModelResults:
    """Score a predictions file (CSV or Parquet) with the metric, as ``options`` say."""
    from imagenet_x_hf.metrics import read_predictions

    path = Path(path)
    predictions = read_predictions(path)
    return _score(
        predictions,
        # the reader names a file by its stem; a run's predictions.* is named by its run instead
        name=name
        or (predictions.name if predictions.name not in (None, path.stem) else file_model_name(path)),
        source=path,
        path=path,
        options=options,
    )


def _score(
    predictions, *, name: str, source: Path | str, path: Path, options: ScoringOptions | None
) -> ModelResults:
    from imagenet_x_hf.metrics import score_predictions

    predictions = dataclasses.replace(predictions, name=name)
    results = score_predictions(predictions, options)
    return ModelResults(
        name=name,
        results=results,
        source=source,
        kind="predictions",
        predictions_path=path,
        _predictions=predictions,
    )


def score_shared(
    source: str | os.PathLike, *, name: str | None = None, options: ScoringOptions | None = None
) -> list[ModelResults]:
    """Score every model asked for in a predictions repository (a folder or ``hf://datasets/ORG/REPO[/MODEL]``).

    Each model's ``source`` is its address (``REPO/CONFIG``), which any command reads back.
    """
    from imagenet_x_hf.share import open_predictions

    repo = open_predictions(source)
    if name and len(repo.models) > 1:
        raise ResultsFileError(
            f"{str(source)!r} holds {len(repo.models)} models, so one name cannot be given to them; "
            "pick one model (REPO/MODEL) or drop the name"
        )
    models = []
    for model in repo.models:
        address = f"{repo.location}/{model.config}"
        path = repo.path(model)
        models.append(
            _score(repo.read(model), name=name or model.model, source=address, path=path, options=options)
        )
    return models


def load_model_results(
    path: str | os.PathLike, *, name: str | None = None, options: ScoringOptions | None = None
) -> ModelResults:
    """A run directory, a results ``.json``, a predictions ``.csv``/``.parquet`` file, or one model of a
    predictions repository (a folder or ``hf://datasets/ORG/REPO[/MODEL]``, see :mod:`imagenet_x_hf.share`).

    ``options`` (how to score) apply when a predictions file
    is scored; results read from a run or a JSON file keep the settings they were
    computed with (``check_same_settings`` compares them).
    """
    from imagenet_x_hf.share import is_predictions_source

    if is_predictions_source(path):
        models = score_shared(path, name=name, options=options)
        if len(models) > 1:
            raise ResultsFileError(
                f"{str(path)!r} holds {len(models)} models ({', '.join(m.name for m in models[:6])}"
                f"{', ...' if len(models) > 6 else ''}); this command takes one: name it after the "
                "repository, e.g. REPO/MODEL"
            )
        return models[0]
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
        return score_file(path, name=name, options=options)
    raise ResultsFileError(
        f"{str(path)!r} is neither a run directory, a .json results file nor a .csv/.parquet "
        "predictions file; rename it with the right extension or pass the run directory"
    )


def load_all_model_results(
    path: str | os.PathLike, *, options: ScoringOptions | None = None
) -> list[ModelResults]:
    """Like ``load_model_results``, but every model of a ``score --json`` file or a predictions repository."""
    from imagenet_x_hf.share import is_predictions_source

    if is_predictions_source(path):
        return score_shared(path, options=options)
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".json":
        return read_results_documents(path)
    return [load_model_results(path, options=options)]


def check_scoring_flags(models: Sequence[ModelResults], settings: ScoringOptions) -> None:
    """Fail when scoring options given on the command line contradict results read from a file.

    Results read from a run or a JSON file keep the settings they were computed with, so a
    non-default option given for them would be silently ignored; it is an error instead.
    """
    default = ScoringOptions()
    asked = {k: v for k, v in settings.to_dict().items() if v != getattr(default, k)}
    for model in models:
        if model.kind == "predictions" or not asked:
            continue
        have = model.results.scoring.to_dict()
        for key, value in asked.items():
            if have[key] != value:
                raise ResultsFileError(
                    f"{str(model.source)!r} was scored with {key}={have[key]!r}, but {key}={value!r} was "
                    "asked for; scoring options apply to predictions files only: pass the predictions "
                    "file (or rescore with 'imagenet-x score ... --json'), or drop the option"
                )


def check_same_settings(models: Sequence[ModelResults], *, expected: ScoringOptions | None = None) -> None:
    """Fail unless all results were computed with the same settings (and ``expected`` ones)."""
    if not models:
        return
    reference = (expected or models[0].results.scoring).to_dict()
    for model in models:
        have = model.results.scoring.to_dict()
        for key, want in reference.items():
            got = have[key]
            if got != want:
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
