"""Export per-image predictions of many models as one dataset repository (see :mod:`.layout`).

Inputs are run directories of ``imagenet-x evaluate`` (``results.json`` beside
``predictions.parquet``, whose top-5 travel along), prediction files (the authors'
CSV format or Parquet, top-1; a Parquet ``logits`` column of 1000 values per image is
exported with ``logits=True``) or ``Predictions`` records. Exporting into a folder that
already holds a repository replaces the configurations of the models exported again
and keeps the others. Every file is written atomically, predictions first, the models
table and the card last, so an interrupted export leaves the earlier repository readable.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imagenet_x_hf.share.layout import (
    AUTHORS_LICENSE,
    AUTHORS_LICENSE_FILE,
    MODELS_FILE,
    MODELS_SCHEMA,
    NUM_LOGITS,
    README,
    TOP_K,
    PredictionsRepoError,
    config_name,
    predictions_file,
)

# Parquet compression of the exported files: zstd makes a 50,000-image top-1 file about 23% smaller
# than snappy (0.71 against 0.91 MB for the authors' ViT predictions)
# and every Parquet reader the Hub's viewer and datasets use reads it.
COMPRESSION = "zstd"


@dataclass(frozen=True)
class ExportedModel:
    """One model written by an export."""

    config: str
    model: str
    file: str
    images: int
    has_top5: bool
    has_logits: bool
    replaced: bool
    license: str | None


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the folder, the models exported now, and every model it holds."""

    directory: Path
    exported: list[ExportedModel]
    models: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "exported": [vars(m) for m in self.exported],
            "models": self.models,
        }


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression=COMPRESSION)
    return buf.getvalue()


def file_names_sha256(names: pa.ChunkedArray | pa.Array) -> str:
    """The sha256 of a file-name column (the names joined by newlines): equal lists, equal hashes.

    >>> file_names_sha256(pa.array(["a.JPEG", "b.JPEG"]))[:12]
    '002e6e64849d'
    """
    return hashlib.sha256("\n".join(names.to_pylist()).encode("utf-8")).hexdigest()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def _authors_name(path: Path) -> str | None:
    """The example's name when ``path`` is byte for byte one of the authors' four released files."""
    from imagenet_x_hf.zoo.files import EXAMPLE_MODELS, example_relative_path, sha256_of
    from imagenet_x_hf.zoo.hashes import SHA256

    if path.suffix.lower() != ".csv" or path.stem not in EXAMPLE_MODELS:
        return None
    return path.stem if sha256_of(path) == SHA256[example_relative_path(path.stem)] else None


def _fixed_list(
    column: pa.ChunkedArray | pa.Array, width: int, value_type: pa.DataType, *, what: str, source: str
):
    """A list column as a fixed-size list of ``width`` values of ``value_type``, or an error."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if column.null_count:
        raise PredictionsRepoError(f"{source}: {what} has empty cells; fill every row or drop the column")
    if pa.types.is_fixed_size_list(column.type):
        size = column.type.list_size
        values = column.flatten()
    elif pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        lengths = np.unique(column.value_lengths().to_numpy())
        size = int(lengths[0]) if len(lengths) == 1 else -1
        values = column.flatten()
    else:
        raise PredictionsRepoError(f"{source}: {what} has type {column.type}, not a list per image")
    if size != width:
        raise PredictionsRepoError(f"{source}: {what} must hold {width} values per image (found {size})")
    return pa.FixedSizeListArray.from_arrays(values.cast(value_type), width)


def _source_table(path: Path) -> pa.Table:
    if path.suffix.lower() == ".parquet":
        return pq.read_table(path)
    import pyarrow.csv as pcsv

    return pcsv.read_csv(
        path,
        convert_options=pcsv.ConvertOptions(
            column_types={"file_name": pa.string(), "predicted_probability": pa.float64()}
        ),
    )


def _model_table(predictions, source_table: pa.Table | None, *, logits: bool, source: str) -> pa.Table:
    """The exported table of one model: checked top-1 from ``predictions``, top-5 and logits from the source."""
    columns: dict[str, pa.Array] = {
        "file_name": pa.array(predictions.file_names, pa.string()),
        "predicted_class": pa.array(predictions.predicted_class.astype(np.int16)),
    }
    if predictions.predicted_probability is not None:
        # the source's own precision: scores from the export equal those from the source exactly
        kind = pa.float64()
        if source_table is not None and "predicted_probability" in source_table.column_names:
            kind = source_table.schema.field("predicted_probability").type
            kind = kind if kind in (pa.float32(), pa.float64()) else pa.float64()
        columns["predicted_probability"] = pa.array(predictions.predicted_probability).cast(kind)
    names = source_table.column_names if source_table is not None else []
    if "top5_classes" in names and "top5_probabilities" in names:
        classes = _fixed_list(
            source_table["top5_classes"], TOP_K, pa.int16(), what="top5_classes", source=source
        )
        probs = _fixed_list(
            source_table["top5_probabilities"], TOP_K, pa.float32(), what="top5_probabilities", source=source
        )
        flat = classes.flatten().to_numpy()
        if len(flat) and (flat.min() < 0 or flat.max() >= NUM_LOGITS):
            raise PredictionsRepoError(
                f"{source}: top5_classes holds ids outside 0-999; write ImageNet class ids"
            )
        p = probs.flatten().to_numpy()
        if len(p) and not (np.isfinite(p).all() and p.min() >= 0 and p.max() <= 1):
            raise PredictionsRepoError(
                f"{source}: top5_probabilities holds values outside [0, 1]; write softmax probabilities"
            )
        columns["top5_classes"] = classes
        columns["top5_probabilities"] = probs
    if logits:
        if "logits" not in names:
            raise PredictionsRepoError(
                f"{source} has no logits column; --logits needs a Parquet file with a 'logits' column of "
                f"{NUM_LOGITS} values per image (drop --logits to export top-5 and top-1 only)"
            )
        columns["logits"] = _fixed_list(
            source_table["logits"], NUM_LOGITS, pa.float16(), what="logits", source=source
        )
    table = pa.table(columns)
    if table.num_rows != len(predictions):
        raise PredictionsRepoError(
            f"{source}: {table.num_rows} rows written for {len(predictions)} predictions"
        )
    return table


@dataclass
class _Entry:
    table: pa.Table
    row: dict[str, Any]
    predictions: Any


def _accuracy(predictions, split: str | None) -> tuple[str, float | None, str | None]:
    """(split, top-1 accuracy under the toolkit's default settings, those settings), for the models table."""
    from imagenet_x_hf.metrics import score_predictions
    from imagenet_x_hf.settings import ScoringOptions

    split = split or ("validation" if predictions.val_numbers is not None else "train")
    options = ScoringOptions(split=split)
    try:
        out = score_predictions(predictions, options, breakdowns=False)
    except (ValueError, LookupError):
        return split, None, None
    return split, out.accuracy, _json(options.to_dict())


def _zoo_model_type(name: str) -> str | None:
    """The authors' model type for ``name`` when their tables are at hand (a local copy or the cache)."""
    from imagenet_x_hf.zoo.files import MODEL_TYPES_FILE, ZooError, resolve_source
    from imagenet_x_hf.zoo.table import parse_model_types

    try:
        source = resolve_source()
        path = (source.local_dir or source.cache_dir) / MODEL_TYPES_FILE
        if not path.is_file():
            return None
        return parse_model_types(path.read_text(encoding="utf-8")).get(name)
    except (ZooError, OSError, SyntaxError):
        return None


def _entry_from_path(path: Path, *, name: str | None, logits: bool) -> _Entry:
    from imagenet_x_hf.metrics import read_predictions
    from imagenet_x_hf.reports.inputs import PREDICTION_FILES, read_run
    from imagenet_x_hf.results import RunRecord

    run = results = None
    if path.is_dir():
        model = read_run(path)
        results, run = model.results, model.run or RunRecord()
        found = [path / f for f in PREDICTION_FILES if (path / f).is_file()]
        if not found:
            raise PredictionsRepoError(
                f"run directory {str(path)!r} has results.json but no {' or '.join(PREDICTION_FILES)}; "
                "export needs the per-image predictions: rerun 'imagenet-x evaluate'"
            )
        file = found[0]
        display = name or model.name
    elif path.is_file():
        file, display = path, name or path.stem
    else:
        raise PredictionsRepoError(
            f"{str(path)!r} does not exist; pass run directories of 'imagenet-x evaluate' or prediction files "
            "(.csv in the authors' format, .parquet)"
        )
    predictions = read_predictions(file, name=display)
    table = _model_table(predictions, _source_table(file), logits=logits, source=str(file))
    authors = _authors_name(file) if run is None else None
    row: dict[str, Any] = {
        "model": display,
        "source_kind": "run" if run is not None else ("authors" if authors else "predictions"),
        "license": AUTHORS_LICENSE if authors else None,
    }
    split = None
    if run is not None:
        # the run's whole settings, scoring included (results.json holds the scoring ones once)
        options = {**run.options, "scoring": results.scoring.to_dict()}
        split = results.scoring.split
        row.update(
            revision=run.get("revision"),
            commit=run.get("commit"),
            fingerprint=run.get("fingerprint"),
            options_json=_json(options),
            load_report_json=_json(run.get("load_report")),
            source_identity_json=_json(run.get("source") or run.get("source_identity") or run.get("dataset")),
        )
    row["split"] = split
    return _Entry(table=table, row=row, predictions=predictions)


def _entry(item: Any, *, name: str | None, logits: bool) -> _Entry:
    from imagenet_x_hf.metrics import Predictions

    if isinstance(item, Predictions):
        display = name or item.name
        if not display:
            raise PredictionsRepoError(
                "a Predictions record without a name; pass name= or build it with name="
            )
        return _Entry(
            table=_model_table(item, None, logits=False, source=display),
            row={"model": display, "source_kind": "predictions", "license": None, "split": None},
            predictions=item,
        )
    return _entry_from_path(Path(item), name=name, logits=logits)


def _existing(directory: Path) -> pa.Table | None:
    from imagenet_x_hf.share.read import read_models_table

    if directory.exists() and not directory.is_dir():
        raise PredictionsRepoError(
            f"{str(directory)!r} is a file; pass the folder to write the repository into"
        )
    if (directory / MODELS_FILE).is_file():
        return read_models_table(directory / MODELS_FILE, where=str(directory))
    if directory.is_dir() and any(directory.iterdir()):
        raise PredictionsRepoError(
            f"{str(directory)!r} is not empty and holds no {MODELS_FILE}: it is not a predictions repository; "
            "pass an empty or new folder (or an earlier export to add models to it)"
        )
    return None


def models_table(rows: list[dict[str, Any]]) -> pa.Table:
    """The models table of ``rows`` (sorted by configuration), with the package's schema."""
    rows = sorted(rows, key=lambda r: r["config"])
    return pa.Table.from_pylist(
        [{k: r.get(k) for k in MODELS_SCHEMA.names} for r in rows], schema=MODELS_SCHEMA
    )


def export_predictions(
    inputs: list[Any],
    directory: str | os.PathLike,
    *,
    names: list[str | None] | None = None,
    logits: bool = False,
    model_type: str | None = None,
    family: str | None = None,
    license: str | None = None,
    repo_id: str | None = None,
) -> ExportResult:
    """Write (or update) the predictions repository in ``directory`` with the models of ``inputs``.

    ``names`` overrides the model names one for one; ``model_type``, ``family`` and
    ``license`` are recorded for every model of this call (the authors' files keep their
    CC BY-NC 4.0 whatever ``license`` says); ``repo_id`` goes into the card's examples.

    >>> import tempfile
    >>> from imagenet_x_hf.metrics import Predictions
    >>> toy = Predictions.from_arrays(["ILSVRC2012_val_00000001.JPEG"], [65], [0.9], name="org/toy")
    >>> out = export_predictions([toy], tempfile.mkdtemp())
    >>> out.models, out.exported[0].file
    (['org--toy'], 'predictions/org--toy.parquet')
    """
    from imagenet_x_hf.share.card import dataset_card

    directory = Path(directory)
    if not inputs:
        raise PredictionsRepoError("nothing to export; pass run directories or prediction files")
    names = list(names) if names is not None else [None] * len(inputs)
    if len(names) != len(inputs):
        raise PredictionsRepoError(f"{len(names)} names for {len(inputs)} inputs; give one name per input")
    existing = _existing(directory)
    entries = [_entry(item, name=n, logits=logits) for item, n in zip(inputs, names)]
    seen: dict[str, str] = {}
    for entry in entries:
        entry.row["config"] = config_name(entry.row["model"])
        if entry.row["config"] in seen:
            raise PredictionsRepoError(
                f"two inputs would both be exported as {entry.row['config']!r} ({seen[entry.row['config']]!r} "
                f"and {entry.row['model']!r}); give them distinct names (--name)"
            )
        seen[entry.row["config"]] = entry.row["model"]
    old = {r["config"]: r for r in (existing.to_pylist() if existing is not None else [])}
    for entry in entries:
        if entry.row["config"] in old and old[entry.row["config"]]["model"] != entry.row["model"]:
            raise PredictionsRepoError(
                f"{str(directory)!r} already holds {old[entry.row['config']]['model']!r} as "
                f"{entry.row['config']!r}; {entry.row['model']!r} would replace it: give it another name (--name)"
            )
    exported = []
    authors_included = False
    for entry in entries:
        row, table = entry.row, entry.table
        data = parquet_bytes(table)
        split, accuracy, settings = _accuracy(entry.predictions, row.get("split"))
        row.update(
            split=split,
            file=predictions_file(row["config"]),
            images=table.num_rows,
            accuracy=accuracy,
            accuracy_settings=settings,
            has_top5="top5_classes" in table.column_names,
            has_logits="logits" in table.column_names,
            probability_type=str(table.schema.field("predicted_probability").type)
            if "predicted_probability" in table.column_names
            else None,
            model_type=model_type or row.get("model_type") or _zoo_model_type(row["model"]),
            family=family,
            sha256=hashlib.sha256(data).hexdigest(),
            file_names_sha256=file_names_sha256(table.column("file_name")),
        )
        if row["source_kind"] == "authors":
            authors_included = True
        else:
            row["license"] = license or row.get("license")
        _atomic_write(directory / row["file"], data)
        exported.append(
            ExportedModel(
                config=row["config"],
                model=row["model"],
                file=row["file"],
                images=row["images"],
                has_top5=row["has_top5"],
                has_logits=row["has_logits"],
                replaced=row["config"] in old,
                license=row["license"],
            )
        )
        old[row["config"]] = row
    table = models_table(list(old.values()))
    if authors_included or AUTHORS_LICENSE in table.column("license").to_pylist():
        _atomic_write(directory / AUTHORS_LICENSE_FILE, authors_license_text().encode("utf-8"))
    _atomic_write(directory / MODELS_FILE, parquet_bytes(table))
    _atomic_write(directory / README, dataset_card(table, repo_id=repo_id).encode("utf-8"))
    return ExportResult(directory=directory, exported=exported, models=table.column("config").to_pylist())


def authors_license_text() -> str:
    """The notice that travels with the authors' prediction files, with their LICENSE text when at hand."""
    from imagenet_x_hf.zoo.files import COMMIT, LICENSE_FILE, REPOSITORY, ZooError, resolve_source

    head = (
        "The prediction files of the models DINO, ResNet50, SimCLR and ViT in this repository are the\n"
        "ImageNet-X authors' release (Idrissi et al., ICLR 2023), from "
        f"https://github.com/{REPOSITORY}\n"
        f"at commit {COMMIT}, licensed under CC BY-NC 4.0\n"
        "(https://creativecommons.org/licenses/by-nc/4.0/). Their LICENSE file follows when it was at hand.\n"
    )
    try:
        source = resolve_source()
        path = (source.local_dir or source.cache_dir) / LICENSE_FILE
        if path.is_file():
            return head + "\n" + path.read_text(encoding="utf-8")
    except (ZooError, OSError):
        pass
    return head
