"""The zoo block of a report: where the model stands among the authors' released models.

The block is read from the results' ``Placement`` (``results.zoo``, which ``imagenet-x
evaluate`` writes when the zoo tables are available) or, failing that, computed by
``imagenet_x_hf.zoo`` (as the card does). A skipped placement is not shown; its note is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imagenet_x_hf.results import Placement, Results

# How overall facts are labelled on the page; other scalar keys keep their own name.
OVERALL_LABELS = {
    "accuracy": "the model's accuracy",
    "accuracy_percentile": "accuracy percentile among the zoo",
    "which_factor": "factor annotation",
    "error_type": "error type",
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

    @property
    def clear(self) -> str:
        """``"above"`` or ``"below"`` when the excess interval excludes 0, else ``"includes"``."""
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


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(v) for v in value)
    return str(value)


def normalize_zoo(placement: Placement) -> ZooBlock | None:
    """A ``ZooBlock`` from a ``Placement``, or ``None`` when it holds no placement.

    >>> from imagenet_x_hf.schema import FACTORS
    >>> factors = {f: {} for f in FACTORS}
    >>> factors["pose"] = {"error_ratio": 1.2, "expected_error_ratio": 1.0, "excess": 0.2,
    ...     "excess_interval": [0.1, 0.3], "percentile_all": 80, "percentile_similar_accuracy": 75}
    >>> z = normalize_zoo(Placement.from_dict({"accuracy_percentile": 96.0, "factors": factors}))
    >>> [(f.factor, f.excess, f.clear) for f in z.factors if f.excess is not None], z.overall
    ([('pose', 0.2, 'above')], [('accuracy percentile among the zoo', '96'), ('notes', '')])
    >>> normalize_zoo(Placement(skipped=True, note="offline")) is None
    True
    """
    if placement.skipped:
        return None
    rows = [
        ZooFactor(
            factor=factor,
            error_ratio=entry.error_ratio,
            expected_error_ratio=entry.expected_error_ratio,
            excess=entry.excess,
            low=entry.excess_interval[0],
            high=entry.excess_interval[1],
            percentile_all=entry.percentile_all,
            percentile_similar_accuracy=entry.percentile_similar_accuracy,
        )
        for factor, entry in placement.factors.items()
    ]
    overall = []
    for key, value in placement.to_dict().items():
        if key in ("factors", "note"):
            continue
        simple = isinstance(value, (str, int, float, bool)) or (
            isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value)
        )
        if simple and value is not None:
            overall.append((OVERALL_LABELS.get(key, key.replace("_", " ")), _format(value)))
    return ZooBlock(factors=rows, overall=overall, note=placement.note or None)


def zoo_for(results: Results, *, lookup: bool = True) -> tuple[ZooBlock | None, str | None]:
    """``(block, None)`` when a zoo placement is available, else ``(None, why not)``.

    ``results.zoo`` wins; otherwise, with ``lookup``, ``imagenet_x_hf.zoo.zoo_block``
    places the model (as the card does), or says why it cannot. An unavailable zoo is a
    note on the page, never an error: the report is still useful.
    """
    placement = results.zoo
    if placement is None:
        if not lookup:
            return None, "not looked up (--no-zoo)"
        from imagenet_x_hf.zoo import zoo_block

        placement = zoo_block(results)
    block = normalize_zoo(placement)
    return (
        (block, None) if block is not None else (None, placement.note or "the zoo block holds no placement")
    )
