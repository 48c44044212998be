"""One sentence placing a model among the authors' released models, from its ``Placement``.

A factor is named when its excess interval (error ratio minus what models of its
accuracy show, with both uncertainties) excludes 0; at most three each way, largest first.
"""

from __future__ import annotations

import math

from imagenet_x_hf.reports.format import factor_label, join_words
from imagenet_x_hf.results import Placement, PlacementFactor, Results

_ZOO_NAMED = 3


def _mention(factor: str, entry: PlacementFactor, results: Results, side: str) -> str:
    ratio = entry.error_ratio if entry.error_ratio is not None else results.factor(factor).error_ratio
    expected = entry.expected_error_ratio
    parts = []
    if ratio is not None and expected is not None:
        parts.append(f"{ratio:.2f} vs {expected:.2f} expected")
    p = entry.percentile_similar_accuracy
    if p is not None:
        # Rounded down: a claim about a share of models never rounds up (99.93 is not "100%").
        share = math.floor(p if side == "more" else 100 - p)
        parts.append(f"{'higher' if side == 'more' else 'lower'} than {share}% of them")
    return f"*{factor_label(factor)}*" + (f" ({'; '.join(parts)})" if parts else "")


def _who(placement: Placement) -> str:
    similar = max((e.similar_models for e in placement.factors.values() if e.similar_models), default=None)
    window, total = placement.similar_window, placement.models
    if similar:
        near = f"the {similar:,} released ImageNet models"
        near += f" within ±{100 * window:g} points of its accuracy" if window else " of similar accuracy"
    else:
        near = "released ImageNet models of similar accuracy"
    of_zoo = (
        f" (of {int(total):,} in the ImageNet-X authors' zoo)" if total else " (the ImageNet-X authors' zoo)"
    )
    return near + of_zoo


def zoo_sentence(results: Results) -> str | None:
    """The sentence, or None when the results hold no placement.

    >>> from imagenet_x_hf.schema import FACTORS
    >>> rows = {f: {"images": 0, "error_ratio": None} for f in FACTORS}
    >>> factors = {f: {} for f in FACTORS}
    >>> factors["texture"] = {"error_ratio": 2.15, "expected_error_ratio": 1.7, "excess": 0.45,
    ...     "excess_interval": [0.2, 0.7], "percentile_similar_accuracy": 94.0, "similar_models": 310}
    >>> zoo = {"zoo": {"models": 2500, "similar_window": 0.02}, "factors": factors}
    >>> print(zoo_sentence(Results.from_dict({"accuracy": 0.8, "images": 0, "factors": rows, "zoo": zoo})))
    Among the 310 released ImageNet models within ±2 points of its accuracy (of 2,500 in the ImageNet-X authors' zoo), it fails more than expected for its accuracy on *texture* (2.15 vs 1.70 expected; higher than 94% of them); on the other factors it is within their usual spread.
    """
    placement = results.zoo
    if placement is None or placement.skipped or (placement.coverage or {}).get("placed") is False:
        return None
    if placement.extrapolated:
        reason = (placement.extrapolation or {}).get("reason") or "too few are near it"
        return (
            f"Released ImageNet models (the ImageNet-X authors' zoo) say little about models of its accuracy "
            f"({reason}), so no factor is called unusual."
        )
    more, less = [], []
    for factor, entry in placement.factors.items():
        low, high = entry.excess_interval
        if low is None or high is None:
            continue
        excess = entry.excess if entry.excess is not None else (low + high) / 2
        if low > 0:
            more.append((excess, factor, entry))
        elif high < 0:
            less.append((excess, factor, entry))
    more.sort(key=lambda t: -t[0])
    less.sort(key=lambda t: t[0])
    clauses = []
    if more:
        clauses.append(
            "it fails more than expected for its accuracy on "
            + join_words([_mention(f, e, results, "more") for _, f, e in more[:_ZOO_NAMED]])
        )
    if less:
        clauses.append(
            ("and less on " if more else "it fails less than expected for its accuracy on ")
            + join_words([_mention(f, e, results, "less") for _, f, e in less[:_ZOO_NAMED]])
        )
    if not clauses:
        return f"Among {_who(placement)}, its error ratios are within their usual spread on every factor."
    return f"Among {_who(placement)}, {', '.join(clauses)}; on the other factors it is within their usual spread."


def zoo_explanation(placement: Placement | None) -> str | None:
    """What the comparison with released models rests on, and what its interval means, in plain words.

    >>> from imagenet_x_hf.schema import FACTORS
    >>> near = {"window": 0.02, "description": "720 models in 77 families: 645 runs of 2 ResNet-50 "
    ...         "augmentation sweeps counted as 2 families, 75 other models"}
    >>> block = {"reference": {"near": near}, "factors": {f: {} for f in FACTORS}}
    >>> print(zoo_explanation(Placement.from_dict(block)))
    Models of its accuracy are the released models within ±2 points of it, 720 models in 77 families: 645 runs of 2 ResNet-50 augmentation sweeps counted as 2 families, 75 other models; each family weighs as one model. A factor is named when its excess (its error ratio minus the ratio expected at its accuracy) has a 95% interval that excludes 0: the interval holds 95% of the models of this accuracy, so about 1 factor in 20 of a typical model is named by chance.
    """
    if placement is None or placement.skipped:
        return None
    near = (placement.reference or {}).get("near") or {}
    out = []
    if near.get("description"):
        window = near.get("window") or 0.02
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
