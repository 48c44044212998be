"""What a RESULTS dict says, in rows and in plain sentences.

The section of a model card, the comparison table and the plots all read a RESULTS
dict (see ``imagenet_x_hf.metrics.score_predictions``) through these functions, so
they agree on ordering, rounding and on what counts as a clear difference.

A factor's interval is "above 1" when its lower end exceeds 1 (the model fails
more often than average on those images), "below 1" when its upper end is under 1.
Two intervals overlap when neither ends before the other begins; overlapping
intervals do not rank the two factors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imagenet_x_hf.reports.errors import ResultsFileError
from imagenet_x_hf.schema import FACTOR_DEFINITIONS, FACTORS

# Factors carried by fewer images than this get a note that their interval is wide.
FEW_IMAGES = 100
# An interval end within this of 1 counts as touching 1: rounding in the interval's
# computation must not turn "includes 1" into "below 1".
TOLERANCE = 1e-9

ACCURACY_NAMES = {
    "class": "top-1 accuracy",
    "real_class": "ReaL accuracy (prediction among the ReaL labels)",
    "metaclass": "metaclass accuracy (predicted class in the true metaclass)",
}


@dataclass(frozen=True)
class FactorRow:
    """One factor of one model: counts, accuracy and error ratio with its interval."""

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
        return factor_label(self.factor)

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

    def overlaps(self, other: FactorRow) -> bool:
        """Whether the two intervals share a point (``False`` if either has none)."""
        if not (self.has_interval and other.has_interval):
            return False
        return self.low <= other.high and other.low <= self.high


def factor_label(factor: str) -> str:
    """
    >>> factor_label("multiple_objects")
    'multiple objects'
    """
    return factor.replace("_", " ")


def check_results(results: Any, *, source: str = "the results") -> dict:
    """Fail clearly unless ``results`` has the keys the reports read; returns it.

    >>> check_results({"accuracy": 0.5})
    Traceback (most recent call last):
    ...
    imagenet_x_hf.reports.errors.ResultsFileError: the results is not an ImageNet-X results dict: it lacks 'images', 'factors'; produce it with 'imagenet-x score' or 'imagenet-x evaluate'
    """
    if not isinstance(results, Mapping):
        raise ResultsFileError(
            f"{source} is not an ImageNet-X results dict (got {type(results).__name__}); "
            "produce it with 'imagenet-x score' or 'imagenet-x evaluate'"
        )
    missing = [key for key in ("accuracy", "images", "factors") if key not in results]
    if missing:
        raise ResultsFileError(
            f"{source} is not an ImageNet-X results dict: it lacks {', '.join(map(repr, missing))}; "
            "produce it with 'imagenet-x score' or 'imagenet-x evaluate'"
        )
    absent = [f for f in FACTORS if f not in results["factors"]]
    if absent:
        raise ResultsFileError(
            f"{source} has no entry for the factor(s) {', '.join(absent)}; it was written by another "
            "tool or an older version: rescore the predictions with 'imagenet-x score'"
        )
    return dict(results)


def factor_rows(results: Mapping) -> list[FactorRow]:
    """The 16 factors of a RESULTS dict, in the paper's order."""
    rows = []
    for factor in FACTORS:
        entry = results["factors"][factor]
        rows.append(
            FactorRow(
                factor=factor,
                images=int(entry.get("images") or 0),
                correct=entry.get("correct"),
                accuracy=entry.get("accuracy"),
                error_ratio=entry.get("error_ratio"),
                low=entry.get("error_ratio_low"),
                high=entry.get("error_ratio_high"),
            )
        )
    return rows


def format_ratio(value: float | None) -> str:
    """
    >>> format_ratio(1.23456), format_ratio(None)
    ('1.23', 'n/a')
    """
    return "n/a" if value is None else f"{value:.2f}"


def format_interval(row: FactorRow) -> str:
    """``"1.21–1.40"``, or ``"n/a"`` without an interval."""
    if not row.has_interval:
        return "n/a"
    return f"{row.low:.2f}–{row.high:.2f}"


def format_percent(value: float | None) -> str:
    """
    >>> format_percent(0.76125)
    '76.1%'
    """
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _join(words: Sequence[str]) -> str:
    """
    >>> _join(["a"]), _join(["a", "b"]), _join(["a", "b", "c"])
    ('a', 'a and b', 'a, b and c')
    """
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _mention(row: FactorRow) -> str:
    interval = f", interval {format_interval(row)}" if row.has_interval else ""
    return f"*{row.label}* ({format_ratio(row.error_ratio)}{interval})"


def _overlapping_pairs(rows: Sequence[FactorRow]) -> list[tuple[FactorRow, FactorRow]]:
    return [(a, b) for i, a in enumerate(rows) for b in rows[i + 1 :] if a.overlaps(b)]


@dataclass(frozen=True)
class Summary:
    """The facts the plain-language summary states, and the sentences themselves."""

    worst: list[FactorRow]
    best: list[FactorRow]
    above: list[FactorRow]
    below: list[FactorRow]
    includes_one: list[FactorRow]
    without_images: list[FactorRow]
    few_images: list[FactorRow]
    # pairs inside the "worst" (resp. "best") list whose intervals overlap
    worst_pairs: list[tuple[FactorRow, FactorRow]]
    best_pairs: list[tuple[FactorRow, FactorRow]]
    # members of "worst" ("best") whose interval overlaps a factor left off that list
    worst_unsettled: list[FactorRow]
    best_unsettled: list[FactorRow]
    # whether some interval of "worst" overlaps some interval of "best"
    worst_meets_best: bool
    intervals: bool
    sentences: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def summarize(results: Mapping, *, k: int = 3) -> Summary:
    """Rank the factors by error ratio and say, honestly, how sure the ranking is.

    ``k`` factors are named at each end (fewer when under ``2 * k`` factors have an
    error ratio). Every claim of order is checked against the intervals.

    >>> rows = {f: {"images": 500, "correct": 400, "accuracy": 0.8, "error_ratio": 1.0,
    ...             "error_ratio_low": 0.9, "error_ratio_high": 1.1} for f in FACTORS}
    >>> rows["style"] = {"images": 40, "correct": 20, "accuracy": 0.5, "error_ratio": 2.5,
    ...                  "error_ratio_low": 1.8, "error_ratio_high": 3.3}
    >>> s = summarize({"accuracy": 0.8, "images": 9000, "error_type": "class", "factors": rows}, k=1)
    >>> [r.factor for r in s.worst], [r.factor for r in s.above], s.worst_unsettled
    (['style'], ['style'], [])
    >>> print(s.sentences[1])
    It fails most, relative to its own average, on images with *style* (2.50, interval 1.80–3.30).
    """
    rows = factor_rows(results)
    ranked = sorted((r for r in rows if r.error_ratio is not None), key=lambda r: -r.error_ratio)
    k = max(0, min(k, len(ranked) // 2))
    worst, best = ranked[:k], ranked[::-1][:k]
    rest_of_worst = [r for r in ranked if r not in worst]
    rest_of_best = [r for r in ranked if r not in best]
    intervals = bool(ranked) and all(r.has_interval for r in ranked)
    s = Summary(
        worst=worst,
        best=best,
        above=[r for r in ranked if r.versus_one == "above"],
        below=[r for r in ranked[::-1] if r.versus_one == "below"],
        includes_one=[r for r in rows if r.versus_one == "includes"],
        without_images=[r for r in rows if r.error_ratio is None],
        few_images=[r for r in rows if r.error_ratio is not None and r.images < FEW_IMAGES],
        worst_pairs=_overlapping_pairs(worst),
        best_pairs=_overlapping_pairs(best),
        worst_unsettled=[w for w in worst if any(w.overlaps(r) for r in rest_of_worst)],
        best_unsettled=[b for b in best if any(b.overlaps(r) for r in rest_of_best)],
        worst_meets_best=any(w.overlaps(b) for w in worst for b in best),
        intervals=intervals,
    )
    s.sentences.extend(_sentences(results, s))
    return s


def _sentences(results: Mapping, s: Summary) -> list[str]:
    accuracy_name = ACCURACY_NAMES.get(results.get("error_type", "class"), "accuracy")
    out = [
        f"Overall {accuracy_name} is {format_percent(results['accuracy'])} "
        f"on {int(results['images']):,} annotated images."
    ]
    values = {r.error_ratio for r in s.worst + s.best}
    if not s.worst or len(values) == 1:
        if len(values) == 1:
            out.append(
                f"Its error ratio is {format_ratio(values.pop())} for every factor with images: no factor stands out."
            )
        else:
            out.append("Too few factors have an error ratio to rank them.")
        out.extend(_coverage_notes(s))
        return out
    out.append(f"It fails most, relative to its own average, on images with {_join(map(_mention, s.worst))}.")
    out.append(f"It fails least on {_join(map(_mention, s.best))}.")
    if not s.intervals:
        out.append("No intervals were computed, so these rankings come without a measure of certainty.")
        out.extend(_coverage_notes(s))
        return out

    level = results.get("confidence_level")
    level_text = f"{100 * level:g}% " if isinstance(level, (int, float)) else ""
    parts = [
        _side(s.above, "entirely above 1 (more mistakes than average)"),
        _side(s.below, "entirely below 1 (fewer mistakes than average)"),
        _side(s.includes_one, "including 1 (no clear difference from average)"),
    ]
    out.append(f"Intervals ({level_text.strip() or 'as computed'}): {'; '.join(p for p in parts if p)}.")
    cautions = [
        _caution("hardest", s.worst, s.worst_pairs, s.worst_unsettled),
        _caution("easiest", s.best, s.best_pairs, s.best_unsettled),
    ]
    cautions = [c for c in cautions if c]
    if s.worst_meets_best:
        cautions.append("even the hardest and the easiest factors named have overlapping intervals")
    if cautions:
        out.extend(f"Caution: {c}." for c in cautions)
    else:
        out.append(
            "The intervals of the factors named here do not overlap each other or those of the other factors."
        )
    out.extend(_coverage_notes(s))
    return out


def _coverage_notes(s: Summary) -> list[str]:
    out = []
    if s.few_images:
        few = _join(f"*{r.label}* ({r.images:,})" for r in s.few_images)
        out.append(
            f"Few images carry {few}, so {'its interval is' if len(s.few_images) == 1 else 'their intervals are'} wide."
        )
    if s.without_images:
        one = len(s.without_images) == 1
        out.append(
            f"No scored image carries {_names(s.without_images)}, so {'it has' if one else 'they have'} no error ratio."
        )
    return out


def _names(rows: Sequence[FactorRow]) -> str:
    return _join([f"*{r.label}*" for r in rows])


def _side(rows: Sequence[FactorRow], what: str) -> str:
    """``"entirely above 1 for *a* and *b*"``; a count when the list would be long (the table has them all)."""
    if not rows:
        return ""
    if len(rows) <= 4:
        return f"{what} for {_names(rows)}"
    return f"{what} for {len(rows)} factors"


_NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five"}


def _caution(name: str, listed: Sequence[FactorRow], pairs, unsettled: Sequence[FactorRow]) -> str:
    """What the intervals leave open about one end of the ranking, or ``""``."""
    what = f"the {_NUMBERS.get(len(listed), len(listed))} {name}" if len(listed) > 1 else f"the {name} factor"
    clauses = []
    in_pairs = [r for r in listed if any(r in pair for pair in pairs)]
    clique = bool(pairs) and len(pairs) == len(in_pairs) * (len(in_pairs) - 1) // 2
    if clique and list(unsettled) == in_pairs:
        return (
            f"the intervals of {_names(in_pairs)} overlap each other and those of factors not named, "
            f"so neither their order nor the choice of {what} is certain"
        )
    if pairs:
        # When not every pair overlaps, name the pairs that do.
        overlapping = _names(in_pairs) if clique else _join([f"*{a.label}*–*{b.label}*" for a, b in pairs])
        clauses.append(f"the intervals of {overlapping} overlap, so their order is uncertain")
    if unsettled:
        noun, verb = ("interval", "overlaps") if len(unsettled) == 1 else ("intervals", "overlap")
        clauses.append(
            f"the {noun} of {_names(unsettled)} {verb} those of factors not named, "
            f"so the choice of {what} is not certain"
        )
    return "; ".join(clauses)
