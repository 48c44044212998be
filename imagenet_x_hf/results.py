"""One model's ImageNet-X results as one typed, validated object: what everything writes and reads.

``score_predictions`` returns a ``Results``; a run adds its ``RunRecord`` and its
``Placement`` among the authors' released models; ``results.json`` and ``score --json``
are ``Results.to_dict()``; cards, summaries, model-index, the HTML report, the zoo,
compare, plot and rank read a ``Results``. A dict comes in through ``Results.from_dict``
only, which checks it once: numbers are numbers, counts add up, every interval contains
its error ratio, the scoring settings are known ones. Files written by earlier releases
read (keys they lack get the scoring defaults; the scoring settings that an earlier
``results.json`` also kept inside ``run.options`` must agree with the top-level ones and
are stored once from then on). Keys this version does not know are kept as they are, so
that a newer file survives a round trip.

>>> from imagenet_x_hf.schema import FACTORS
>>> rows = {f: {"images": 4, "correct": 3, "accuracy": 0.75, "error_ratio": 1.0,
...             "error_ratio_low": 0.5, "error_ratio_high": 1.5} for f in FACTORS}
>>> r = Results.from_dict({"images": 40, "accuracy": 0.75, "error_type": "class", "factors": rows})
>>> r.scoring.which_factor, r.factor("pose").error_ratio, r.to_dict()["error_rate"]
('top', 1.0, 0.25)
>>> rows["pose"] = {**rows["pose"], "error_ratio": 1.21, "error_ratio_low": 2.0, "error_ratio_high": 0.76}
>>> Results.from_dict({"images": 40, "accuracy": 0.75, "factors": rows})
Traceback (most recent call last):
...
imagenet_x_hf.errors.ResultsFileError: the results: factors.pose: the interval 2.00-0.76 does not contain the error ratio 1.21 (low <= ratio <= high); the file is damaged or was edited: rescore the predictions with 'imagenet-x score --json' or rerun 'imagenet-x evaluate'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imagenet_x_hf.errors import ResultsFileError, SettingsError
from imagenet_x_hf.schema import FACTOR_DEFINITIONS, FACTORS
from imagenet_x_hf.settings import ScoringOptions

# Factors carried by fewer images than this get a note that their interval is wide.
FEW_IMAGES = 100
# An interval end within this of 1 (or of its ratio) counts as touching it: rounding in the
# interval's computation must not turn "includes 1" into "below 1".
TOLERANCE = 1e-9

_REDO = "rescore the predictions with 'imagenet-x score --json' or rerun 'imagenet-x evaluate'"
_SCORING_KEYS = tuple(f.name for f in dataclasses.fields(ScoringOptions))


def _problem(source: str, text: str) -> ResultsFileError:
    return ResultsFileError(f"{source}: {text}; the file is damaged or was edited: {_REDO}")


def _bad(source: str, where: str, value: Any, wanted: str) -> ResultsFileError:
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return ResultsFileError(
        f"{source}: {where} is {shown}, not {wanted}; the file is damaged or was not written by "
        f"imagenet-x: {_REDO}"
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(
    value: Any, source: str, where: str, *, optional: bool = True, upper: float | None = None
) -> float | None:
    if value is None and optional:
        return None
    wanted = "a number >= 0" + (f" and <= {upper:g}" if upper else "")
    if not _is_number(value) or value < 0 or (upper is not None and value > upper):
        raise _bad(source, where, value, wanted)
    return value


def _count(value: Any, source: str, where: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if not _is_number(value) or value < 0 or float(value) != int(value):
        raise _bad(source, where, value, "a whole number >= 0")
    return int(value)


def _mapping(value: Any, source: str, where: str, wanted: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise _bad(source, where, value, wanted)
    return value


def _extra(data: Mapping, known: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in known}


def _end(value: float) -> str:
    return f"{value:.2f}"


@dataclass(frozen=True)
class FactorResult:
    """One factor of one model: its images, how many were right, the error ratio and its interval.

    >>> row = FactorResult("partial_view", 250, 200, 0.8, 1.3, 1.1, 1.5)
    >>> row.label, row.versus_one, row.group
    ('partial view', 'above', 'more')
    """

    factor: str
    images: int
    correct: int | None
    accuracy: float | None
    error_ratio: float | None
    low: float | None
    high: float | None

    @property
    def label(self) -> str:
        """The factor as a reader says it: ``partial_view`` -> ``partial view``."""
        return self.factor.replace("_", " ")

    @property
    def definition(self) -> str:
        return FACTOR_DEFINITIONS[self.factor]

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def versus_one(self) -> str:
        """``"above"``, ``"below"``, ``"includes"`` (the interval contains 1) or ``"unknown"``."""
        if not self.has_interval:
            return "unknown"
        if self.low > 1 + TOLERANCE:
            return "above"
        if self.high < 1 - TOLERANCE:
            return "below"
        return "includes"

    @property
    def group(self) -> str:
        """``"more"``, ``"less"``, ``"average"``, ``"unclear"``, ``"no_interval"`` or ``"no_images"``."""
        if self.error_ratio is None:
            return "no_images"
        side = self.versus_one
        if side == "unknown":
            return "no_interval"
        if side == "above":
            return "more"
        if side == "below":
            return "less"
        return "unclear" if self.images < FEW_IMAGES else "average"

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "error_ratio": self.error_ratio,
            "error_ratio_low": self.low,
            "error_ratio_high": self.high,
        }

    @classmethod
    def from_dict(cls, factor: str, data: Any, *, source: str = "the results") -> FactorResult:
        where = f"factors.{factor}"
        entry = _mapping(data, source, f"'{where}'", "a mapping with 'images' and 'error_ratio'")
        images = _count(entry.get("images", 0), source, f"'{where}.images'")
        correct = _count(entry.get("correct"), source, f"'{where}.correct'", optional=True)
        accuracy = _number(entry.get("accuracy"), source, f"'{where}.accuracy'", upper=1)
        ratio = _number(entry.get("error_ratio"), source, f"'{where}.error_ratio'")
        low = _number(entry.get("error_ratio_low"), source, f"'{where}.error_ratio_low'")
        high = _number(entry.get("error_ratio_high"), source, f"'{where}.error_ratio_high'")
        if correct is not None and correct > images:
            raise _problem(source, f"{where}: {correct} correct of {images} images")
        if (
            correct is not None
            and accuracy is not None
            and images
            and abs(accuracy - correct / images) > 1e-6
        ):
            raise _problem(source, f"{where}: accuracy {accuracy} is not {correct} / {images}")
        if ratio is not None and low is not None and high is not None:
            slack = TOLERANCE * max(1.0, ratio)
            if not low - slack <= ratio <= high + slack:
                raise _problem(
                    source,
                    f"{where}: the interval {_end(low)}-{_end(high)} does not contain the error ratio "
                    f"{ratio:.2f} (low <= ratio <= high)",
                )
        return cls(factor, images, correct, accuracy, ratio, low, high)


def _scoring(data: Mapping, source: str) -> ScoringOptions:
    try:
        return ScoringOptions.from_dict({k: data[k] for k in _SCORING_KEYS if k in data})
    except (SettingsError, TypeError) as err:
        raise ResultsFileError(
            f"{source} records scoring settings that imagenet-x does not know ({err}); "
            "rescore the predictions with 'imagenet-x score --json'"
        ) from err


@dataclass(frozen=True)
class PlacementFactor:
    """One factor of a model's place among the zoo (see ``imagenet_x_hf.zoo.place``)."""

    error_ratio: float | None
    error_ratio_interval: tuple[float | None, float | None]
    expected_error_ratio: float | None
    excess: float | None
    excess_interval: tuple[float | None, float | None]
    band: tuple[float | None, float | None]
    percentile_all: float | None
    percentile_similar_accuracy: float | None
    similar_models: int | None
    trend_r2: float | None
    extra: Mapping[str, Any] = field(default_factory=dict)

    _KEYS = (
        "error_ratio",
        "error_ratio_interval",
        "expected_error_ratio",
        "excess",
        "excess_interval",
        "band",
        "percentile_all",
        "percentile_similar_accuracy",
        "similar_models",
        "trend_r2",
    )

    @property
    def clear(self) -> str:
        """``"above"`` or ``"below"`` when the excess interval excludes 0, else ``"includes"``."""
        low, high = self.excess_interval
        if low is not None and low > 0:
            return "above"
        if high is not None and high < 0:
            return "below"
        return "includes"

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self._KEYS}
        for key in ("error_ratio_interval", "excess_interval", "band"):
            out[key] = list(out[key])
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, factor: str, data: Any, *, source: str) -> PlacementFactor:
        where = f"zoo.factors.{factor}"
        entry = _mapping(data, source, f"'{where}'", "a mapping of the factor's placement")

        def num(key: str, *, signed: bool = False, upper: float | None = None) -> float | None:
            value = entry.get(key)
            if value is None:
                return None
            if not _is_number(value) or (not signed and value < 0) or (upper is not None and value > upper):
                raise _bad(source, f"'{where}.{key}'", value, "a number" if signed else "a number >= 0")
            return value

        def pair(key: str, *, signed: bool = False) -> tuple[float | None, float | None]:
            value = entry.get(key, [None, None])
            if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
                raise _bad(source, f"'{where}.{key}'", value, "a [low, high] pair")
            for v in value:
                if v is not None and (not _is_number(v) or (not signed and v < 0)):
                    raise _bad(source, f"'{where}.{key}'", value, "a [low, high] pair of numbers")
            return (value[0], value[1])

        excess, excess_interval = num("excess", signed=True), pair("excess_interval", signed=True)
        low, high = excess_interval
        if excess is not None and low is not None and high is not None and not low <= excess <= high:
            raise _problem(source, f"{where}: the excess interval [{low}, {high}] does not contain {excess}")
        similar = entry.get("similar_models")
        return cls(
            error_ratio=num("error_ratio"),
            error_ratio_interval=pair("error_ratio_interval"),
            expected_error_ratio=num("expected_error_ratio", signed=True),
            excess=excess,
            excess_interval=excess_interval,
            band=pair("band", signed=True),
            percentile_all=num("percentile_all", upper=100),
            percentile_similar_accuracy=num("percentile_similar_accuracy", upper=100),
            similar_models=None if similar is None else _count(similar, source, f"'{where}.similar_models'"),
            trend_r2=num("trend_r2", signed=True),
            extra=_extra(entry, cls._KEYS),
        )


@dataclass(frozen=True)
class Placement:
    """Where a model stands among the authors' released models (``results.json["zoo"]``).

    ``skipped`` blocks say why there is no placement (``note``); a placement has one
    ``PlacementFactor`` per factor. Keys this version does not know stay in ``extra``.
    """

    model: str | None = None
    accuracy: float | None = None
    accuracy_percentile: float | None = None
    which_factor: str | None = None
    error_type: str | None = None
    confidence_level: float | None = None
    reference: Mapping[str, Any] | None = None
    coverage: Mapping[str, Any] | None = None
    extrapolation: Mapping[str, Any] | None = None
    zoo: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    factors: Mapping[str, PlacementFactor] = field(default_factory=dict)
    skipped: bool = False
    note: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    _KEYS = (
        "model",
        "accuracy",
        "accuracy_percentile",
        "which_factor",
        "error_type",
        "confidence_level",
        "reference",
        "coverage",
        "extrapolation",
        "zoo",
        "notes",
        "factors",
    )
    _OPTIONAL = ("reference", "coverage", "extrapolation")  # written by newer versions only

    @property
    def extrapolated(self) -> bool:
        """Whether the placement continues the reference's trend beyond its data."""
        return bool((self.extrapolation or {}).get("extrapolated"))

    @property
    def models(self) -> int | None:
        """How many zoo models the placement is among."""
        return self.zoo.get("models")

    @property
    def similar_window(self) -> float | None:
        return self.zoo.get("similar_window")

    def to_dict(self) -> dict[str, Any]:
        if self.skipped:
            return {"skipped": True, "note": self.note, **self.extra}
        out = {
            k: getattr(self, k) for k in self._KEYS if k not in self._OPTIONAL or getattr(self, k) is not None
        }
        out["notes"] = list(self.notes)
        out["zoo"] = dict(self.zoo)
        out["factors"] = {f: p.to_dict() for f, p in self.factors.items()}
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "the results") -> Placement:
        block = _mapping(data, source, "'zoo'", "a mapping (the model's place among the zoo)")
        if block.get("skipped"):
            return cls(
                skipped=True, note=str(block.get("note") or ""), extra=_extra(block, ("skipped", "note"))
            )
        factors = _mapping(block.get("factors"), source, "'zoo.factors'", "a mapping of factor -> placement")
        missing = [f for f in FACTORS if f not in factors]
        unknown = [f for f in factors if f not in FACTORS]
        if missing or unknown:
            raise _problem(
                source,
                f"zoo.factors lacks {missing} or names unknown factors {unknown}; expected the 16 factors",
            )
        notes = block.get("notes") or []
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise _bad(source, "'zoo.notes'", notes, "a list of sentences")
        level = block.get("confidence_level")
        if level is not None and not (_is_number(level) and 0 < level < 1):
            raise _bad(source, "'zoo.confidence_level'", level, "a number between 0 and 1")
        return cls(
            model=block.get("model"),
            accuracy=_number(block.get("accuracy"), source, "'zoo.accuracy'", upper=1),
            accuracy_percentile=_number(
                block.get("accuracy_percentile"), source, "'zoo.accuracy_percentile'", upper=100
            ),
            which_factor=block.get("which_factor"),
            error_type=block.get("error_type"),
            confidence_level=level,
            **{
                key: None
                if block.get(key) is None
                else dict(_mapping(block[key], source, f"'zoo.{key}'", "a mapping"))
                for key in cls._OPTIONAL
            },
            zoo=dict(_mapping(block.get("zoo", {}), source, "'zoo.zoo'", "a mapping describing the zoo")),
            notes=tuple(notes),
            factors={f: PlacementFactor.from_dict(f, factors[f], source=source) for f in FACTORS},
            extra=_extra(block, cls._KEYS),
        )


# The keys of a run record, in the order results.json has always had them.
RUN_KEYS = (
    "model",
    "revision",
    "commit",
    "adapter",
    "architecture",
    "label_space",
    "options",
    "preprocessing",
    "precision",
    "batch_size",
    "batch_size_backoffs",
    "num_workers",
    "channels_last",
    "compile",
    "num_processes",
    "device",
    "security",
    "label_map",
    "model_files_sha256",
    "dataset",
    "shard_size",
    "fingerprint",
    "versions",
    "timing",
)


@dataclass(frozen=True)
class RunRecord:
    """How a run of ``imagenet-x evaluate`` made its predictions (``results.json["run"]``).

    The fields the reports read are typed; everything else the runner records (label
    space, preprocessing, versions, ...) is kept whole in ``details``. ``options`` are
    the run's settings without the scoring ones, which the results hold once.
    """

    model: str | None = None
    revision: str | None = None
    commit: str | None = None
    adapter: str | None = None
    precision: str | None = None
    batch_size: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    dataset: Mapping[str, Any] = field(default_factory=dict)
    timing: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    # the order the keys were read in, so that a record written by a newer runner keeps it
    order: tuple[str, ...] = field(default=RUN_KEYS, compare=False, repr=False)

    _TYPED = (
        "model",
        "revision",
        "commit",
        "adapter",
        "precision",
        "batch_size",
        "options",
        "dataset",
        "timing",
    )

    @property
    def imagenet(self) -> str | None:
        """The ImageNet source the run read (as recorded by the run)."""
        return self.dataset.get("imagenet") or self.options.get("imagenet")

    def get(self, key: str, default: Any = None) -> Any:
        """A recorded value by its results.json key (typed or in ``details``)."""
        value = getattr(self, key) if key in self._TYPED else self.details.get(key, default)
        return default if value is None else value

    def to_dict(self) -> dict[str, Any]:
        values = {**self.details, **{k: getattr(self, k) for k in self._TYPED}}
        values.update(options=dict(self.options), dataset=dict(self.dataset), timing=dict(self.timing))
        ordered = {k: values.pop(k) for k in (*self.order, *RUN_KEYS) if k in values}
        return {**ordered, **values}

    @classmethod
    def from_dict(
        cls, data: Any, *, scoring: ScoringOptions | None = None, source: str = "the results"
    ) -> RunRecord:
        run = _mapping(data, source, "'run'", "a mapping describing the run")
        options = dict(_mapping(run.get("options") or {}, source, "'run.options'", "a mapping of settings"))
        recorded = options.pop("scoring", None)
        if recorded is not None and scoring is not None:
            again = _scoring(_mapping(recorded, source, "'run.options.scoring'", "a mapping"), source)
            if again != scoring:
                raise _problem(
                    source,
                    f"run.options.scoring {again.to_dict()} differs from the results' own settings "
                    f"{scoring.to_dict()}",
                )
        batch = run.get("batch_size")
        return cls(
            model=run.get("model"),
            revision=run.get("revision"),
            commit=run.get("commit"),
            adapter=run.get("adapter"),
            precision=run.get("precision"),
            batch_size=None if batch is None else _count(batch, source, "'run.batch_size'"),
            options=options,
            dataset=dict(run.get("dataset") or {}),
            timing=dict(run.get("timing") or {}),
            details=_extra(run, cls._TYPED),
            order=tuple(run),
        )


# The top-level keys of a results dict, in the order results.json has always had them.
RESULTS_KEYS = (
    "model",
    *_SCORING_KEYS,
    "interval_method",
    "coverage",
    "images",
    "accuracy",
    "error_rate",
    "error_ratio",
    "factors",
    "metaclass",
    "calibration",
    "run",
    "zoo",
)
_COVERAGE_KEYS = (
    "annotated",
    "predictions",
    "used",
    "missing",
    "unannotated_ignored",
    "prototypes_ignored",
    "real_empty_excluded",
)


def _coverage(data: Any, images: int, source: str) -> dict[str, int] | None:
    if data is None:
        return None
    block = _mapping(data, source, "'coverage'", "a mapping of image counts")
    counts = {k: _count(v, source, f"'coverage.{k}'") for k, v in block.items()}
    if not set(_COVERAGE_KEYS) <= set(counts):
        return counts  # an older shape: kept as it is, its sums cannot be checked
    if counts["used"] != images:
        raise _problem(source, f"coverage.used is {counts['used']} but 'images' is {images}")
    dropped = counts["unannotated_ignored"] + counts["prototypes_ignored"] + counts["real_empty_excluded"]
    if counts["predictions"] != counts["used"] + dropped:
        raise _problem(
            source,
            f"coverage: {counts['predictions']} predictions are not the {counts['used']} used plus the "
            f"{dropped} ignored or excluded",
        )
    if counts["annotated"] != counts["used"] + counts["missing"] + counts["real_empty_excluded"]:
        raise _problem(
            source,
            f"coverage: {counts['annotated']} annotated images are not the {counts['used']} used plus the "
            f"{counts['missing']} missing and {counts['real_empty_excluded']} excluded",
        )
    return counts


@dataclass(frozen=True)
class Results:
    """One model's ImageNet-X results (see the module docstring).

    ``factors`` holds one ``FactorResult`` per factor in the paper's order; ``coverage``,
    ``metaclass`` and ``calibration`` are the breakdowns ``score_predictions`` computes
    (``None`` when not computed); ``run`` and ``zoo`` are set for a run of
    ``imagenet-x evaluate``; ``extra`` keeps top-level keys this version does not know.
    """

    scoring: ScoringOptions
    images: int
    accuracy: float | None
    factors: tuple[FactorResult, ...]
    model: str | None = None
    interval_method: str | None = None
    coverage: Mapping[str, int] | None = None
    metaclass: Mapping[str, Any] | None = None
    calibration: Mapping[str, Any] | None = None
    run: RunRecord | None = None
    zoo: Placement | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if [f.factor for f in self.factors] != list(FACTORS):
            raise ResultsFileError(f"Results needs one FactorResult per factor, in the order {list(FACTORS)}")

    @property
    def error_rate(self) -> float | None:
        return None if self.accuracy is None else 1.0 - self.accuracy

    @property
    def error_ratio(self) -> dict[str, float | None]:
        """Factor -> error ratio (None for a factor no scored image carries)."""
        return {f.factor: f.error_ratio for f in self.factors}

    def factor(self, name: str) -> FactorResult:
        """The result of factor ``name``."""
        return self.factors[FACTORS.index(name)]

    def replace(self, **changes: Any) -> Results:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready results: what results.json and ``score --json`` hold."""
        out: dict[str, Any] = {"model": self.model, **self.scoring.to_dict()}
        out["interval_method"] = self.interval_method
        if self.coverage is not None:
            out["coverage"] = dict(self.coverage)
        out.update(
            images=self.images,
            accuracy=self.accuracy,
            error_rate=self.error_rate,
            error_ratio=self.error_ratio,
            factors={f.factor: f.to_dict() for f in self.factors},
            metaclass=self.metaclass,
            calibration=self.calibration,
        )
        if self.run is not None:
            out["run"] = self.run.to_dict()
        if self.zoo is not None:
            out["zoo"] = self.zoo.to_dict()
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "the results") -> Results:
        """Check ``data`` once and build the results; the error names the key and the fix."""
        if isinstance(data, Results):
            return data
        if not isinstance(data, Mapping):
            raise ResultsFileError(
                f"{source} is not an ImageNet-X results dict (got {type(data).__name__}); "
                "produce it with 'imagenet-x score' or 'imagenet-x evaluate'"
            )
        missing = [key for key in ("accuracy", "images", "factors") if key not in data]
        if missing:
            raise ResultsFileError(
                f"{source} is not an ImageNet-X results dict: it lacks {', '.join(map(repr, missing))}; "
                "produce it with 'imagenet-x score' or 'imagenet-x evaluate'"
            )
        entries = _mapping(data["factors"], source, "'factors'", "a mapping of factor -> counts")
        absent = [f for f in FACTORS if f not in entries]
        if absent:
            raise ResultsFileError(
                f"{source} has no entry for the factor(s) {', '.join(absent)}; it was written by another "
                "tool or an older version: rescore the predictions with 'imagenet-x score'"
            )
        accuracy = _number(data["accuracy"], source, "'accuracy'", optional=False, upper=1)
        images = _count(data["images"], source, "'images'")
        error_rate = data.get("error_rate")
        if error_rate is not None and (not _is_number(error_rate) or abs(error_rate + accuracy - 1) > 1e-6):
            raise _problem(source, f"error_rate {error_rate!r} is not 1 - accuracy ({accuracy})")
        factors = tuple(FactorResult.from_dict(f, entries[f], source=source) for f in FACTORS)
        for row in factors:
            if row.images > images:
                raise _problem(source, f"factors.{row.factor}: {row.images} images of only {images} scored")
        ratios = data.get("error_ratio")
        if ratios is not None:
            _mapping(ratios, source, "'error_ratio'", "a mapping of factor -> error ratio")
            for row in factors:
                if row.factor in ratios and ratios[row.factor] != row.error_ratio:
                    raise _problem(
                        source,
                        f"error_ratio.{row.factor} is {ratios[row.factor]!r} but factors.{row.factor} "
                        f"says {row.error_ratio!r}",
                    )
        scoring = _scoring(data, source)
        run = data.get("run")
        zoo = data.get("zoo")
        for key in ("metaclass", "calibration"):
            if data.get(key) is not None:
                _mapping(data[key], source, f"'{key}'", "a mapping")
        model = data.get("model")
        return cls(
            scoring=scoring,
            images=images,
            accuracy=accuracy,
            factors=factors,
            model=None if model is None else str(model),
            interval_method=data.get("interval_method"),
            coverage=_coverage(data.get("coverage"), images, source),
            metaclass=data.get("metaclass"),
            calibration=data.get("calibration"),
            run=None if run is None else RunRecord.from_dict(run, scoring=scoring, source=source),
            zoo=None if zoo is None else Placement.from_dict(zoo, source=source),
            extra=_extra(data, RESULTS_KEYS),
        )
