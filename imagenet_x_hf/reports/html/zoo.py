"""The zoo block of a report: where the model stands among the authors' released models.

The block is read from the results (``results["zoo"]``, which ``imagenet-x evaluate``
writes when the zoo tables are available) or, failing that, computed by
``imagenet_x_hf.zoo`` when that package is installed. Either way it is a dict::

    {
      "factors": {                       # or the factor names directly at the top level
        "pose": {
          "error_ratio": 1.21,           # the model's own
          "expected_error_ratio": 1.10,  # the zoo's trend at the model's accuracy
          "excess": 0.11,                # error_ratio - expected_error_ratio
          "excess_interval": [0.02, 0.20],
          "percentile_all": 71.0,        # 0-100, among all zoo models
          "percentile_similar_accuracy": 64.0,
        },
        ...
      },
      "models": 2497, ...                # overall facts: any scalar keys (or under "overall")
    }

A block without per-factor entries (e.g. ``{"note": "zoo tables unavailable offline"}``)
is not shown; its note is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.results import Results
from imagenet_x_hf.schema import FACTORS

FACTOR_KEYS = (
    "error_ratio",
    "expected_error_ratio",
    "excess",
    "excess_interval",
    "percentile_all",
    "percentile_similar_accuracy",
)
# How overall facts are labelled on the page; other scalar keys keep their own name.
OVERALL_LABELS = {
    "models": "zoo models",
    "n_models": "zoo models",
    "similar_accuracy_models": "models of similar accuracy",
    "similar_accuracy_window": "similar accuracy: within",
    "accuracy": "the model's accuracy",
    "accuracy_percentile": "accuracy percentile among the zoo",
    "trend": "trend fitted across the zoo",
    "which_factor": "factor annotation",
    "error_type": "error type",
    "source": "zoo tables",
    "commit": "zoo commit",
}


@dataclass(frozen=True)
class ZooFactor:
    """One factor's placement among the zoo."""

    factor: str
    error_ratio: float | None
    expected_error_ratio: float | None
    excess: float | None
    low: float | None
    high: float | None
    percentile_all: float | None
    percentile_similar_accuracy: float | None
    extrapolated: bool = False  # beyond what the reference shows: no verdict

    @property
    def clear(self) -> str:
        """``"above"`` or ``"below"`` when the excess interval excludes 0 (never for an extrapolation)."""
        if self.extrapolated:
            return "includes"
        if self.low is not None and self.low > 0:
            return "above"
        if self.high is not None and self.high < 0:
            return "below"
        return "includes"


@dataclass(frozen=True)
class ZooBlock:
    """A zoo block ready to render: per-factor rows (paper order) and overall facts."""

    factors: list[ZooFactor]
    overall: list[tuple[str, str]] = field(default_factory=list)
    note: str | None = None
    raw: Mapping | None = field(default=None, repr=False)  # the block as placed (reference, coverage, ...)


def _number(value: Any, *, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ImageNetXError(f"the zoo block's {where} is {value!r}, not a number; recompute the zoo block")
    value = float(value)
    return value if math.isfinite(value) else None


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(v) for v in value)
    return str(value)


def normalize_zoo(block: Any) -> ZooBlock | None:
    """A ``ZooBlock`` from a zoo dict (see the module docstring), or ``None`` when it has no factors.

    >>> z = normalize_zoo({"models": 2497, "factors": {"pose": {"error_ratio": 1.2,
    ...     "expected_error_ratio": 1.0, "excess": 0.2, "excess_interval": [0.1, 0.3],
    ...     "percentile_all": 80, "percentile_similar_accuracy": 75}}})
    >>> [(f.factor, f.excess, f.clear) for f in z.factors if f.excess is not None], z.overall
    ([('pose', 0.2, 'above')], [('zoo models', '2,497')])
    >>> far = normalize_zoo({"extrapolation": {"extrapolated": True}, "factors": {"pose": {
    ...     "excess": 0.2, "excess_interval": [0.1, 0.3]}}})
    >>> far.factors[0].clear  # beyond the reference's data: no verdict
    'includes'
    >>> normalize_zoo({"note": "offline"}) is None
    True
    """
    if not isinstance(block, Mapping):
        raise ImageNetXError(
            f"the zoo block is a {type(block).__name__}, not a dict of per-factor entries; recompute it"
        )
    per_factor = block.get("factors") if isinstance(block.get("factors"), Mapping) else block
    unknown = [k for k in per_factor if k not in FACTORS and per_factor is not block]
    if unknown:
        raise ImageNetXError(
            f"the zoo block names unknown factor(s) {unknown}; expected ImageNet-X factors such as 'pose'"
        )
    entries = {f: per_factor[f] for f in FACTORS if isinstance(per_factor.get(f), Mapping)}
    if not entries:
        return None
    extrapolation = block.get("extrapolation") if isinstance(block.get("extrapolation"), Mapping) else {}
    rows = []
    for factor in FACTORS:
        entry = entries.get(factor, {})
        interval = entry.get("excess_interval")
        if interval is None:
            interval = (entry.get("excess_low"), entry.get("excess_high"))
        if not isinstance(interval, (list, tuple)) or len(interval) != 2:
            raise ImageNetXError(
                f"the zoo block's excess_interval of {factor!r} is {interval!r}; expected [low, high]"
            )
        rows.append(
            ZooFactor(
                factor=factor,
                error_ratio=_number(entry.get("error_ratio"), where=f"{factor}.error_ratio"),
                expected_error_ratio=_number(
                    entry.get("expected_error_ratio"), where=f"{factor}.expected_error_ratio"
                ),
                excess=_number(entry.get("excess"), where=f"{factor}.excess"),
                low=_number(interval[0], where=f"{factor}.excess_interval[0]"),
                high=_number(interval[1], where=f"{factor}.excess_interval[1]"),
                percentile_all=_number(entry.get("percentile_all"), where=f"{factor}.percentile_all"),
                percentile_similar_accuracy=_number(
                    entry.get("percentile_similar_accuracy"), where=f"{factor}.percentile_similar_accuracy"
                ),
                extrapolated=bool(extrapolation.get("extrapolated")),
            )
        )
    overall_source = dict(block.get("overall") if isinstance(block.get("overall"), Mapping) else block)
    if isinstance(block.get("zoo"), Mapping):  # the zoo's own facts (how many models, ...) nested
        overall_source = {**block["zoo"], **{k: v for k, v in overall_source.items() if k != "zoo"}}
    overall = []
    for key, value in overall_source.items():
        if key in FACTORS or key in ("factors", "overall", "note", "zoo") or value in ("", [], ()):
            continue
        simple = isinstance(value, (str, int, float, bool)) or (
            isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value)
        )
        if simple and value is not None:
            overall.append((OVERALL_LABELS.get(key, key.replace("_", " ")), public_note(_format(value))))
    note = block.get("note")
    return ZooBlock(factors=rows, overall=overall, note=public_note(str(note)) if note else None, raw=block)


def _zoo_note(block: Any) -> str:
    if isinstance(block, Mapping):
        for key in ("note", "skipped", "error", "reason"):
            if block.get(key):
                return str(block[key])
    return "the zoo block holds no per-factor entries"


def zoo_for(results: Results, *, lookup: bool = True) -> tuple[ZooBlock | None, str | None]:
    """``(block, None)`` when a zoo placement is available, else ``(None, why not)``.

    ``results.zoo`` wins; otherwise, with ``lookup``, ``imagenet_x_hf.zoo.zoo_block``
    places the model (as the card does), or says why it cannot. An unavailable zoo is a
    note on the page, never an error: the report is still useful.
    """
    placement = results.zoo
    # A run evaluated without the tables holds a note: look again, they may be here now.
    stale = placement is not None and placement.skipped
    if placement is None or stale:
        if not lookup:
            return None, "not looked up (--no-zoo)" if placement is None else public_note(
                placement.note or ""
            )
        from imagenet_x_hf.zoo import zoo_block

        placement = zoo_block(results)
    data = placement.to_dict()
    block = normalize_zoo(data)
    return (block, None) if block is not None else (None, public_note(_zoo_note(data)))


_LOCAL_PATH = re.compile(r"""(?<![\w:/])(?:~|[A-Za-z]:)?[/\\][^\s'"(),;]*""")


def public_note(note: str) -> str:
    """A note fit for a page that may be published: local paths replaced, the fix kept.

    >>> public_note("no tables in /root/.cache/imagenet-x/zoo (offline); set IMAGENET_X_ZOO")
    'no tables in a local folder (offline); set IMAGENET_X_ZOO'
    >>> public_note("download https://github.com/x/y/raw/a.csv failed")
    'download https://github.com/x/y/raw/a.csv failed'
    """
    return _LOCAL_PATH.sub("a local folder", note)
