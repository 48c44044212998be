"""The output directory of a run: a manifest, prediction shards, final files; all writes atomic.

Rows ``[0, N)`` of the dataset are cut into shards of ``shard_size`` rows. A shard is
written once, complete, by the process that predicted it (temporary file, fsync,
``os.replace``), so after a crash every shard on disk is whole and a restarted run
predicts only the missing ones. ``run.json`` holds the fingerprint of everything
that decides the predictions (settings, the model's file contents, the label map,
the images' names); a restart with anything changed is refused. ``image_sha256.npy``
holds each image's content digest: a restart deletes the shards of images whose
content changed, so they are predicted again. ``invocations.json`` records each
invocation's time, so the timing of a resumed run covers all of them. With
``--overwrite`` an earlier run is set aside (``.earlier-run/``) until the new one has a
shard, and put back if it fails before.

>>> import tempfile, numpy as np
>>> store = RunStore(tempfile.mkdtemp(), num_rows=5, shard_size=2)
>>> store.num_shards, store.shard_range(2)
(3, (4, 5))
>>> store.write_shard(2, rows=np.array([4]), predicted_class=np.array([7]),
...     predicted_probability=np.array([0.5]), top5_classes=np.zeros((1, 5)), top5_probabilities=np.zeros((1, 5)))
>>> store.done_shards()
{2}
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imagenet_x_hf.errors import ImageNetXError, RunStateError
from imagenet_x_hf.fingerprint import fingerprint
from imagenet_x_hf.runner.faults import crash_point

MANIFEST = "run.json"
INVOCATIONS = "invocations.json"
IMAGE_DIGESTS = "image_sha256.npy"
SHARDS = "shards"
ASIDE = ".earlier-run"
CHANGED_NAMES_RECORDED = 20
FINAL_FILES = ("predictions.parquet", "predictions.csv", "results.json")
TOP_K = 5

logger = logging.getLogger(__name__)

SHARD_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("predicted_class", pa.int32()),
        ("predicted_probability", pa.float32()),
        ("top5_classes", pa.list_(pa.int32(), TOP_K)),
        ("top5_probabilities", pa.list_(pa.float32(), TOP_K)),
    ]
)


def check_output_folder(output: str | os.PathLike) -> Path:
    """The output folder, or a ``RunStateError`` saying why none can be made there."""
    if not isinstance(output, (str, os.PathLike)):
        raise RunStateError(f"output must be a folder path, not {output!r}")
    if not os.fspath(output).strip():
        raise RunStateError("--output is empty: name the run's folder (e.g. --output runs/my-model)")
    path = Path(output)
    if path.exists() and not path.is_dir():
        raise RunStateError(f"--output {output} is a file, not a folder; choose a folder path")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise RunStateError(
                    f"--output {output} cannot be made: {parent} is a file; choose a folder path"
                )
            break
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode())


class RunStore:
    """Shards and manifest under one output directory (see module doc)."""

    def __init__(self, output: str | os.PathLike, *, num_rows: int, shard_size: int):
        if shard_size < 1:
            raise ImageNetXError(f"shard_size must be positive, not {shard_size}")
        self.output = Path(output)
        self.num_rows = num_rows
        self.shard_size = shard_size

    @property
    def shards_dir(self) -> Path:
        return self.output / SHARDS

    @property
    def num_shards(self) -> int:
        return -(-self.num_rows // self.shard_size)

    def shard_range(self, k: int) -> tuple[int, int]:
        return k * self.shard_size, min((k + 1) * self.shard_size, self.num_rows)

    def shard_path(self, k: int) -> Path:
        return self.shards_dir / f"shard-{k:06d}-of-{self.num_shards:06d}.parquet"

    def done_shards(self) -> set[int]:
        return {k for k in range(self.num_shards) if self.shard_path(k).is_file()}

    # -- setting up ---------------------------------------------------------------------------

    def prepare(
        self, settings: dict[str, Any], *, digests: np.ndarray, names: Sequence[str], overwrite: bool
    ) -> dict[str, Any]:
        """Main process: start, resume or (with ``overwrite``) restart the run.

        ``digests`` are the images' content digests in row order (``runner.content``); on a
        resume, the shards holding an image whose content changed are deleted, so they are
        predicted again. With ``overwrite``, an earlier run is moved aside, not deleted:
        ``settle`` removes it once the new run has a shard, or puts it back if the new run
        fails before that. Returns what changed: ``{"count": n, "first": [names]}``.
        """
        try:
            self.output.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunStateError(f"cannot create the output folder {self.output}: {err.strerror}") from None
        self._recover_aside()
        if overwrite:
            self._move_aside()
        manifest = {
            "fingerprint": fingerprint(settings),
            "num_rows": self.num_rows,
            "shard_size": self.shard_size,
            "settings": settings,
        }
        old = self._manifest()
        if old is None:
            self._refuse_unknown_files()
        elif old.get("fingerprint") != manifest["fingerprint"]:
            if self.done_shards():
                changed = _changed_keys(old.get("settings", {}), settings)
                raise RunStateError(
                    f"{self.output} holds a run of something else (changed since: "
                    f"{', '.join(changed[:6]) or 'unknown'}{', ...' if len(changed) > 6 else ''}); "
                    "its predictions cannot be mixed with this run's. Pass --overwrite to start over, "
                    "or choose another --output."
                )
            # an earlier attempt that predicted nothing (it failed loading the weights, say)
            self._clear(invocations=True)
        self.shards_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.shards_dir.glob(".*.tmp-*"):
            stale.unlink(missing_ok=True)  # a crashed writer's half-written file
        changed = self._drop_changed_images(digests, names)
        atomic_write_json(self.output / MANIFEST, manifest)
        return changed

    def _manifest(self) -> dict[str, Any] | None:
        path = self.output / MANIFEST
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise RunStateError(
                f"{path} is damaged ({type(err).__name__}); pass --overwrite to start over"
            ) from None
        if not isinstance(data, dict):
            raise RunStateError(f"{path} is not a run manifest; pass --overwrite to start over")
        return data

    def _refuse_unknown_files(self) -> None:
        """A folder without a manifest but with results or shards: another program's, or an
        earlier release's finished run. Never overwritten without ``--overwrite``."""
        found = [name for name in (*FINAL_FILES, INVOCATIONS) if (self.output / name).exists()]
        if self.shards_dir.exists() and any(self.shards_dir.iterdir()):
            found.append(SHARDS + "/")
        if found:
            raise RunStateError(
                f"{self.output} already holds {', '.join(found)} but no {MANIFEST} (an earlier release's "
                "run, or another program's files); pass --overwrite to replace them, or choose another --output"
            )

    # -- replacing an earlier run safely --------------------------------------------------------

    @property
    def aside_dir(self) -> Path:
        return self.output / ASIDE

    def _owned(self) -> list[Path]:
        names = (MANIFEST, INVOCATIONS, IMAGE_DIGESTS, SHARDS, *FINAL_FILES)
        return [self.output / n for n in names if (self.output / n).exists()]

    def _move_aside(self) -> None:
        owned = self._owned()
        if not owned:
            return
        shutil.rmtree(self.aside_dir, ignore_errors=True)
        self.aside_dir.mkdir()
        for path in owned:
            os.replace(path, self.aside_dir / path.name)

    def _recover_aside(self) -> None:
        """An earlier run set aside by an overwrite that was killed: back if the new run has no shard."""
        if not self.aside_dir.is_dir():
            return
        if self.done_shards():
            shutil.rmtree(self.aside_dir, ignore_errors=True)
        else:
            self._restore()

    def _restore(self) -> None:
        self._clear(invocations=True)
        for path in self.aside_dir.iterdir():
            os.replace(path, self.output / path.name)
        self.aside_dir.rmdir()

    def settle(self, *, failed: bool) -> None:
        """Main process, after the run (``failed``: it raised): drop the run set aside by
        ``--overwrite`` once this one has a shard; put it back when this one failed without any."""
        if not self.aside_dir.is_dir():
            return
        if failed and not self.done_shards():
            self._restore()
        elif self.done_shards() or not failed:
            shutil.rmtree(self.aside_dir, ignore_errors=True)

    def _clear(self, *, invocations: bool) -> None:
        shutil.rmtree(self.shards_dir, ignore_errors=True)
        for name in (MANIFEST, IMAGE_DIGESTS, *FINAL_FILES, *((INVOCATIONS,) if invocations else ())):
            (self.output / name).unlink(missing_ok=True)

    # -- the images' content --------------------------------------------------------------------

    def _drop_changed_images(self, digests: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
        """Delete the shards holding an image whose content changed since they were predicted,
        then record the current digests. Returns the changed images (count, first names)."""
        path = self.output / IMAGE_DIGESTS
        done = self.done_shards()
        old = None
        if path.is_file():
            try:
                old = np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                old = None
        if old is not None and old.shape == digests.shape:
            rows = np.flatnonzero((old != digests).any(axis=1))
        else:  # no record of what was predicted: nothing of it can be trusted
            rows = np.arange(self.num_rows) if done else np.arange(0)
        stale = sorted({int(r) // self.shard_size for r in rows} & done)
        for k in stale:
            self.shard_path(k).unlink()
        if stale:
            (self.output / FINAL_FILES[-1]).unlink(missing_ok=True)  # results.json: no longer this run's
        buf = io.BytesIO()
        np.save(buf, digests, allow_pickle=False)
        atomic_write_bytes(path, buf.getvalue())
        changed = [names[int(r)] for r in rows[:CHANGED_NAMES_RECORDED]] if done else []
        return {"count": int(rows.size) if done else 0, "first": changed}

    # -- timing across invocations --------------------------------------------------------------

    def rows_done(self) -> int:
        return sum(self.shard_range(k)[1] - self.shard_range(k)[0] for k in self.done_shards())

    def invocations(self) -> list[dict[str, Any]]:
        path = self.output / INVOCATIONS
        try:
            records = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
        except (OSError, ValueError):
            records = None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            # the books of earlier invocations are damaged: only their timing is lost
            logger.warning("%s is damaged; the timing of earlier invocations is not counted", path)
            return []
        return records

    def start_invocation(self, *, num_processes: int) -> None:
        """Main process: close the books of earlier invocations (a killed one's rows are known
        from the shards it left) and open this one's."""
        done = self.rows_done()
        records = self.invocations()
        if records and records[-1].get("rows_done_at_end") is None:
            records[-1]["rows_done_at_end"] = done
        records.append(
            {
                "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "num_processes": num_processes,
                "rows_done_at_start": done,
                "rows_done_at_end": None,
                "predict_seconds": 0.0,
                "total_seconds": 0.0,
            }
        )
        atomic_write_json(self.output / INVOCATIONS, records)

    def update_invocation(self, *, predict_seconds: float, total_seconds: float, final: bool = False) -> None:
        """Main process: this invocation's time so far (after each shard, so a kill loses little)."""
        records = self.invocations()
        if not records:
            return
        records[-1]["predict_seconds"] = round(predict_seconds, 3)
        records[-1]["total_seconds"] = round(total_seconds, 3)
        if final:
            records[-1]["rows_done_at_end"] = self.rows_done()
        atomic_write_json(self.output / INVOCATIONS, records)

    def check_manifest(self, settings: dict[str, Any]) -> None:
        """Every process: the manifest on disk is this run's (catches unshared output dirs too)."""
        path = self.output / MANIFEST
        if not path.is_file():
            raise RunStateError(
                f"{path} is missing on this process; with several nodes, --output must be on a "
                "filesystem every node sees"
            )
        if json.loads(path.read_text(encoding="utf-8")).get("fingerprint") != fingerprint(settings):
            raise RunStateError(f"{path} belongs to another run; processes disagree on the settings")

    # -- shards -------------------------------------------------------------------------------

    def write_shard(
        self,
        k: int,
        *,
        rows: np.ndarray,
        predicted_class: np.ndarray,
        predicted_probability: np.ndarray,
        top5_classes: np.ndarray,
        top5_probabilities: np.ndarray,
    ) -> None:
        """Write shard ``k`` atomically after checking it holds each of its rows exactly once, in order."""
        start, stop = self.shard_range(k)
        rows = np.asarray(rows, dtype=np.int64)
        if not np.array_equal(rows, np.arange(start, stop)):
            raise RunStateError(
                f"shard {k} should hold rows {start}..{stop - 1} once each, in order; it got {rows.size} rows"
            )
        table = pa.table(
            {
                "row": rows,
                "predicted_class": np.asarray(predicted_class, dtype=np.int32),
                "predicted_probability": np.asarray(predicted_probability, dtype=np.float32),
                "top5_classes": _fixed_list(np.asarray(top5_classes, dtype=np.int32)),
                "top5_probabilities": _fixed_list(np.asarray(top5_probabilities, dtype=np.float32)),
            },
            schema=SHARD_SCHEMA,
        )
        path = self.shard_path(k)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with open(tmp, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
        crash_point("shard-tmp-written")
        os.replace(tmp, path)
        crash_point("shard-written")

    def read_predictions(self) -> pa.Table:
        """All shards as one table ordered by row; checks that every row appears exactly once."""
        missing = [k for k in range(self.num_shards) if not self.shard_path(k).is_file()]
        if missing:
            raise RunStateError(
                f"{len(missing)} of {self.num_shards} prediction shards are missing under {self.shards_dir} "
                f"(first: {missing[0]}); run the same command again to predict them"
            )
        parts = []
        for k in range(self.num_shards):
            try:
                parts.append(pq.read_table(self.shard_path(k), schema=SHARD_SCHEMA))
            except Exception as err:
                raise RunStateError(
                    f"cannot read {self.shard_path(k)} ({err}); delete it and run again to redo it"
                ) from err
        table = pa.concat_tables(parts) if parts else SHARD_SCHEMA.empty_table()
        rows = table.column("row").to_numpy()
        if not np.array_equal(rows, np.arange(self.num_rows)):
            raise RunStateError(
                f"the shards hold {rows.size} predictions for {self.num_rows} rows, not each row exactly once; "
                "pass --overwrite to start over"
            )
        return table


def _fixed_list(values: np.ndarray) -> pa.FixedSizeListArray:
    flat = pa.array(values.reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, TOP_K)


def _changed_keys(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += _changed_keys(a, b, f"{prefix}{key}.")
        elif json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str):
            keys.append(prefix + key)
    return keys
