"""What a RESULTS dict says, in rows and in plain sentences.

The section of a model card, the comparison table and the plots all read a RESULTS
dict (see ``imagenet_x_hf.metrics.score_predictions``) through these functions, so
they agree on ordering, rounding and on what counts as a clear difference.

A factor's interval is "above 1" when its lower end exceeds 1 (the model clearly
fails more often than its average on those images) and "below 1" when its upper end
is under 1. A factor whose interval includes 1 shows "no clear difference" from the
average, or, when fewer than ``FEW_IMAGES`` images carry it, has "too few images to
tell". Those four groups are what the summary states; it makes no other claim of order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imagenet_x_hf.errors import ResultsFileError
from imagenet_x_hf.schema import FACTOR_DEFINITIONS, FACTORS

# Factors carried by fewer images than this get a note that their interval is wide.
FEW_IMAGES = 100
# An interval end within this of 1 counts as touching 1: rounding in the interval's
# computation must not turn "includes 1" into "below 1".
TOLERANCE = 1e-9

ACCURACY_NAMES = {
    "class": "Top-1 accuracy",
    "real_class": "ReaL accuracy",
    "metaclass": "Metaclass accuracy",
}
ACCURACY_MEANINGS = {
    "class": "the prediction is the labelled class",
    "real_class": "the prediction is among the image's ImageNet-ReaL labels (Beyer et al., 2020)",
    "metaclass": "the predicted class is in the same metaclass as the labelled one",
}


def accuracy_name(results: Mapping) -> str:
    """What the overall accuracy of these results is called: ``"ReaL accuracy"`` for ReaL labels.

    >>> accuracy_name({"error_type": "real_class"}), accuracy_name({})
    ('ReaL accuracy', 'Top-1 accuracy')
    """
    return ACCURACY_NAMES.get(str(results.get("error_type", "class")), "Accuracy")


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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bad_value(source: str, where: str, value: Any, wanted: str) -> ResultsFileError:
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return ResultsFileError(
        f"{source}: {where} is {shown}, not {wanted}; the file is damaged or was not written by "
        "imagenet-x: rescore the predictions with 'imagenet-x score --json' or rerun 'imagenet-x evaluate'"
    )


def _check_number(
    source: str, where: str, value: Any, *, optional: bool, upper: float | None = None, integer=False
) -> None:
    if value is None and optional:
        return
    wanted = "a whole number >= 0" if integer else "a number >= 0" + (f" and <= {upper:g}" if upper else "")
    if not _is_number(value) or value < 0 or (upper is not None and value > upper):
        raise _bad_value(source, where, value, wanted)
    if integer and float(value) != int(value):
        raise _bad_value(source, where, value, wanted)


def check_results(results: Any, *, source: str = "the results") -> dict:
    """Fail clearly unless ``results`` has the keys the reports read, with values of the right kind.

    Every number the reports use is checked (a string, a boolean, NaN or a negative count is
    an error naming the key), as are the scoring settings. Returns a copy of ``results``.

    >>> check_results({"accuracy": 0.5})
    Traceback (most recent call last):
    ...
    imagenet_x_hf.errors.ResultsFileError: the results is not an ImageNet-X results dict: it lacks 'images', 'factors'; produce it with 'imagenet-x score' or 'imagenet-x evaluate'
    >>> rows = {f: {"images": 1, "error_ratio": 1.0} for f in FACTORS}
    >>> check_results({"accuracy": "high", "images": 3, "factors": rows})
    Traceback (most recent call last):
    ...
    imagenet_x_hf.errors.ResultsFileError: the results: 'accuracy' is 'high', not a number >= 0 and <= 1; the file is damaged or was not written by imagenet-x: rescore the predictions with 'imagenet-x score --json' or rerun 'imagenet-x evaluate'
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
    if not isinstance(results["factors"], Mapping):
        raise _bad_value(source, "'factors'", results["factors"], "a mapping of factor -> counts")
    absent = [f for f in FACTORS if f not in results["factors"]]
    if absent:
        raise ResultsFileError(
            f"{source} has no entry for the factor(s) {', '.join(absent)}; it was written by another "
            "tool or an older version: rescore the predictions with 'imagenet-x score'"
        )
    _check_number(source, "'accuracy'", results["accuracy"], optional=False, upper=1)
    _check_number(source, "'images'", results["images"], optional=False, integer=True)
    for factor in FACTORS:
        entry = results["factors"][factor]
        where = f"'factors.{factor}"
        if not isinstance(entry, Mapping):
            raise _bad_value(source, where + "'", entry, "a mapping with 'images' and 'error_ratio'")
        _check_number(source, where + ".images'", entry.get("images", 0), optional=True, integer=True)
        _check_number(source, where + ".correct'", entry.get("correct"), optional=True, integer=True)
        _check_number(source, where + ".accuracy'", entry.get("accuracy"), optional=True, upper=1)
        for key in ("error_ratio", "error_ratio_low", "error_ratio_high"):
            _check_number(source, f"{where}.{key}'", entry.get(key), optional=True)
    _check_settings(results, source=source)
    return dict(results)


def _check_settings(results: Mapping, *, source: str) -> None:
    from imagenet_x_hf.settings import SettingsError

    try:
        scoring_settings(results)
    except SettingsError as err:
        raise ResultsFileError(
            f"{source} records scoring settings that imagenet-x does not know ({err}); "
            "rescore the predictions with 'imagenet-x score --json'"
        ) from err


def scoring_settings(results: Mapping):
    """The ``ScoringOptions`` a RESULTS dict was computed with (defaults for settings it does not record).

    >>> scoring_settings({"which_factor": "multi", "images": 3}).cli_args()
    ['--which-factor', 'multi']
    """
    import dataclasses

    from imagenet_x_hf.settings import ScoringOptions

    names = {f.name for f in dataclasses.fields(ScoringOptions)}
    return ScoringOptions.from_dict({k: results[k] for k in names if k in results})


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


def _end(value: float) -> str:
    # An end that rounds to 1 but is not 1 gets as many decimals as it takes to differ from 1,
    # so that an interval above 1 never reads "1.00–..." (or "1.000–...").
    for digits in range(2, 8):
        text = f"{value:.{digits}f}"
        if float(text) != 1 or abs(value - 1) <= TOLERANCE:
            return text
    return text


def format_interval(row: FactorRow) -> str:
    """``"1.21–1.40"``, or ``"n/a"`` without an interval; an end near 1 gets a third decimal.

    >>> format_interval(FactorRow("pose", 10, 5, 0.5, 1.3, 1.0036, 1.62))
    '1.004–1.62'
    >>> format_interval(FactorRow("pose", 10, 5, 0.5, 1.3, 1.00031, 1.62)), format_interval(FactorRow("pose", 10, 5, 0.5, 1.0, 1.0, 1.0))
    ('1.0003–1.62', '1.00–1.00')
    """
    if not row.has_interval:
        return "n/a"
    return f"{_end(row.low)}–{_end(row.high)}"


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


def _images(n: int) -> str:
    return f"{n:,} image" + ("" if n == 1 else "s")


def _mentions(rows: Sequence[FactorRow]) -> str:
    """``*texture* (2.15×, 282 images), *shape* (1.54×, 679)``: times its average error rate, images."""
    return _join(
        f"*{row.label}* ({format_ratio(row.error_ratio)}×, "
        + (_images(row.images) if i == 0 else f"{row.images:,}")
        + ")"
        for i, row in enumerate(rows)
    )


def _count(rows: Sequence[FactorRow], total: int) -> str:
    n = len(rows)
    return "" if n < 3 else f"{n} of the {total} factors, strongest first: "


@dataclass(frozen=True)
class Summary:
    """The facts the plain-language summary states, and its sentences.

    ``more`` (interval above 1) is sorted strongest first (highest error ratio), ``less``
    (interval below 1) lowest first; ``average`` (no clear difference) and ``unclear``
    (too few images to tell) split the factors whose interval includes 1; ``worst``/``best`` are the highest and lowest ``k`` error ratios
    whatever their intervals (for charts and tables; the sentences do not rank them).
    """

    accuracy_name: str
    more: list[FactorRow]
    less: list[FactorRow]
    average: list[FactorRow]
    unclear: list[FactorRow]  # interval includes 1 and under FEW_IMAGES images
    without_images: list[FactorRow]
    without_interval: list[FactorRow]
    few_images: list[FactorRow]
    worst: list[FactorRow]
    best: list[FactorRow]
    intervals: bool
    lead: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def above(self) -> list[FactorRow]:
        return self.more

    @property
    def below(self) -> list[FactorRow]:
        return self.less

    @property
    def includes_one(self) -> list[FactorRow]:
        return self.average + self.unclear

    @property
    def sentences(self) -> list[str]:
        return self.lead + self.details

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def summarize(results: Mapping, *, k: int = 3, zoo: Mapping | None = None) -> Summary:
    """Group the factors by what their intervals say, and say it in a few short sentences.

    ``lead`` holds the accuracy; then what is unusual about the model: the factors on
    which it differs from released models of its accuracy (:func:`zoo_sentence`, from
    ``zoo`` or ``results["zoo"]``), or, without that placement, one sentence saying that
    raw ratios mostly follow accuracy; then, second, the raw ratios: the factors on
    which the model clearly fails more than its average (whole interval above 1),
    strongest first, with their image counts. ``details`` holds one sentence each for the factors where it
    clearly fails less, those with no clear difference, and those with too few images to tell.

    >>> rows = {f: {"images": 500, "correct": 400, "accuracy": 0.8, "error_ratio": 1.0,
    ...             "error_ratio_low": 0.9, "error_ratio_high": 1.1} for f in FACTORS}
    >>> rows["style"] = {"images": 40, "correct": 20, "accuracy": 0.5, "error_ratio": 2.5,
    ...                  "error_ratio_low": 1.8, "error_ratio_high": 3.3}
    >>> s = summarize({"accuracy": 0.8, "images": 9000, "error_type": "class", "factors": rows})
    >>> [r.factor for r in s.more], [r.factor for r in s.unclear], len(s.average)
    (['style'], [], 15)
    >>> print(s.lead[2])
    It fails more often than its average on images with *style* (2.50×, 40 images).
    """
    rows = factor_rows(results)
    scored = [r for r in rows if r.error_ratio is not None]
    ranked = sorted(scored, key=lambda r: -r.error_ratio)
    k = max(0, min(k, len(ranked) // 2))
    groups: dict[str, list[FactorRow]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    s = Summary(
        accuracy_name=accuracy_name(results),
        more=sorted(groups.get("more", []), key=lambda r: -r.error_ratio),
        less=sorted(groups.get("less", []), key=lambda r: r.error_ratio),
        average=groups.get("average", []),
        unclear=groups.get("unclear", []),
        without_images=groups.get("no_images", []),
        without_interval=groups.get("no_interval", []),
        few_images=[r for r in scored if r.images < FEW_IMAGES],
        worst=ranked[:k],
        best=ranked[::-1][:k],
        intervals=bool(scored) and not groups.get("no_interval"),
    )
    block = zoo if zoo is not None else results.get("zoo")
    s.lead.extend(_lead(results, s, block if isinstance(block, Mapping) else None))
    s.details.extend(_details(s))
    return s


RAW_FOLLOWS_ACCURACY = (
    "Raw error ratios largely follow overall accuracy: across the ~2,500 models the ImageNet-X authors "
    "released, better models concentrate their remaining errors on the same hard factors, so the ratios "
    "below say as much about its accuracy as about the model (`imagenet-x rank` compares it with "
    "models of its accuracy)."
)


def _lead(results: Mapping, s: Summary, zoo: Mapping | None) -> list[str]:
    split = str(results.get("split") or "validation")
    out = [
        f"**{s.accuracy_name}: {format_percent(results['accuracy'])}** on "
        f"{int(results['images']):,} annotated ImageNet {split} images."
    ]
    out.append(zoo_sentence({**results, "zoo": zoo}) or RAW_FOLLOWS_ACCURACY)
    if not s.intervals:
        out.append(
            "No intervals were computed, so no factor can be said to differ clearly from the "
            "model's average; the table lists the error ratios."
        )
    elif s.more:
        scored = len(s.more) + len(s.less) + len(s.average) + len(s.unclear)
        out.append(
            f"It fails more often than its average on images with {_count(s.more, scored)}{_mentions(s.more)}."
        )
    else:
        out.append("On no factor does it clearly fail more often than its average.")
    return out


def _details(s: Summary) -> list[str]:
    out = []
    if not s.intervals:
        return out + _coverage(s)
    if s.less:
        out.append(f"It fails less often than average on {_mentions(s.less)}.")
    if s.average:
        names = _join([f"*{r.label}* ({format_interval(r)})" for r in s.average])
        out.append(f"No clear difference from average on {names}: the interval includes 1.")
    if s.unclear:
        names = _join(
            [f"*{r.label}* ({_images(r.images)}, interval {format_interval(r)})" for r in s.unclear]
        )
        out.append(f"Too few images to tell for {names}.")
    return out + _coverage(s)


def _coverage(s: Summary) -> list[str]:
    if not s.without_images:
        return []
    one = len(s.without_images) == 1
    names = _join([f"*{r.label}*" for r in s.without_images])
    return [f"No scored image carries {names}, so {'it has' if one else 'they have'} no error ratio."]


# ---------------------------------------------------------------------------
# The model among released models (the ``zoo`` block of results.json)
#
# Keys read, each optional (a block without them gives no sentence):
#   results["zoo"]["skipped"]                       truthy: no sentence
#   results["zoo"]["factors"][factor]["excess_interval"]     [low, high] of error ratio
#                                                   minus the zoo's expected ratio at this accuracy
#   results["zoo"]["factors"][factor]["excess"]     that difference (ordering)
#   results["zoo"]["factors"][factor]["error_ratio"], ["expected_error_ratio"]
#   results["zoo"]["factors"][factor]["percentile_similar_accuracy"]   0-100 (a 0-1 fraction is
#                                                   read as such when every value is <= 1)
#   results["zoo"]["factors"][factor]["similar_models"]       models of similar accuracy
#   results["zoo"]["zoo"]["models"] (or results["zoo"]["models"])            zoo size
#   results["zoo"]["zoo"]["similar_window"] (or results["zoo"]["similar_window"])   accuracy
#                                                   window as a fraction (0.02 = +-2 points)
# ---------------------------------------------------------------------------

_ZOO_NAMED = 3


def _number_or_none(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


def zoo_sentence(results: Mapping) -> str | None:
    """One sentence placing the model among released models of similar accuracy, or None.

    A factor is named when its excess interval (error ratio minus what models of its
    accuracy show, with both uncertainties) excludes 0; at most three each way, largest first.

    >>> zoo = {"zoo": {"models": 2500, "similar_window": 0.02}, "factors": {
    ...     "texture": {"error_ratio": 2.15, "expected_error_ratio": 1.7, "excess": 0.45,
    ...                 "excess_interval": [0.2, 0.7], "percentile_similar_accuracy": 94.0,
    ...                 "similar_models": 310}}}
    >>> print(zoo_sentence({"zoo": zoo}))
    Among the 310 released ImageNet models within ±2 points of its accuracy (of 2,500 in the ImageNet-X authors' zoo), it fails more than expected for its accuracy on *texture* (2.15 vs 1.70 expected; higher than 94% of them); on the other factors it is within their usual spread.
    """
    block = results.get("zoo")
    if (
        not isinstance(block, Mapping)
        or block.get("skipped")
        or not isinstance(block.get("factors"), Mapping)
    ):
        return None
    coverage = block.get("coverage") if isinstance(block.get("coverage"), Mapping) else {}
    if coverage.get("placed") is False:
        return None
    meta = block.get("zoo") if isinstance(block.get("zoo"), Mapping) else {}
    total = _number_or_none(meta.get("models", block.get("models")))
    extrapolation = block.get("extrapolation") if isinstance(block.get("extrapolation"), Mapping) else {}
    window = _number_or_none(meta.get("similar_window", block.get("similar_window")))
    entries = {f: e for f, e in block["factors"].items() if f in FACTORS and isinstance(e, Mapping)}
    if not entries:
        return None
    percentiles = [_number_or_none(e.get("percentile_similar_accuracy")) for e in entries.values()]
    scale = 100.0 if all(p is None or p <= 1 for p in percentiles) and any(p for p in percentiles) else 1.0
    similar = [_number_or_none(e.get("similar_models")) for e in entries.values()]
    similar = max((int(n) for n in similar if n is not None), default=None)

    more, less = [], []
    for factor, entry in entries.items():
        if extrapolation.get("extrapolated"):
            break  # beyond what the released models show: no verdict
        interval = entry.get("excess_interval")
        if not (isinstance(interval, Sequence) and len(interval) == 2):
            continue
        low, high = (_number_or_none(v) for v in interval)
        if low is None or high is None:
            continue
        excess = _number_or_none(entry.get("excess"))
        excess = excess if excess is not None else (low + high) / 2
        if low > 0:
            more.append((excess, factor, entry))
        elif high < 0:
            less.append((excess, factor, entry))
    more.sort(key=lambda t: -t[0])
    less.sort(key=lambda t: t[0])

    def mention(factor: str, entry: Mapping, side: str) -> str:
        ratio = _number_or_none(entry.get("error_ratio"))
        if ratio is None:
            ratio = _number_or_none(results["factors"].get(factor, {}).get("error_ratio"))
        expected = _number_or_none(entry.get("expected_error_ratio"))
        parts = []
        if ratio is not None and expected is not None:
            parts.append(f"{ratio:.2f} vs {expected:.2f} expected")
        p = _number_or_none(entry.get("percentile_similar_accuracy"))
        if p is not None:
            p *= scale
            # Rounded down: a claim about a share of models never rounds up (99.93 is not "100%").
            share = math.floor(p if side == "more" else 100 - p)
            parts.append(f"{'higher' if side == 'more' else 'lower'} than {share}% of them")
        return f"*{factor_label(factor)}*" + (f" ({'; '.join(parts)})" if parts else "")

    if similar:
        near = f"the {similar:,} released ImageNet models"
        near += f" within ±{100 * window:g} points of its accuracy" if window else " of similar accuracy"
    else:
        near = "released ImageNet models of similar accuracy"
    of_zoo = (
        f" (of {int(total):,} in the ImageNet-X authors' zoo)" if total else " (the ImageNet-X authors' zoo)"
    )
    if extrapolation.get("extrapolated"):
        return (
            f"Released ImageNet models (the ImageNet-X authors' zoo) say little about models of its accuracy "
            f"({extrapolation.get('reason') or 'too few are near it'}), so no factor is called unusual."
        )
    clauses = []
    if more:
        clauses.append(
            "it fails more than expected for its accuracy on "
            + _join([mention(f, e, "more") for _, f, e in more[:_ZOO_NAMED]])
        )
    if less:
        clauses.append(
            ("and less on " if more else "it fails less than expected for its accuracy on ")
            + _join([mention(f, e, "less") for _, f, e in less[:_ZOO_NAMED]])
        )
    if not clauses:
        return f"Among {near}{of_zoo}, its error ratios are within their usual spread on every factor."
    tail = "; on the other factors it is within their usual spread."
    return f"Among {near}{of_zoo}, {', '.join(clauses)}{tail}"


def zoo_explanation(block: Mapping | None) -> str | None:
    """What the comparison with released models rests on, and what its interval means, in plain words.

    >>> print(zoo_explanation({"reference": {"near": {"window": 0.02,
    ...     "description": "720 models in 77 families: 645 runs of 2 ResNet-50 augmentation sweeps "
    ...     "counted as 2 families, 75 other models"}}, "factors": {}}))
    Models of its accuracy are the released models within ±2 points of it, 720 models in 77 families: 645 runs of 2 ResNet-50 augmentation sweeps counted as 2 families, 75 other models; each family weighs as one model. A factor is named when its excess (its error ratio minus the ratio expected at its accuracy) has a 95% interval that excludes 0: the interval holds 95% of the models of this accuracy, so about 1 factor in 20 of a typical model is named by chance.
    """
    if (
        not isinstance(block, Mapping)
        or block.get("skipped")
        or not isinstance(block.get("factors"), Mapping)
    ):
        return None
    reference = block.get("reference") if isinstance(block.get("reference"), Mapping) else {}
    near = reference.get("near") if isinstance(reference.get("near"), Mapping) else {}
    out = []
    if near.get("description"):
        window = _number_or_none(near.get("window")) or 0.02
        out.append(
            f"Models of its accuracy are the released models within ±{100 * window:g} points of it, "
            f"{near['description']}; each family weighs as one model."
        )
    out.append(
        "A factor is named when its excess (its error ratio minus the ratio expected at its accuracy) has a "
        "95% interval that excludes 0: the interval holds 95% of the models of this accuracy, so about 1 "
        "factor in 20 of a typical model is named by chance."
    )
    return " ".join(out)
