"""The vectorised core against a naive per-image Python loop, on random inputs.

Sizes are chosen not to divide the chunk sizes (models per matrix product).
"""

import math

import numpy as np
import pytest

from imagenet_x_hf import FACTORS, METACLASSES
from imagenet_x_hf.metrics import correctness, error_ratio, factor_counts, score_arrays
from imagenet_x_hf.metrics.breakdowns import calibration_error

K = len(FACTORS)


def random_case(seed, n=1013, multi=True):
    rng = np.random.default_rng(seed)
    if multi:
        factors = rng.random((n, K)) < rng.uniform(0.02, 0.4, K)
    else:
        factors = np.zeros((n, K), dtype=bool)
        has = rng.random(n) < 0.97  # a few images without a top factor, as in the release
        factors[np.flatnonzero(has), rng.integers(0, K, has.sum())] = True
    return rng, factors


def naive_counts(correct_row, factors):
    images = [0] * K
    right = [0] * K
    for i in range(len(correct_row)):
        for k in range(K):
            if factors[i][k]:
                images[k] += 1
                right[k] += int(correct_row[i])
    return images, right


def naive_ratio(correct_row, factors):
    images, right = naive_counts(correct_row, factors)
    acc = sum(int(c) for c in correct_row) / len(correct_row)
    out = []
    for k in range(K):
        if images[k] == 0 or acc == 1:
            out.append(math.nan)
        else:
            out.append((1 - right[k] / images[k]) / (1 - acc))
    return out


@pytest.mark.parametrize("multi", [True, False], ids=["multi", "top"])
@pytest.mark.parametrize("chunk", [7, 256])
def test_matrix_counts_and_ratios_equal_the_loop(multi, chunk):
    rng, factors = random_case(1 if multi else 2, multi=multi)
    models = 23  # not a multiple of 7
    correct = rng.random((models, len(factors))) < rng.uniform(0.3, 0.95, (models, 1))
    counts = factor_counts(correct, factors, chunk_models=chunk)
    ratios = error_ratio(counts)
    for m in range(models):
        images, right = naive_counts(correct[m].tolist(), factors.tolist())
        assert counts.images.tolist() == images
        assert counts.correct[m].tolist() == right
        assert counts.total_correct[m] == sum(correct[m].tolist())
        np.testing.assert_allclose(
            ratios[m], naive_ratio(correct[m].tolist(), factors.tolist()), rtol=0, atol=1e-12
        )


def test_vector_input_equals_matrix_row():
    rng, factors = random_case(3)
    correct = rng.random(len(factors)) < 0.7
    one = factor_counts(correct, factors)
    many = factor_counts(np.stack([correct, ~correct]), factors)
    assert one.correct[0].tolist() == many.correct[0].tolist()
    assert (one + one).correct[0].tolist() == (2 * many.correct[0]).tolist()


def test_undefined_ratios_are_nan():
    factors = np.zeros((5, K), dtype=bool)
    factors[:, 0] = True
    counts = factor_counts(np.ones(5, bool), factors)
    assert np.isnan(error_ratio(counts)).all()  # no error at all, and empty factors


def test_correctness_equals_the_loop():
    rng = np.random.default_rng(4)
    n = 997
    labels = rng.integers(0, 1000, n)
    predicted = np.where(rng.random(n) < 0.5, labels, rng.integers(0, 1000, n))
    sets = [
        sorted(
            set(rng.integers(0, 1000, rng.integers(0, 4)).tolist())
            | ({int(labels[i])} if rng.random() < 0.7 else set())
        )
        for i in range(n)
    ]
    width = max(len(s) for s in sets)
    dense = np.full((n, width), -1, dtype=np.int16)
    for i, s in enumerate(sets):
        dense[i, : len(s)] = s
    meta = rng.integers(0, len(METACLASSES), 1000)
    got_real = correctness(predicted, error_type="real_class", labels=labels, real_labels=dense)
    assert got_real.tolist() == [int(predicted[i]) in sets[i] for i in range(n)]
    got_meta = correctness(predicted, error_type="metaclass", labels=labels, metaclass_of_class=meta)
    assert got_meta.tolist() == [meta[predicted[i]] == meta[labels[i]] for i in range(n)]
    assert correctness(predicted, labels=labels).tolist() == [predicted[i] == labels[i] for i in range(n)]


def naive_ece(correct, probs, n_bins=15):
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        # a probability on an inner edge goes to the lower bin
        members = [
            i for i in range(len(probs)) if (probs[i] > lo or b == 0) and (probs[i] <= hi or b == n_bins - 1)
        ]
        if members:
            acc = sum(correct[i] for i in members) / len(members)
            conf = sum(probs[i] for i in members) / len(members)
            total += abs(acc - conf) * len(members) / len(probs)
    return total


def test_breakdowns_equal_the_loop():
    rng, factors = random_case(5, n=611)
    n = len(factors)
    correct = rng.random(n) < 0.6
    probs = rng.random(n)
    probs[:15] = np.arange(15) / 15  # values on the bin edges
    metaclass = rng.integers(0, len(METACLASSES), n)
    out = score_arrays(correct, factors, metaclass=metaclass, probabilities=probs)
    assert out["calibration"]["ece"] == pytest.approx(naive_ece(correct.tolist(), probs.tolist()), abs=1e-12)
    overall, per_factor = calibration_error(correct, probs, factors)
    for k, f in enumerate(FACTORS):
        members = [i for i in range(n) if factors[i, k]]
        expected = naive_ece([bool(correct[i]) for i in members], [float(probs[i]) for i in members])
        assert out["calibration"]["factors"][f] == pytest.approx(expected, abs=1e-12)
        assert per_factor[k] == pytest.approx(expected, abs=1e-12)
    for g, name in enumerate(METACLASSES):
        rows = [i for i in range(n) if metaclass[i] == g]
        block = out["metaclass"][name]
        assert block["images"] == len(rows)
        assert block["correct"] == sum(bool(correct[i]) for i in rows)
        for k, f in enumerate(FACTORS):
            inside = [i for i in rows if factors[i, k]]
            assert block["factor_images"][f] == len(inside)
            if inside:
                acc = sum(bool(correct[i]) for i in inside) / len(inside)
                assert block["factor_accuracy"][f] == pytest.approx(acc, abs=1e-12)
            else:
                assert block["factor_accuracy"][f] is None


def test_score_arrays_equals_the_loop():
    rng, factors = random_case(6, multi=False)
    correct = rng.random(len(factors)) < 0.75
    out = score_arrays(correct, factors)
    expected = naive_ratio(correct.tolist(), factors.tolist())
    for k, f in enumerate(FACTORS):
        got = out["error_ratio"][f]
        assert (got is None and math.isnan(expected[k])) or got == pytest.approx(expected[k], abs=1e-12)


def test_correctness_of_a_prediction_matrix_and_sharded_counts():
    """Many models' predictions at once, and counts of disjoint shards adding up."""
    rng = np.random.default_rng(9)
    n, models = 1009, 5
    labels = rng.integers(0, 1000, n)
    predicted = np.where(rng.random((models, n)) < 0.6, labels, rng.integers(0, 1000, (models, n)))
    real = np.stack([labels, rng.integers(0, 1000, n)], axis=1).astype(np.int16)
    real[::7] = -1  # images without ReaL labels
    got = correctness(predicted, error_type="real_class", labels=labels, real_labels=real)
    for m in range(models):
        expected = [int(predicted[m, i]) in set(real[i].tolist()) - {-1} for i in range(n)]
        assert got[m].tolist() == expected
    _, factors = random_case(10, n=n)
    whole = factor_counts(got, factors)
    halves = factor_counts(got[:, :400], factors[:400]) + factor_counts(got[:, 400:], factors[400:])
    assert whole.correct.tolist() == halves.correct.tolist() and whole.total == halves.total
    np.testing.assert_array_equal(error_ratio(whole), error_ratio(halves))


@pytest.mark.parametrize("n_bins", [1, 2, 3, 7, 10, 15, 20, 100])
def test_bins_by_arithmetic_are_the_searched_bins(n_bins):
    """Confidence bins: on, just below and just above every edge, and at random, as searchsorted puts them."""
    from imagenet_x_hf.metrics.breakdowns import _bin_ids

    edges = np.linspace(0.0, 1.0, n_bins + 1)
    rng = np.random.default_rng(n_bins)
    probs = np.concatenate(
        [
            edges,
            np.nextafter(edges, 2.0),
            np.nextafter(edges, -1.0),
            rng.random(20_000),
            np.arange(1001) / 1000,
        ]
    )
    probs = probs[(probs >= 0) & (probs <= 1)]
    assert np.array_equal(_bin_ids(probs, n_bins), np.searchsorted(edges[1:-1], probs))
