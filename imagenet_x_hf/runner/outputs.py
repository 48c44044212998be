"""The files a finished run leaves: predictions.parquet, predictions.csv, results.json.

``predictions.csv`` is the authors' format (``file_name,predicted_class,
predicted_probability``), so their toolkit and ``imagenet-x score`` read it;
``predictions.parquet`` adds the top-5 classes and probabilities; ``results.json``
is ``Results.to_dict()`` (``imagenet_x_hf.results``) of ``score_predictions``, with
the run's settings, what they resolved to and its fingerprint under ``"run"`` (its
``timing`` adds up every invocation of a resumed run), and the model's place among the
authors' released models under ``"zoo"`` (:func:`imagenet_x_hf.zoo.zoo_block`).
``results.json`` is written last: its presence means the run is complete.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from imagenet_x_hf.results import RunRecord
from imagenet_x_hf.runner.faults import crash_point
from imagenet_x_hf.runner.store import RunStore, atomic_write_bytes, atomic_write_json
from imagenet_x_hf.settings import ScoringOptions


def predictions_table(store: RunStore, file_names: Sequence[str]) -> pa.Table:
    """All shards joined to their file names, in dataset row order."""
    shards = store.read_predictions()
    return pa.table(
        {
            "file_name": pa.array(list(file_names), pa.string()),
            "predicted_class": shards.column("predicted_class"),
            "predicted_probability": shards.column("predicted_probability"),
            "top5_classes": shards.column("top5_classes"),
            "top5_probabilities": shards.column("top5_probabilities"),
        }
    )


def authors_csv(table: pa.Table) -> bytes:
    """The authors' CSV: three columns, probabilities as float64 text, no quoting."""
    slim = pa.table(
        {
            "file_name": table.column("file_name"),
            "predicted_class": table.column("predicted_class").cast(pa.int64()),
            "predicted_probability": table.column("predicted_probability").cast(pa.float64()),
        }
    )
    buf = io.BytesIO()
    buf.write(b"file_name,predicted_class,predicted_probability\n")
    pacsv.write_csv(slim, buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return buf.getvalue()


def write_outputs(
    output: Path,
    table: pa.Table,
    *,
    model_name: str,
    run_info: dict[str, Any],
    scoring: ScoringOptions | None = None,
) -> dict[str, Any]:
    """Write the three files (each atomically) and return what results.json holds.

    ``scoring`` says how results.json scores the predictions (stored once, at the top level).
    """
    from imagenet_x_hf.metrics import Predictions, score_predictions

    buf = io.BytesIO()
    pq.write_table(table, buf)
    atomic_write_bytes(output / "predictions.parquet", buf.getvalue())
    atomic_write_bytes(output / "predictions.csv", authors_csv(table))
    crash_point("outputs-written")
    predictions = Predictions.from_arrays(
        table.column("file_name").to_numpy(zero_copy_only=False),
        table.column("predicted_class").to_numpy(),
        table.column("predicted_probability").to_numpy().astype("float64"),
        name=model_name,
        source=str(output / "predictions.parquet"),
    )
    results = score_predictions(predictions, scoring)
    results = results.replace(run=RunRecord.from_dict(run_info, scoring=results.scoring))
    from imagenet_x_hf.zoo import zoo_block

    # Where the model stands among the authors' zoo; a note instead when the tables cannot be had.
    data = results.replace(zoo=zoo_block(results)).to_dict()
    atomic_write_json(output / "results.json", data)
    return json.loads(json.dumps(data))  # exactly what the file holds (tuples become lists)
