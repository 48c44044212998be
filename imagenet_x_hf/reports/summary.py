"""What a model's results say, in plain sentences.

The section of a model card and the HTML report state the same summary: it groups the
factors by what their intervals say. A factor's interval is "above 1" when its lower
end exceeds 1 (the model clearly fails more often than its average on those images)
and "below 1" when its upper end is under 1. A factor whose interval includes 1 shows
"no clear difference" from the average, or, when fewer than ``FEW_IMAGES`` images carry
it, has "too few images to tell". Those four groups are what the summary states; it
makes no other claim of order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from imagenet_x_hf.reports.format import (
    format_interval,
    format_percent,
    format_ratio,
    images_text,
    join_words,
)
from imagenet_x_hf.reports.zoo_sentence import zoo_sentence
from imagenet_x_hf.results import FEW_IMAGES as FEW_IMAGES
from imagenet_x_hf.results import FactorResult, Placement, Results

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


def accuracy_name(error_type: str) -> str:
    """What the overall accuracy is called under ``error_type``: ``"ReaL accuracy"`` for ReaL labels.

    >>> accuracy_name("real_class"), accuracy_name("class")
    ('ReaL accuracy', 'Top-1 accuracy')
    """
    return ACCURACY_NAMES.get(error_type, "Accuracy")


def _mentions(rows: Sequence[FactorResult]) -> str:
    """``*texture* (2.15×, 282 images), *shape* (1.54×, 679)``: times its average error rate, images."""
    return join_words(
        f"*{row.label}* ({format_ratio(row.error_ratio)}×, "
        + (images_text(row.images) if i == 0 else f"{row.images:,}")
        + ")"
        for i, row in enumerate(rows)
    )


def _count(rows: Sequence[FactorResult], total: int) -> str:
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
    more: list[FactorResult]
    less: list[FactorResult]
    average: list[FactorResult]
    unclear: list[FactorResult]  # interval includes 1 and under FEW_IMAGES images
    without_images: list[FactorResult]
    without_interval: list[FactorResult]
    few_images: list[FactorResult]
    worst: list[FactorResult]
    best: list[FactorResult]
    intervals: bool
    lead: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def sentences(self) -> list[str]:
        return self.lead + self.details

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def summarize(results: Results, *, k: int = 3, zoo: Placement | None = None) -> Summary:
    """Group the factors by what their intervals say, and say it in a few short sentences.

    ``lead`` holds the accuracy; then what is unusual about the model: the factors on
    which it differs from released models of its accuracy (``zoo_sentence``, from
    ``zoo`` or ``results.zoo``), or, without that placement, one sentence saying that
    raw ratios mostly follow accuracy; then, second, the raw ratios: the factors on
    which the model clearly fails more than its average (whole interval above 1),
    strongest first, with their image counts. ``details`` holds one sentence each for the factors where it
    clearly fails less, those with no clear difference, and those with too few images to tell.

    >>> from imagenet_x_hf.schema import FACTORS
    >>> rows = {f: {"images": 500, "correct": 400, "accuracy": 0.8, "error_ratio": 1.0,
    ...             "error_ratio_low": 0.9, "error_ratio_high": 1.1} for f in FACTORS}
    >>> rows["style"] = {"images": 40, "correct": 20, "accuracy": 0.5, "error_ratio": 2.5,
    ...                  "error_ratio_low": 1.8, "error_ratio_high": 3.3}
    >>> s = summarize(Results.from_dict({"accuracy": 0.8, "images": 9000, "factors": rows}))
    >>> [r.factor for r in s.more], [r.factor for r in s.unclear], len(s.average)
    (['style'], [], 15)
    >>> print(s.lead[2])
    It fails more often than its average on images with *style* (2.50×, 40 images).
    """
    rows = list(results.factors)
    scored = [r for r in rows if r.error_ratio is not None]
    ranked = sorted(scored, key=lambda r: -r.error_ratio)
    k = max(0, min(k, len(ranked) // 2))
    groups: dict[str, list[FactorResult]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    s = Summary(
        accuracy_name=accuracy_name(results.scoring.error_type),
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
    s.lead.extend(_lead(results if zoo is None else results.replace(zoo=zoo), s))
    s.details.extend(_details(s))
    return s


RAW_FOLLOWS_ACCURACY = (
    "Raw error ratios largely follow overall accuracy: across the ~2,500 models the ImageNet-X authors "
    "released, better models concentrate their remaining errors on the same hard factors, so the ratios "
    "below say as much about its accuracy as about the model (`imagenet-x rank` compares it with "
    "models of its accuracy)."
)


def _lead(results: Results, s: Summary) -> list[str]:
    out = [
        f"**{s.accuracy_name}: {format_percent(results.accuracy)}** on "
        f"{results.images:,} annotated ImageNet {results.scoring.split} images."
    ]
    out.append(zoo_sentence(results) or RAW_FOLLOWS_ACCURACY)
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
        names = join_words([f"*{r.label}* ({format_interval(r)})" for r in s.average])
        out.append(f"No clear difference from average on {names}: the interval includes 1.")
    if s.unclear:
        names = join_words(
            [f"*{r.label}* ({images_text(r.images)}, interval {format_interval(r)})" for r in s.unclear]
        )
        out.append(f"Too few images to tell for {names}.")
    return out + _coverage(s)


def _coverage(s: Summary) -> list[str]:
    if not s.without_images:
        return []
    one = len(s.without_images) == 1
    names = join_words([f"*{r.label}*" for r in s.without_images])
    return [f"No scored image carries {names}, so {'it has' if one else 'they have'} no error ratio."]
