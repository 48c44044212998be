"""The authors' per-factor tables as one typed table: model, group, type, sweep settings, ratios.

Each of the authors' ``accuracies_per_factor.csv`` files holds, per model, the accuracy
on each factor's images and the overall accuracy (``average``); the error ratio of a
factor is ``(1 - factor accuracy) / (1 - overall accuracy)``. ``load_zoo()`` reads the
tables of one which_factor x error_type on first use (8 groups), keeps them as numpy
arrays for fast ranking, and ``Zoo.table()`` gives them as one pyarrow table.

Model types come from the authors' ``imagenet_x/model_types.py``, read as text with
three patterns (never imported or executed). Sweep settings are parsed from the ResNet-50
sweep names, e.g. ``eval_resnet50_crop8.0_wd1e-05_color100.0_smoothing0.0_id1662471601``;
as in the authors' plots, crop strength is ``100 - crop`` (``crop`` is the smallest
random-crop area in percent), colour-jitter strength is ``color`` and blur strength is
``smoothing``.

>>> settings_from_name("eval_resnet50_crop8.0_wd1e-05_color100.0_smoothing3.0_id1662471601")["crop_strength"]
92.0
>>> settings_from_name("vit_base_patch16_224")["crop_strength"] is None
True
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.zoo.files import (
    ERROR_TYPE_FOLDERS,
    GROUPS,
    MODEL_TYPES_FILE,
    WHICH_FACTOR_FOLDERS,
    ZooError,
    ZooSource,
    derived_path,
    fetch,
    load_derived,
    relative_path,
    resolve_source,
    save_derived,
    table_files,
)

HUMAN = "human"
SETTINGS = ("crop", "crop_strength", "color_strength", "blur_strength", "weight_decay", "run_id")
_NUMBER = r"([0-9]+(?:\.[0-9]*)?(?:e-?[0-9]+)?)"
_SETTING_PATTERNS = {
    "crop": re.compile(rf"_crop{_NUMBER}(?=_|$)"),
    "weight_decay": re.compile(rf"_wd{_NUMBER}(?=_|$)"),
    "color_strength": re.compile(rf"_color{_NUMBER}(?=_|$)"),
    "blur_strength": re.compile(rf"_smoothing{_NUMBER}(?=_|$)"),
    "run_id": re.compile(r"_id([0-9]+)$"),
}
_SWEEP_PREFIX = "eval_resnet50_"
_TABLE_COLUMNS = ("model", *FACTORS, "average")


def settings_from_name(name: str) -> dict[str, float | int | None]:
    """The training settings a ResNet-50 sweep model's name encodes (None where absent)."""
    out: dict[str, float | int | None] = dict.fromkeys(SETTINGS)
    if not name.startswith(_SWEEP_PREFIX):
        return out
    for key, pattern in _SETTING_PATTERNS.items():
        m = pattern.search(name)
        if m:
            out[key] = int(m.group(1)) if key == "run_id" else float(m.group(1))
    if out["crop"] is not None:
        out["crop_strength"] = 100.0 - out["crop"]
    return out


_TYPE_LABEL = re.compile(r"^    ([A-Z][A-Z0-9_]*) = '([^'\n]*)'$", re.M)
_TYPE_ENTRY = re.compile(r"""^(['"])([^'"\n]+)\1: ModelTypes\.([A-Z][A-Z0-9_]*),\s*$""", re.M)
_TYPE_LOOP = re.compile(
    r"""^for i in range\(([0-9]+)\):\n    model_types_map\[f"([^"{}\n]*)\{i\}([^"{}\n]*)"\] = +ModelTypes\.([A-Z][A-Z0-9_]*)[ \t]*$""",
    re.M,
)


def parse_model_types(source: str, *, filename: str = MODEL_TYPES_FILE) -> dict[str, str]:
    """Model name -> model type label from the text of the authors' ``model_types.py``.

    The file (pinned by its sha256) is read as text, never imported or executed: the
    ``ModelTypes`` labels, the ``'name': ModelTypes.X,`` lines of ``model_types_map``
    and the ``for i in range(N)`` loops that add numbered checkpoints. Every
    ``ModelTypes.X`` use must be one of those, so nothing is skipped silently.

    >>> text = (
    ...     "class ModelTypes(Enum):\\n    STANDARD = 'Supervised on ImageNet-1K'\\n"
    ...     "model_types_map = {\\n'alexnet': ModelTypes.STANDARD,\\n}\\n"
    ...     'for i in range(2):\\n    model_types_map[f"r18_{i}_epochs"] =  ModelTypes.STANDARD\\n'
    ... )
    >>> parse_model_types(text)
    {'alexnet': 'Supervised on ImageNet-1K', 'r18_0_epochs': 'Supervised on ImageNet-1K', 'r18_1_epochs': 'Supervised on ImageNet-1K'}
    """
    labels = dict(_TYPE_LABEL.findall(source))
    entries = _TYPE_ENTRY.findall(source)
    loops = _TYPE_LOOP.findall(source)
    mapping = {name: member for _, name, member in entries}
    for count, before, after, member in loops:
        mapping.update({f"{before}{i}{after}": member for i in range(int(count))})
    unknown = sorted({m for m in mapping.values() if m not in labels})
    if source.count("ModelTypes.") != len(entries) + len(loops) or unknown or not mapping:
        raise ZooError(
            f"{filename} is not in the form of the authors' pinned file ({len(entries)} entries and "
            f"{len(loops)} loops read of {source.count('ModelTypes.')} type uses"
            f"{f'; unknown types {unknown}' if unknown else ''}); replace it with the authors' file"
        )
    return {name: labels[member] for name, member in mapping.items()}


@dataclass
class ZooSlice:
    """The zoo for one which_factor x error_type: numpy arrays, one row per table row.

    ``use`` marks the rows that count as zoo models: not the human row of the
    ``real_class`` tables, and each model once (a name in two groups is kept in the
    first group of :data:`GROUPS`).
    """

    which_factor: str
    error_type: str
    model: np.ndarray  # str objects
    group: np.ndarray  # str objects
    model_type: np.ndarray  # str objects or None
    accuracy: np.ndarray  # (n,)
    factor_accuracy: np.ndarray  # (n, 16)
    worst_factor: np.ndarray
    worst_100_classes: np.ndarray
    settings: dict[str, np.ndarray]  # name -> (n,) float, NaN where absent
    use: np.ndarray  # (n,) bool
    files: dict[str, str]
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def error_ratio(self) -> np.ndarray:
        """(n, 16) error ratios; NaN where a model got every image right."""
        if "error_ratio" not in self._cache:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = (1.0 - self.factor_accuracy) / (1.0 - self.accuracy)[:, None]
            ratio[~np.isfinite(ratio)] = np.nan
            self._cache["error_ratio"] = ratio
        return self._cache["error_ratio"]

    def counts(self) -> dict[str, int]:
        """Rows per group, the human row excluded (duplicates counted in each group)."""
        models = self.model != HUMAN
        return {g: int(((self.group == g) & models).sum()) for g in GROUPS}

    def human(self) -> dict | None:
        """The human row of the ``real_class`` tables (accuracy and per-factor accuracy), if any."""
        rows = np.flatnonzero(self.model == HUMAN)
        if len(rows) == 0:
            return None
        r = rows[0]
        return {
            "accuracy": float(self.accuracy[r]),
            "factor_accuracy": {f: float(self.factor_accuracy[r, k]) for k, f in enumerate(FACTORS)},
            "error_ratio": {f: float(self.error_ratio[r, k]) for k, f in enumerate(FACTORS)},
        }

    def row(self, name: str, group: str | None = None) -> int:
        """The row index of a model (in ``group``, or its first group)."""
        hits = np.flatnonzero((self.model == name) & ((self.group == group) if group else True))
        if len(hits) == 0:
            raise ZooError(f"no model {name!r} in the zoo table{f' group {group!r}' if group else ''}")
        return int(hits[0])

    def to_arrow(self) -> pa.Table:
        ratio = self.error_ratio
        columns = {
            "which_factor": pa.array([self.which_factor] * len(self.model), pa.string()),
            "error_type": pa.array([self.error_type] * len(self.model), pa.string()),
            "model": pa.array(self.model.tolist(), pa.string()),
            "group": pa.array(self.group.tolist(), pa.string()),
            "model_type": pa.array(self.model_type.tolist(), pa.string()),
            "is_zoo_model": pa.array(self.use),
        }
        for key in SETTINGS:
            values = self.settings[key]
            mask = np.isnan(values)
            if key == "run_id":
                columns[key] = pa.array(np.nan_to_num(values).astype(np.int64), pa.int64(), mask=mask)
            else:
                columns[key] = pa.array(values, pa.float64(), mask=mask)
        columns["accuracy"] = pa.array(self.accuracy, pa.float64())
        columns["worst_factor"] = pa.array(self.worst_factor, pa.float64())
        columns["worst_100_classes"] = pa.array(self.worst_100_classes, pa.float64())
        for k, f in enumerate(FACTORS):
            columns[f"accuracy_{f}"] = pa.array(self.factor_accuracy[:, k], pa.float64())
        for k, f in enumerate(FACTORS):
            columns[f"error_ratio_{f}"] = pa.array(ratio[:, k], pa.float64(), mask=np.isnan(ratio[:, k]))
        return pa.table(columns)


def _read_table(path: Path, relative: str) -> dict[str, np.ndarray]:
    try:
        table = pacsv.read_csv(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise ZooError(f"cannot read the zoo table {relative}: {err}; replace the file") from err
    missing = [c for c in _TABLE_COLUMNS if c not in table.column_names]
    if missing:
        raise ZooError(
            f"the zoo table {relative} lacks column(s) {missing}; replace it with the authors' file"
        )
    out = {"model": np.asarray(table.column("model").to_pylist(), dtype=object)}
    for name in (*FACTORS, "average", "worst_factor", "worst_100_classes"):
        if name in table.column_names:
            out[name] = table.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False)
        else:
            out[name] = np.full(table.num_rows, np.nan)
    return out


class Zoo:
    """The authors' zoo tables from one source, each which_factor x error_type read on first use."""

    def __init__(self, source: ZooSource):
        self.source = source
        self._slices: dict[tuple[str, str], ZooSlice] = {}
        self._model_types: dict[str, str] | None = None

    def model_types(self) -> dict[str, str]:
        """Model name -> model type label, from the authors' ``model_types.py`` (read as data)."""
        if self._model_types is None:
            path = fetch(MODEL_TYPES_FILE, self.source)
            self._model_types = parse_model_types(path.read_text(encoding="utf-8"), filename=MODEL_TYPES_FILE)
        return self._model_types

    def slice(self, which_factor: str = "top", error_type: str = "class") -> ZooSlice:
        """The zoo for one which_factor ('top', 'multi') x error_type ('class', 'real_class', 'metaclass')."""
        if which_factor not in WHICH_FACTOR_FOLDERS:
            raise ZooError(
                f"unknown which_factor {which_factor!r}; pass one of {tuple(WHICH_FACTOR_FOLDERS)}"
            )
        if error_type not in ERROR_TYPE_FOLDERS:
            raise ZooError(f"unknown error_type {error_type!r}; pass one of {ERROR_TYPE_FOLDERS}")
        key = (which_factor, error_type)
        if key not in self._slices:
            built = self._build(which_factor, error_type)
            built._cache["source"] = self.source  # where derived arrays (the fitted trend) are kept
            self._slices[key] = built
        return self._slices[key]

    def _build(self, which_factor: str, error_type: str) -> ZooSlice:
        paths = table_files(self.source, which_factor, error_type)  # fetched and hash-checked
        fetch(MODEL_TYPES_FILE, self.source)
        derived = derived_path(self.source, f"table-{which_factor}-{error_type}")
        arrays = load_derived(derived)
        if arrays is None:
            arrays = self._parse(paths, which_factor, error_type)
            save_derived(derived, arrays)
        return ZooSlice(
            which_factor=which_factor,
            error_type=error_type,
            model=arrays["model"].astype(object),
            group=arrays["group"].astype(object),
            model_type=np.array([t or None for t in arrays["model_type"].tolist()], dtype=object),
            accuracy=arrays["accuracy"],
            factor_accuracy=arrays["factor_accuracy"],
            worst_factor=arrays["worst_factor"],
            worst_100_classes=arrays["worst_100_classes"],
            settings={k: arrays[f"setting_{k}"] for k in SETTINGS},
            use=arrays["use"],
            files={g: str(p) for g, p in paths.items()},
        )

    def _parse(self, paths: dict[str, Path], which_factor: str, error_type: str) -> dict[str, np.ndarray]:
        """The CSV tables of one which_factor x error_type as plain arrays (no Python objects)."""
        types = self.model_types()
        parts = {g: _read_table(p, relative_path(which_factor, error_type, g)) for g, p in paths.items()}
        model = np.concatenate([parts[g]["model"] for g in GROUPS])
        accuracy = np.concatenate([parts[g]["average"] for g in GROUPS])
        seen: set[str] = set()
        use = np.zeros(len(model), dtype=bool)
        for i, name in enumerate(model):
            if name != HUMAN and name not in seen and math.isfinite(accuracy[i]):
                use[i] = True
                seen.add(name)
        parsed = [settings_from_name(n) for n in model]
        arrays = {
            "model": model.astype(str),
            "group": np.concatenate([np.full(len(parts[g]["model"]), g) for g in GROUPS]).astype(str),
            "model_type": np.array([types.get(n) or "" for n in model], dtype=str),
            "accuracy": accuracy,
            "factor_accuracy": np.stack(
                [np.concatenate([parts[g][f] for g in GROUPS]) for f in FACTORS], axis=1
            ),
            "worst_factor": np.concatenate([parts[g]["worst_factor"] for g in GROUPS]),
            "worst_100_classes": np.concatenate([parts[g]["worst_100_classes"] for g in GROUPS]),
            "use": use,
        }
        for k in SETTINGS:
            arrays[f"setting_{k}"] = np.array(
                [np.nan if p[k] is None else float(p[k]) for p in parsed], dtype=np.float64
            )
        return arrays

    def table(self, which_factor: str | None = None, error_type: str | None = None) -> pa.Table:
        """One pyarrow table of the selected (default: every) which_factor x error_type, long format."""
        whiches = [which_factor] if which_factor else list(WHICH_FACTOR_FOLDERS)
        types = [error_type] if error_type else list(ERROR_TYPE_FOLDERS)
        return pa.concat_tables([self.slice(w, e).to_arrow() for w in whiches for e in types])


@functools.lru_cache(maxsize=8)
def _zoo_for(source: ZooSource) -> Zoo:
    return Zoo(source)


def load_zoo(
    zoo_dir: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    base_url: str | None = None,
) -> Zoo:
    """The authors' zoo (cached per source for the life of the process); tables are read on first use.

    ``zoo_dir`` (or ``$IMAGENET_X_ZOO``) names a local copy; otherwise files come from the
    cache, downloaded from the authors' repository at the pinned commit when missing
    (never when ``HF_HUB_OFFLINE`` is set).
    """
    return _zoo_for(resolve_source(zoo_dir, cache_dir=cache_dir, base_url=base_url))


load_zoo.cache_clear = _zoo_for.cache_clear  # type: ignore[attr-defined]
