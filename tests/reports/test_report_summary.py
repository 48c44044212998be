"""The plain-language summary: rankings and every claim about intervals, on hand-built results."""

from __future__ import annotations

import numpy as np
import pytest

from imagenet_x_hf.errors import ResultsFileError
from imagenet_x_hf.reports.summary import RAW_FOLLOWS_ACCURACY
from imagenet_x_hf.reports.summary import summarize as summarize_results
from imagenet_x_hf.reports.zoo_sentence import zoo_sentence as zoo_sentence_of
from imagenet_x_hf.results import Results
from imagenet_x_hf.schema import FACTORS


def summarize(data: dict):
    return summarize_results(Results.from_dict(data))


def zoo_sentence(data: dict):
    return zoo_sentence_of(Results.from_dict(data))


def set_images(results: dict, factor: str, images: int) -> None:
    """Give ``factor`` ``images`` images, half of them right (so the counts still add up)."""
    results["factors"][factor].update(images=images, correct=images // 2, accuracy=(images // 2) / images)


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


def named_in(sentence: str) -> set[str]:
    """The factors a sentence names (as *label*)."""
    return {f for f in FACTORS if f"*{f.replace('_', ' ')}*" in sentence}


def test_groups_and_sentences_follow_the_intervals():
    spec = {
        "style": (3.0, 2.8, 3.2),
        "texture": (2.5, 1.05, 3.9),
        "darker": (1.2, 1.01, 1.4),
        "pose": (0.2, 0.15, 0.25),
        "pattern": (0.4, 0.35, 0.45),
        "brighter": (0.8, 0.41, 1.37),
    }
    results = make_results(spec)
    set_images(results, "brighter", 44)
    s = summarize(results)
    assert [r.factor for r in s.more] == ["style", "texture", "darker"]  # strongest first
    assert [r.factor for r in s.less] == ["pose", "pattern"]
    assert [r.factor for r in s.unclear] == ["brighter"]
    assert len(s.average) == 16 - 6
    assert s.lead[1] == RAW_FOLLOWS_ACCURACY  # no zoo placement: raw ratios follow accuracy, said first
    lead = s.lead[2]
    assert lead.index("*style*") < lead.index("*texture*") < lead.index("*darker*")
    assert "*style* (3.00×, 500 images)" in lead  # with image counts
    assert s.lead[0] == "**Top-1 accuracy: 75.0%** on 9,999 annotated ImageNet validation images."
    less, average, unclear = s.details[:3]
    assert named_in(less) == {"pose", "pattern"} and less.startswith("It fails less often")
    assert named_in(average) == {r.factor for r in s.average} and "No clear difference" in average
    assert unclear == "Too few images to tell for *brighter* (44 images, interval 0.41–1.37)."
    # No ranking claims beyond what the intervals say.
    assert "Caution" not in s.text and "most" not in s.text


@pytest.mark.parametrize("seed", range(40))
def test_lead_names_exactly_the_factors_whose_interval_lies_above_1(seed):
    rng = np.random.default_rng(seed)
    spec = {}
    for factor in FACTORS:
        center = float(np.exp(rng.normal(0, 0.5)))
        half = float(rng.uniform(0.01, 0.8)) * center
        spec[factor] = (center, max(center - half, 0.0), center + half)
    if seed % 5 == 0:  # some cases with an end exactly at 1 (it touches 1: not above)
        f = FACTORS[seed % 16]
        spec[f] = (1.3, 1.0, 1.6)
    results = make_results(spec)
    s = summarize(results)
    above = {f for f, (_, low, _) in spec.items() if low > 1}
    if above:
        assert named_in(s.lead[2]) == above
    else:
        assert named_in(s.lead[2]) == set() and "On no factor" in s.lead[2]
    assert named_in(" ".join(s.lead)) == above
    below = {f for f, (_, _, high) in spec.items() if high < 1}
    assert {r.factor for r in s.less} == below


def test_ratio_sentence_for_real_labels_names_the_accuracy():
    results = make_results({"style": (2.0, 1.5, 2.5)})
    results["error_type"] = "real_class"
    s = summarize(results)
    assert s.lead[0].startswith("**ReaL accuracy: 75.0%**")


def test_factor_without_images_is_left_out_and_said():
    s = summarize(make_results({"brighter": None, "style": (2.0, 1.5, 2.5)}))
    assert "brighter" not in [r.factor for r in s.worst + s.best]
    assert [r.factor for r in s.without_images] == ["brighter"]
    assert "No scored image carries *brighter*, so it has no error ratio." in s.text


def test_few_images_are_flagged():
    results = make_results({})
    set_images(results, "style", 43)
    s = summarize(results)
    assert [r.factor for r in s.few_images] == ["style"]
    assert "*style* (43 images, interval 0.90–1.10)" in s.text


def test_all_equal_error_ratios_name_nothing():
    s = summarize(make_results({"pose": None}, default=(1.0, 0.8, 1.0)))
    assert "On no factor does it clearly fail more often" in s.text
    assert not s.more and not s.less
    assert "No scored image carries *pose*" in s.text


def test_missing_intervals_are_not_claimed():
    results = make_results({"style": (2.0, 1.5, 2.5), "pose": (0.5, 0.4, 0.6)})
    for entry in results["factors"].values():
        entry["error_ratio_low"] = entry["error_ratio_high"] = None
    s = summarize(results)
    assert not s.intervals
    assert "No intervals were computed" in s.text
    assert named_in(s.text) == set()


def test_reading_results_names_the_problem():
    with pytest.raises(ResultsFileError, match="lacks 'factors'"):
        Results.from_dict({"accuracy": 0.5, "images": 3})
    bad = make_results({})
    del bad["factors"]["style"]
    with pytest.raises(ResultsFileError, match="style"):
        Results.from_dict(bad)
    with pytest.raises(ResultsFileError, match="not an ImageNet-X results dict"):
        Results.from_dict([1, 2])


def test_an_interval_that_does_not_contain_its_ratio_is_refused():
    """A pose interval 2.00-0.76 (low above the ratio) is damage, not a result to print."""
    results = make_results({"pose": (1.21, 2.0, 0.76)})
    with pytest.raises(ResultsFileError) as err:
        Results.from_dict(results, source="'r.json'")
    assert "factors.pose: the interval 2.00-0.76 does not contain the error ratio 1.21" in str(err.value)
    results = make_results({"style": (0.9, 0.95, 1.2)})  # low above the ratio, still ordered
    with pytest.raises(ResultsFileError, match="factors.style: the interval 0.95-1.20"):
        Results.from_dict(results)
    Results.from_dict(make_results({"style": (1.0, 1.0, 1.0)}))  # an interval may be a point


@pytest.mark.parametrize(
    "change, where",
    [
        (lambda r: r["factors"]["pose"].update(correct=501), "factors.pose: 501 correct of 500 images"),
        (lambda r: r["factors"]["pose"].update(accuracy=0.9), "factors.pose: accuracy 0.9 is not 250 / 500"),
        (lambda r: r["factors"]["pose"].update(images=10_000, correct=5000), "10000 images of only 9999"),
        (lambda r: r.update(error_rate=0.5), "error_rate 0.5 is not 1 - accuracy"),
        (lambda r: r["error_ratio"].update(pose=3.0), "error_ratio.pose is 3.0 but factors.pose says 1.0"),
        (
            lambda r: r.update(coverage=dict(COVERAGE, used=9000)),
            "coverage.used is 9000 but 'images' is 9999",
        ),
        (
            lambda r: r.update(coverage=dict(COVERAGE, predictions=10_001)),
            "10001 predictions are not the 9999 used plus the 3 ignored",
        ),
        (
            lambda r: r.update(coverage=dict(COVERAGE, missing=5)),
            "20000 annotated images are not the 9999 used plus the 5 missing",
        ),
    ],
)
def test_counts_must_add_up(change, where):
    results = make_results({})
    results["coverage"] = dict(COVERAGE)
    Results.from_dict(results)  # as made, they do
    change(results)
    with pytest.raises(ResultsFileError) as err:
        Results.from_dict(results, source="'r.json'")
    assert where in str(err.value) and str(err.value).startswith("'r.json'")


COVERAGE = {
    "annotated": 20000,
    "predictions": 10002,
    "used": 9999,
    "missing": 10001,
    "unannotated_ignored": 1,
    "prototypes_ignored": 2,
    "real_empty_excluded": 0,
}


@pytest.mark.parametrize(
    "path, value, where",
    [
        (("accuracy",), "high", "'accuracy' is 'high'"),
        (("accuracy",), 1.5, "'accuracy' is 1.5"),
        (("accuracy",), True, "'accuracy' is True"),
        (("images",), "9999", "'images' is '9999'"),
        (("factors", "pose", "error_ratio"), "0.74", "'factors.pose.error_ratio' is '0.74'"),
        (("factors", "style", "error_ratio_low"), float("nan"), "'factors.style.error_ratio_low' is nan"),
        (("factors", "darker", "images"), -3, "'factors.darker.images' is -3"),
        (("factors", "texture"), [1, 2], "'factors.texture' is [1, 2]"),
        (("which_factor",), "both", "which_factor must be one of"),
        (("confidence_level",), "95%", "confidence_level must be a number"),
    ],
)
def test_bad_values_are_one_line_errors(path, value, where):
    results = make_results({})
    target = results
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ResultsFileError) as err:
        Results.from_dict(results, source="'r.json'")
    message = str(err.value)
    assert where in message and "\n" not in message and message.startswith("'r.json'")


def zoo_block(**overrides) -> dict:
    factors = {
        f: {
            "error_ratio": 1.0,
            "expected_error_ratio": 1.0,
            "excess": 0.0,
            "excess_interval": [-0.1, 0.1],
            "percentile_all": 50.0,
            "percentile_similar_accuracy": 50.0,
            "similar_models": 240,
        }
        for f in FACTORS
    }
    factors["texture"].update(
        error_ratio=2.1,
        expected_error_ratio=1.6,
        excess=0.5,
        excess_interval=[0.2, 0.8],
        percentile_similar_accuracy=96.0,
    )
    factors["style"].update(
        error_ratio=1.9,
        expected_error_ratio=1.7,
        excess=0.2,
        excess_interval=[0.05, 0.35],
        percentile_similar_accuracy=81.0,
    )
    factors["pose"].update(
        error_ratio=0.6,
        expected_error_ratio=0.8,
        excess=-0.2,
        excess_interval=[-0.3, -0.1],
        percentile_similar_accuracy=4.0,
    )
    factors["darker"].update(excess=0.9, excess_interval=[-0.1, 1.9])  # not clear: not named
    block = {"zoo": {"models": 2514, "similar_window": 0.02}, "notes": [], "factors": factors}
    block.update(overrides)
    return block


def test_zoo_sentence_names_only_clear_excesses():
    results = make_results({})
    results["zoo"] = zoo_block()
    sentence = zoo_sentence(results)
    assert sentence.startswith("Among the 240 released ImageNet models within ±2 points of its accuracy")
    assert "(of 2,514 in the ImageNet-X authors' zoo)" in sentence
    assert named_in(sentence) == {"texture", "style", "pose"}
    assert sentence.index("*texture*") < sentence.index("*style*") < sentence.index("and less on *pose*")
    assert "*texture* (2.10 vs 1.60 expected; higher than 96% of them)" in sentence
    assert "*pose* (0.60 vs 0.80 expected; lower than 96% of them)" in sentence
    assert sentence.endswith(".") and ". " not in sentence  # one sentence
    # Missing optional keys, a skipped block, no block at all.
    bare = {"factors": {f: {} for f in FACTORS}}
    bare["factors"]["texture"] = {"excess_interval": [0.2, 0.8]}
    assert zoo_sentence({**results, "zoo": bare}) == (
        "Among released ImageNet models of similar accuracy (the ImageNet-X authors' zoo), it fails more "
        "than expected for its accuracy on *texture*; on the other factors it is within their usual spread."
    )
    assert zoo_sentence({**results, "zoo": {"skipped": True, "note": "offline"}}) is None
    assert zoo_sentence(make_results({})) is None
    quiet = zoo_block()
    for entry in quiet["factors"].values():
        entry.update(excess=0.0, excess_interval=[-0.1, 0.1])
    assert zoo_sentence({**results, "zoo": quiet}).endswith("within their usual spread on every factor.")


def test_section_renders_the_zoo_sentence():
    from imagenet_x_hf.reports.section import render_section

    results = make_results({})
    assert "released ImageNet models" not in render_section(Results.from_dict(results), model="toy")
    results["zoo"] = zoo_block()
    section = render_section(Results.from_dict(results), model="toy")
    assert "Among the 240 released ImageNet models" in section


@pytest.mark.parametrize("percentile, says", [(99.93, "higher than 99%"), (1.5, "lower than 98%")])
def test_a_share_of_models_is_rounded_down_never_up(percentile, says):
    side = [0.2, 0.7] if percentile > 50 else [-0.7, -0.2]
    factors = {f: {} for f in FACTORS}
    factors["texture"] = {
        "error_ratio": 2.15,
        "expected_error_ratio": 1.7,
        "excess": sum(side) / 2,
        "excess_interval": side,
        "percentile_similar_accuracy": percentile,
        "similar_models": 310,
    }
    zoo = {"zoo": {"models": 2500, "similar_window": 0.02}, "factors": factors}
    sentence = zoo_sentence({**make_results({}), "zoo": zoo})
    assert says in sentence and "100%" not in sentence


def test_the_lead_says_what_is_unusual_first_and_raw_ratios_second():
    """With a placement, the second sentence names the factors that differ from models of its accuracy."""
    results = make_results({"style": (2.0, 1.5, 2.5)})
    results["zoo"] = zoo_block()
    s = summarize(results)
    assert s.lead[1].startswith("Among the 240 released ImageNet models")
    assert named_in(s.lead[1]) == {"texture", "style", "pose"}
    assert s.lead[2].startswith("It fails more often than its average") and named_in(s.lead[2]) == {"style"}
    # an extrapolation or too few images: no factor is called unusual
    far = zoo_block(extrapolation={"extrapolated": True, "reason": "accuracy 0.95 is above the highest"})
    lead = summarize({**results, "zoo": far}).lead[1]
    assert named_in(lead) == set() and "no factor is called unusual" in lead and "0.95" in lead
    thin = zoo_block(coverage={"placed": False, "fraction": 0.02, "threshold": 0.95})
    assert summarize({**results, "zoo": thin}).lead[1] == RAW_FOLLOWS_ACCURACY


def test_section_explains_the_reference_and_the_interval():
    from imagenet_x_hf.reports.section import render_section

    results = make_results({})
    results["zoo"] = zoo_block(
        reference={"near": {"window": 0.02, "description": "240 models in 30 families"}}
    )
    section = render_section(Results.from_dict(results), model="toy")
    assert (
        "Models of its accuracy are the released models within ±2 points of it, 240 models in 30 families;"
        in section
    )
    assert "about 1 factor in 20 of a typical model is named by chance" in section
