"""The plain-language summary: rankings and every claim about intervals, on hand-built results."""

from __future__ import annotations

import itertools

import pytest

from imagenet_x_hf.reports.errors import ResultsFileError
from imagenet_x_hf.reports.summary import check_results, factor_rows, summarize
from imagenet_x_hf.schema import FACTORS


def make_results(intervals: dict[str, tuple | None], *, default=(1.0, 0.9, 1.1), images: int = 500) -> dict:
    """A RESULTS dict whose factors have the given (error ratio, low, high); None = no image."""
    factors = {}
    for factor in FACTORS:
        spec = intervals.get(factor, default)
        if spec is None:
            factors[factor] = dict(
                images=0,
                correct=0,
                accuracy=None,
                error_ratio=None,
                error_ratio_low=None,
                error_ratio_high=None,
            )
            continue
        er, low, high = spec
        factors[factor] = dict(
            images=images,
            correct=images // 2,
            accuracy=0.5,
            error_ratio=er,
            error_ratio_low=low,
            error_ratio_high=high,
        )
    return {
        "model": "toy",
        "accuracy": 0.75,
        "images": 9999,
        "error_type": "class",
        "confidence_level": 0.95,
        "factors": factors,
        "error_ratio": {f: factors[f]["error_ratio"] for f in FACTORS},
    }


def overlaps(a, b) -> bool:
    return a[1] <= b[2] and b[1] <= a[2]


def test_separated_extremes_get_no_caution():
    # Three clearly hardest and three clearly easiest, far from the 10 others (all at 1.0 +- 0.1).
    spec = {
        "style": (3.0, 2.8, 3.2),
        "texture": (2.5, 2.3, 2.7),
        "darker": (2.0, 1.8, 2.2),
        "pose": (0.2, 0.15, 0.25),
        "pattern": (0.4, 0.35, 0.45),
        "color": (0.6, 0.55, 0.65),
    }
    s = summarize(make_results(spec))
    assert [r.factor for r in s.worst] == ["style", "texture", "darker"]
    assert [r.factor for r in s.best] == ["pose", "pattern", "color"]
    assert not s.worst_pairs and not s.best_pairs and not s.worst_unsettled and not s.best_unsettled
    assert not any(sentence.startswith("Caution") for sentence in s.sentences)
    assert "do not overlap" in s.text
    assert {r.factor for r in s.above} == {"style", "texture", "darker"}
    assert {r.factor for r in s.below} == {"pose", "pattern", "color"}
    assert len(s.includes_one) == 10
    assert "including 1 (no clear difference from average) for 10 factors" in s.text


def test_overlaps_are_reported_exactly_as_the_intervals_say():
    spec = {
        "style": (3.0, 1.4, 4.6),  # overlaps texture, darker and the unlisted "larger"
        "texture": (2.5, 2.1, 2.9),
        "darker": (1.6, 1.05, 2.15),  # overlaps texture and the unlisted "larger"
        "larger": (1.3, 1.15, 1.45),
        "pose": (0.5, 0.45, 0.55),
        "pattern": (0.7, 0.66, 0.74),
        "color": (0.8, 0.76, 0.84),
    }
    results = make_results(spec, default=(1.0, 0.95, 1.05))
    s = summarize(results)
    rows = {r.factor: (r.error_ratio, r.low, r.high) for r in factor_rows(results)}
    worst = [r.factor for r in s.worst]
    assert worst == ["style", "texture", "darker"]
    # Oracle: brute force over the named factors.
    expected_pairs = {(a, b) for a, b in itertools.combinations(worst, 2) if overlaps(rows[a], rows[b])}
    assert (
        {(a.factor, b.factor) for a, b in s.worst_pairs}
        == expected_pairs
        == {
            ("style", "texture"),
            ("style", "darker"),
            ("texture", "darker"),
        }
    )
    expected_unsettled = [w for w in worst if any(overlaps(rows[w], rows[o]) for o in rows if o not in worst)]
    assert [r.factor for r in s.worst_unsettled] == expected_unsettled == ["style", "darker"]
    # The easiest three are apart from each other and from the rest.
    assert [r.factor for r in s.best] == ["pose", "pattern", "color"]
    assert not s.best_pairs and not s.best_unsettled
    caution = [t for t in s.sentences if t.startswith("Caution")]
    assert len(caution) == 1
    assert "*style*, *texture* and *darker* overlap" in caution[0]
    assert "*style* and *darker* overlap those of factors not named" in caution[0]


def test_partial_overlap_names_the_pairs():
    spec = {
        "style": (3.0, 2.6, 3.4),
        "texture": (2.5, 2.3, 2.7),  # touches style and darker, but style and darker are apart
        "darker": (2.0, 1.8, 2.35),
    }
    s = summarize(make_results(spec))
    assert {(a.factor, b.factor) for a, b in s.worst_pairs} == {("style", "texture"), ("texture", "darker")}
    assert "*style*–*texture* and *texture*–*darker*" in s.text


def test_factor_without_images_is_left_out_and_said():
    s = summarize(make_results({"brighter": None, "style": (2.0, 1.5, 2.5)}))
    assert "brighter" not in [r.factor for r in s.worst + s.best]
    assert [r.factor for r in s.without_images] == ["brighter"]
    assert "No scored image carries *brighter*, so it has no error ratio." in s.text


def test_few_images_are_flagged():
    results = make_results({})
    results["factors"]["style"]["images"] = 43
    s = summarize(results)
    assert [r.factor for r in s.few_images] == ["style"]
    assert "*style* (43)" in s.text


def test_all_equal_error_ratios_rank_nothing():
    s = summarize(make_results({"pose": None}, default=(1.0, 0.8, 1.0)))
    assert "no factor stands out" in s.text
    assert "fails most" not in s.text and "Caution" not in s.text
    assert "No scored image carries *pose*" in s.text


def test_missing_intervals_are_not_claimed():
    results = make_results({"style": (2.0, 1.5, 2.5), "pose": (0.5, 0.4, 0.6)})
    for entry in results["factors"].values():
        entry["error_ratio_low"] = entry["error_ratio_high"] = None
    s = summarize(results)
    assert not s.intervals
    assert "No intervals were computed" in s.text
    assert "Caution" not in s.text


def test_check_results_names_the_problem():
    with pytest.raises(ResultsFileError, match="lacks 'factors'"):
        check_results({"accuracy": 0.5, "images": 3})
    bad = make_results({})
    del bad["factors"]["style"]
    with pytest.raises(ResultsFileError, match="style"):
        check_results(bad)
    with pytest.raises(ResultsFileError, match="not an ImageNet-X results dict"):
        check_results([1, 2])
