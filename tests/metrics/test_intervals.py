"""Confidence intervals: coverage by simulation, and their edge cases.

Images are fixed and each image's correctness is a Bernoulli draw whose rate
depends on whether it carries the factor (the model behind both intervals).
Seeds are fixed; the bands allow about four simulation standard errors.
"""

import numpy as np
import pytest

from imagenet_x_hf.metrics import error_ratio_interval, paired_difference
from imagenet_x_hf.metrics.intervals import risk_ratio_interval, z_value

from .conftest import score

N = 46_110
REPS = 4000


def true_ratio(p_factor, p_other, n_factor, n=N):
    w = n_factor / n
    return p_factor / (w * p_factor + (1 - w) * p_other)


# (factor images, factor error rate, other images' error rate): the smallest
# top-factor groups (style, brighter: 43-44 images) up to a mid-sized one.
SETTINGS = [(43, 0.35, 0.25), (44, 0.1, 0.25), (150, 0.5, 0.25), (600, 0.3, 0.2), (43, 0.04, 0.1)]


@pytest.mark.parametrize("n_factor,p_factor,p_other", SETTINGS)
def test_error_ratio_interval_coverage(n_factor, p_factor, p_other):
    rng = np.random.default_rng(n_factor * 1000 + int(100 * p_factor))
    x_factor = rng.binomial(n_factor, p_factor, REPS)
    x_other = rng.binomial(N - n_factor, p_other, REPS)
    low, high = error_ratio_interval(x_factor, n_factor, x_factor + x_other, N)
    target = true_ratio(p_factor, p_other, n_factor)
    coverage = np.mean((low <= target) & (target <= high))
    assert 0.93 <= coverage <= 0.975, coverage


def test_interval_widens_with_confidence_and_shrinks_with_size():
    lo90, hi90 = error_ratio_interval(15, 43, 10000, N, confidence_level=0.90)
    lo99, hi99 = error_ratio_interval(15, 43, 10000, N, confidence_level=0.99)
    assert lo99 < lo90 < hi90 < hi99
    small = np.subtract(*error_ratio_interval(15, 43, 10000, N)[::-1])
    large = np.subtract(*error_ratio_interval(150, 430, 10000, N)[::-1])
    assert large < small


def test_interval_edges():
    # no error on the factor: the ratio is 0 and so is the lower end
    low, high = error_ratio_interval(np.array([0]), 43, np.array([9000]), N)
    assert low[0] == 0 and 0 < high[0] < 1
    # every error on the factor: the upper end is the largest possible ratio, N / n_f
    low, high = error_ratio_interval(np.array([43]), 43, np.array([43]), N)
    assert high[0] == pytest.approx(N / 43) and low[0] > 1
    # the factor covers every image: the ratio is exactly 1
    low, high = error_ratio_interval(np.array([10]), 100, np.array([10]), 100)
    assert (low[0], high[0]) == (1.0, 1.0)
    # undefined ratios: no image with the factor, or no error anywhere
    low, high = error_ratio_interval(np.array([0, 0]), np.array([0, 43]), np.array([50, 0]), N)
    assert np.isnan(low).all() and np.isnan(high).all()


def test_score_test_inverts_at_the_ends():
    """At each end of the risk-ratio interval the score statistic equals -/+ z."""
    from imagenet_x_hf.metrics.intervals import _score_z

    z = z_value(0.95)
    low, high = risk_ratio_interval(12, 43, 9000, 46000, z)
    assert _score_z(low, 12, 43, 9000, 46000) == pytest.approx(z, abs=1e-6)
    assert _score_z(high, 12, 43, 9000, 46000) == pytest.approx(-z, abs=1e-6)


def _paired_sample(rng, n, factor_mask, joint_in, joint_out):
    """Error flags of two models; joint_* = P(both wrong), P(a only), P(b only) per group."""
    u = rng.random(n)
    wrong_a = np.empty(n, bool)
    wrong_b = np.empty(n, bool)
    for mask, (both, a_only, b_only) in ((factor_mask, joint_in), (~factor_mask, joint_out)):
        v = u[mask]
        wrong_a[mask] = v < both + a_only
        wrong_b[mask] = (v < both) | ((v >= both + a_only) & (v < both + a_only + b_only))
    return wrong_a, wrong_b


def test_paired_difference_coverage():
    rng = np.random.default_rng(7)
    n, reps = 5003, 1500
    factors = np.zeros((n, 2), bool)
    factors[:300, 0] = True  # a small factor
    factors[300:1800, 1] = True  # a large one
    joint_in, joint_out = (0.25, 0.08, 0.04), (0.15, 0.05, 0.06)
    hit_group = factors[:, 0] | factors[:, 1]
    rate_a = np.where(hit_group, joint_in[0] + joint_in[1], joint_out[0] + joint_out[1])
    rate_b = np.where(hit_group, joint_in[0] + joint_in[2], joint_out[0] + joint_out[2])
    groups = []
    for k in range(2):
        mask = factors[:, k]
        truth = rate_a[mask].mean() / rate_a.mean() - rate_b[mask].mean() / rate_b.mean()
        groups.append((mask, truth))
    hits = np.zeros(2)
    for _ in range(reps):
        wrong_a, wrong_b = _paired_sample(rng, n, hit_group, joint_in, joint_out)
        diff, low, high = paired_difference(wrong_a, wrong_b, factors)
        for k, (_, truth) in enumerate(groups):
            hits[k] += low[k] <= truth <= high[k]
    coverage = hits / reps
    assert ((coverage >= 0.93) & (coverage <= 0.975)).all(), coverage


def test_paired_difference_is_narrower_than_unpaired_for_correlated_models():
    rng = np.random.default_rng(8)
    n = 20011
    factors = np.zeros((n, 1), bool)
    factors[:2000, 0] = True
    wrong_a, wrong_b = _paired_sample(rng, n, factors[:, 0], (0.3, 0.03, 0.03), (0.2, 0.02, 0.02))
    diff, low, high = paired_difference(wrong_a, wrong_b, factors)
    # independent models with the same marginal rates would give a much wider interval
    ind_a, _ = _paired_sample(rng, n, factors[:, 0], (0.3, 0.03, 0.03), (0.2, 0.02, 0.02))
    _, ind_b = _paired_sample(rng, n, factors[:, 0], (0.3, 0.03, 0.03), (0.2, 0.02, 0.02))
    _, low_i, high_i = paired_difference(ind_a, ind_b, factors)
    assert (high - low)[0] < 0.6 * (high_i - low_i)[0]
    same = paired_difference(wrong_a, wrong_a, factors)
    assert same[0][0] == 0 and same[1][0] == 0 and same[2][0] == 0


def test_ratio_intervals_of_many_models_equal_one_by_one():
    from imagenet_x_hf.metrics import factor_counts, ratio_intervals

    rng = np.random.default_rng(12)
    correct = rng.random((9, 2003)) < rng.uniform(0.5, 0.9, (9, 1))
    factors = rng.random((2003, 16)) < 0.1
    low, high = ratio_intervals(factor_counts(correct, factors, chunk_models=4))
    for m in range(9):
        lo1, hi1 = ratio_intervals(factor_counts(correct[m], factors))
        np.testing.assert_allclose(low[m], lo1[0], rtol=1e-12)
        np.testing.assert_allclose(high[m], hi1[0], rtol=1e-12)


def test_every_interval_contains_its_estimate_even_when_every_prediction_is_wrong():
    from imagenet_x_hf.annotations import split_annotations
    from imagenet_x_hf.metrics import Predictions

    arrays = split_annotations("validation")
    names, labels = np.asarray(arrays.file_names)[:3001], arrays.labels[:3001]
    for predicted in ((labels + 1) % 1000, np.where(np.arange(3001) % 3 == 0, labels, (labels + 1) % 1000)):
        out = score(Predictions.from_arrays(names, predicted, name="m"))
        for factor in out["factors"].values():
            if factor["error_ratio"] is not None:
                assert factor["error_ratio_low"] <= factor["error_ratio"] <= factor["error_ratio_high"]
    # all wrong: every ratio is exactly 1
    wrong = score(Predictions.from_arrays(names, (labels + 1) % 1000))
    assert {r for r in wrong["error_ratio"].values() if r is not None} == {1.0}


def test_rounds_of_halvings_end_where_single_halvings_end():
    """The grid rounds (one model) replay plain bisection: the same ends, bit for bit."""
    from imagenet_x_hf.metrics.intervals import _bisect

    rng = np.random.default_rng(11)
    n1 = rng.integers(1, 3000, 400)
    n2 = rng.integers(1, 50_000, 400)
    x1 = rng.integers(0, n1 + 1)
    x2 = rng.integers(0, n2 + 1)
    x1[:5], x2[5:10] = 0, 0  # edge counts too
    s1, t1, s2, t2 = (v.astype(np.float64) for v in (x1, n1, x2, n2))
    c = s1 + s2
    consts = (4 * (t1 + t2), c, 2 * c, t1 + s2, s1 + t2, t1, t2, s1 / t1, s2 / t2)
    z = z_value(0.95)
    target = np.stack([np.full(400, z), np.full(400, -z)])
    one = _bisect(target, consts, target.shape, 1)
    rounds = _bisect(target, consts, target.shape, 4)
    assert np.array_equal(one[0], rounds[0]) and np.array_equal(one[1], rounds[1])
    # and the public function, for one model's 16 factors, takes the rounds
    low, high = risk_ratio_interval(x1[:16], n1[:16], x2[:16], n2[:16], z)
    ends = np.exp((one[0] + one[1]) / 2)[:, :16]
    assert np.array_equal(low[5:], ends[0, 5:]) and np.array_equal(high[:5], ends[1, :5])
