"""Read a predictions repository: a folder on disk or ``hf://datasets/ORG/REPO``.

Only what is asked is fetched: the models table, then the files of the chosen
models (``hf://datasets/ORG/REPO/MODEL`` picks one). Downloads go through
``huggingface_hub`` into its cache (``HF_ENDPOINT``, ``HF_HUB_CACHE`` and
``HF_HUB_OFFLINE`` are read when a file is fetched); offline, a file missing from the
cache is a one-line error saying how to get it. Every predictions file is checked
against the sha256 and row count the models table records for it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from imagenet_x_hf.share.layout import (
    MODELS_FILE,
    MODELS_SCHEMA,
    PredictionsRepoError,
    is_hub_spec,
    parse_hub_spec,
)

# how deep below a repository folder a model selector may reach (model ids have one slash)
_SELECTOR_DEPTH = 2


@dataclass(frozen=True)
class SharedModel:
    """One model of a predictions repository: its row of the models table."""

    config: str
    model: str
    row: dict

    @property
    def file(self) -> str:
        return self.row["file"]


@dataclass
class PredictionsRepo:
    """A predictions repository opened for reading; ``models`` are the rows asked for."""

    location: str
    table: pa.Table
    models: list[SharedModel]
    fetch: Callable[[str], Path] = field(repr=False)
    # file-name columns already read, by their sha256: models of one repository mostly share
    # one image list, which is then read and parsed once (reading it is most of a file's cost)
    _names: dict[str, tuple] = field(default_factory=dict, repr=False)

    def path(self, model: SharedModel) -> Path:
        """The local path of ``model``'s predictions file (downloaded if needed), checked."""
        path = self.fetch(model.file)
        want = model.row.get("sha256")
        if want:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != want:
                raise PredictionsRepoError(
                    f"{model.file} in {self.location} has sha256 {digest[:12]}..., not the {want[:12]}... "
                    f"that {MODELS_FILE} records; the file was changed after export: export the model "
                    "again (imagenet-x export-predictions) or restore the file"
                )
        return path

    def read(self, model: SharedModel):
        """``model``'s predictions (``imagenet_x_hf.metrics.Predictions``), named as the models table names it."""
        from imagenet_x_hf.metrics import read_predictions

        path = self.path(model)  # its sha256 matches the table's, so does its file-name column
        key = model.row.get("file_names_sha256")
        if key and key in self._names:
            predictions = _read_values(path, *self._names[key], name=model.model)
        else:
            predictions = read_predictions(path, name=model.model)
            if key:
                self._names[key] = (predictions.file_names, predictions.val_numbers)
        if len(predictions) != model.row.get("images", len(predictions)):
            raise PredictionsRepoError(
                f"{model.file} in {self.location} has {len(predictions)} rows but {MODELS_FILE} records "
                f"{model.row['images']}; export the model again"
            )
        return predictions

    def options(self, model: SharedModel) -> dict | None:
        """The run options recorded for ``model`` (None for a predictions file)."""
        text = model.row.get("options_json")
        return json.loads(text) if text else None


def _read_values(path: Path, names, numbers, *, name: str):
    """A model's predictions whose file names are ``names`` (already read from another file), checked."""
    from imagenet_x_hf.metrics import Predictions

    columns = [c for c in ("predicted_class", "predicted_probability") if c in pq.read_schema(path).names]
    table = pq.read_table(path, columns=columns)
    classes = table.column("predicted_class")
    if classes.null_count or not pa.types.is_integer(classes.type):
        raise PredictionsRepoError(
            f"{path}: predicted_class must be integer class ids in every row; export it again"
        )
    probs = None
    if "predicted_probability" in columns:
        column = table.column("predicted_probability")
        if column.null_count:
            raise PredictionsRepoError(f"{path}: predicted_probability has empty cells; export it again")
        probs = column.cast(pa.float64()).to_numpy()
    return Predictions.from_arrays(
        names, classes.to_numpy(), probs, name=name, source=str(path), numbers=numbers
    )


def is_predictions_source(text: str | os.PathLike) -> bool:
    """True for ``hf://datasets/...`` or a folder (or ``folder/MODEL``) holding a models table."""
    if is_hub_spec(text):
        return True
    return _local_root(Path(text)) is not None


def _local_root(path: Path) -> tuple[Path, str | None] | None:
    """(repository folder, model selector or None) when ``path`` is one, or names a model in one."""
    if path.is_dir() and (path / MODELS_FILE).is_file():
        return path, None
    if path.exists():
        return None
    parts: list[str] = []
    probe = path
    for _ in range(_SELECTOR_DEPTH):
        parts.insert(0, probe.name)
        probe = probe.parent
        if probe.is_dir() and (probe / MODELS_FILE).is_file():
            return probe, "/".join(parts)
    return None


def read_models_table(path: Path, *, where: str) -> pa.Table:
    """The models table at ``path``, checked for the columns this package writes."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise PredictionsRepoError(
            f"{MODELS_FILE} of {where} cannot be read ({err}); export the predictions again"
        ) from None
    missing = [n for n in ("config", "model", "file") if n not in table.column_names]
    if missing:
        raise PredictionsRepoError(
            f"{MODELS_FILE} of {where} lacks the column(s) {missing}; it was not written by "
            "'imagenet-x export-predictions': export the predictions again"
        )
    # columns added by later versions are kept; those of this version are filled when absent
    for name in MODELS_SCHEMA.names:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, MODELS_SCHEMA.field(name).type))
    return table


def _select(table: pa.Table, selector: str | None, where: str) -> list[SharedModel]:
    rows = table.to_pylist()
    models = [SharedModel(config=r["config"], model=r["model"], row=r) for r in rows]
    if selector is None:
        if not models:
            raise PredictionsRepoError(
                f"{where} holds no models; export some with 'imagenet-x export-predictions'"
            )
        return models
    chosen = [m for m in models if selector in (m.config, m.model)]
    if not chosen:
        names = ", ".join(m.config for m in models[:12]) + (", ..." if len(models) > 12 else "")
        raise PredictionsRepoError(
            f"{where} has no model {selector!r}; it holds: {names or 'nothing'} (name one of them after the "
            "repository, or give the repository alone for all)"
        )
    return chosen


def _hub_fetcher(repo_id: str, revision: str | None) -> Callable[[str], Path]:
    def fetch(relative: str) -> Path:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
        from huggingface_hub.utils import logging as hub_logging

        from imagenet_x_hf.zoo.files import is_offline

        offline = is_offline()
        where = f"hf://datasets/{repo_id}" + (f"@{revision}" if revision else "")
        # huggingface_hub logs a warning per retry of an unreachable Hub; a failure ends in
        # one line of ours below, so its own retry lines are kept off the console
        verbosity = hub_logging.get_verbosity()
        hub_logging.set_verbosity_error()
        try:
            return Path(
                hf_hub_download(
                    repo_id,
                    relative,
                    repo_type="dataset",
                    revision=revision,
                    endpoint=os.environ.get("HF_ENDPOINT") or None,
                    cache_dir=os.environ.get("HF_HUB_CACHE") or None,
                    local_files_only=offline,
                )
            )
        # LocalEntryNotFoundError subclasses EntryNotFoundError: it is caught first
        except LocalEntryNotFoundError:
            how = (
                "HF_HUB_OFFLINE forbids downloading it: run once with network access (unset HF_HUB_OFFLINE)"
                if offline
                else "the Hub could not be reached: check the connection (or HF_ENDPOINT)"
            )
            raise PredictionsRepoError(
                f"{relative} of {where} is not in the Hugging Face cache and {how}, or download the "
                "repository and pass its folder"
            ) from None
        except RepositoryNotFoundError:
            raise PredictionsRepoError(
                f"{where} does not exist or is private; check the id (and log in with 'hf auth login' for a "
                "private repository)"
            ) from None
        except RevisionNotFoundError:
            raise PredictionsRepoError(
                f"{where}: no revision {revision!r}; check the name after '@'"
            ) from None
        except EntryNotFoundError:
            raise PredictionsRepoError(
                f"{where} has no {relative}; it is not a predictions repository written by "
                "'imagenet-x export-predictions' (or that file was removed)"
            ) from None
        except (HfHubHTTPError, OSError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise PredictionsRepoError(
                f"cannot download {relative} of {where} ({first}); rerun later"
            ) from None
        finally:
            hub_logging.set_verbosity(verbosity)

    return fetch


def _local_fetcher(root: Path) -> Callable[[str], Path]:
    def fetch(relative: str) -> Path:
        path = root / relative
        if not path.is_file():
            raise PredictionsRepoError(
                f"{relative} is missing from {root} although {MODELS_FILE} lists it; export that model again"
            )
        return path

    return fetch


def open_predictions(source: str | os.PathLike) -> PredictionsRepo:
    """Open a predictions repository for reading: a folder, ``folder/MODEL``, or ``hf://datasets/ORG/REPO[/MODEL]``.

    >>> import tempfile
    >>> from imagenet_x_hf.share.export import export_predictions
    >>> from imagenet_x_hf.metrics import Predictions
    >>> folder = tempfile.mkdtemp()
    >>> toy = Predictions.from_arrays(["ILSVRC2012_val_00000001.JPEG"], [65], [0.9], name="toy")
    >>> _ = export_predictions([toy], folder)
    >>> repo = open_predictions(folder)
    >>> [m.config for m in repo.models], repo.read(repo.models[0]).predicted_class.tolist()
    (['toy'], [65])
    """
    if is_hub_spec(source):
        spec = parse_hub_spec(str(source))
        where = f"hf://datasets/{spec.repo_id}" + (f"@{spec.revision}" if spec.revision else "")
        fetch = _hub_fetcher(spec.repo_id, spec.revision)
        selector = spec.model
    else:
        found = _local_root(Path(source))
        if found is None:
            raise PredictionsRepoError(
                f"{str(source)!r} is not a predictions repository (no {MODELS_FILE}); write one with "
                "'imagenet-x export-predictions RUN... DIR'"
            )
        root, selector = found
        where = str(root)
        fetch = _local_fetcher(root)
    table = read_models_table(fetch(MODELS_FILE), where=where)
    return PredictionsRepo(location=where, table=table, models=_select(table, selector, where), fetch=fetch)


def read_each(source: str | os.PathLike):
    """Yield the predictions of ``source``: one prediction file, or each model asked for in a repository."""
    from imagenet_x_hf.metrics import read_predictions

    if not is_predictions_source(source):
        yield read_predictions(source)
        return
    repo = open_predictions(source)
    for model in repo.models:
        yield repo.read(model)
