"""The zoo block of a report: where the model stands among the authors' released models.

The block is read from the results' typed placement (``results.zoo``, a
``imagenet_x_hf.results.Placement`` that ``imagenet-x evaluate`` writes when the zoo
tables are available) or, failing that, computed by ``imagenet_x_hf.zoo.zoo_block``.
A skipped placement is not shown; its note is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from imagenet_x_hf.results import Placement, Results
from imagenet_x_hf.schema import FACTORS

# How overall facts are labelled on the page; other scalar keys keep their own name.
OVERALL_LABELS = {
    "models": "zoo models",
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
# The placement's own scalar facts shown with the zoo's (mappings and factors are shown elsewhere).
_FACTS = ("model", "accuracy", "accuracy_percentile", "which_factor", "error_type", "confidence_level")


@dataclass(frozen=True)
class ZooFactor:
    """One factor's row of the zoo table."""

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
    """A placement ready to render: per-factor rows (paper order) and overall facts."""

    factors: list[ZooFactor]
    overall: list[tuple[str, str]] = field(default_factory=list)
    placement: Placement | None = field(default=None, repr=False)


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(v) for v in value)
    return str(value)


def _simple(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return bool(value) and all(isinstance(v, (str, int, float)) for v in value)
    return isinstance(value, (str, int, float, bool)) and value != ""


def zoo_view(placement: Placement) -> ZooBlock | None:
    """The page's view of a placement, or ``None`` when it was skipped.

    >>> from imagenet_x_hf.results import Placement
    >>> row = {"excess": 0.2, "excess_interval": [0.1, 0.3]}
    >>> placed = Placement.from_dict({"zoo": {"models": 2497}, "factors": dict.fromkeys(FACTORS, row)})
    >>> z = zoo_view(placed)
    >>> z.factors[0].factor, z.factors[0].excess, z.factors[0].clear, z.overall
    ('pose', 0.2, 'above', [('zoo models', '2,497')])
    >>> far = Placement.from_dict({**placed.to_dict(), "extrapolation": {"extrapolated": True}})
    >>> zoo_view(far).factors[0].clear  # beyond the reference's data: no verdict
    'includes'
    >>> zoo_view(Placement(skipped=True, note="offline")) is None
    True
    """
    if placement.skipped:
        return None
    rows = [
        ZooFactor(
            factor=factor,
            error_ratio=p.error_ratio,
            expected_error_ratio=p.expected_error_ratio,
            excess=p.excess,
            low=p.excess_interval[0],
            high=p.excess_interval[1],
            percentile_all=p.percentile_all,
            percentile_similar_accuracy=p.percentile_similar_accuracy,
            extrapolated=placement.extrapolated,
        )
        for factor, p in ((f, placement.factors[f]) for f in FACTORS)
    ]
    # The zoo's facts first, then the placement's own, then any a newer version added.
    facts = {
        **placement.zoo,
        **{key: getattr(placement, key) for key in _FACTS},
        "notes": list(placement.notes),
        **placement.extra,
    }
    overall = [
        (OVERALL_LABELS.get(key, key.replace("_", " ")), public_note(_format(value)))
        for key, value in facts.items()
        if _simple(value)
    ]
    return ZooBlock(factors=rows, overall=overall, placement=placement)


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
    block = zoo_view(placement)
    if block is None:
        return None, public_note(placement.note or "the zoo placement holds no per-factor entries")
    return block, None


_LOCAL_PATH = re.compile(r"""(?<![\w:/])(?:~|[A-Za-z]:)?[/\\][^\s'"(),;]*""")


def public_note(note: str) -> str:
    """A note fit for a page that may be published: local paths replaced, the fix kept.

    >>> public_note("no tables in /root/.cache/imagenet-x/zoo (offline); set IMAGENET_X_ZOO")
    'no tables in a local folder (offline); set IMAGENET_X_ZOO'
    >>> public_note("download https://github.com/x/y/raw/a.csv failed")
    'download https://github.com/x/y/raw/a.csv failed'
    """
    return _LOCAL_PATH.sub("a local folder", note)
