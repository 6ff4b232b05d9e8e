"""Suite leaderboard statistics (rsbench.leaderboard.stats), checked by hand and against numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rsbench.leaderboard import stats
from rsbench.leaderboard.stats import aggregate_ci, bootstrap_ci, iqm, normalised, rng_for


def test_bootstrap_ci_collapses_when_all_seeds_agree():
    assert bootstrap_ci([0.8, 0.8, 0.8, 0.8, 0.8], n_boot=500, rng=3) == (
        pytest.approx(0.8),
        pytest.approx(0.8),
    )


def test_bootstrap_ci_of_one_seed_is_that_value_and_empty_is_nan():
    assert bootstrap_ci([0.5], n_boot=100) == (0.5, 0.5)
    low, high = bootstrap_ci([], n_boot=100)
    assert math.isnan(low) and math.isnan(high)


def test_bootstrap_ci_matches_a_direct_numpy_reimplementation():
    values = np.array([0.81, 0.84, 0.79, 0.88, 0.83])
    rng = np.random.default_rng(7)
    means = values[rng.integers(0, 5, size=(4000, 5))].mean(axis=1)
    expected = np.percentile(means, [2.5, 97.5])
    assert bootstrap_ci(values, n_boot=4000, rng=7) == (expected[0], expected[1])
    assert bootstrap_ci(values, n_boot=4000, rng=np.random.default_rng(7)) == tuple(expected)


def test_bootstrap_ci_is_seeded_brackets_the_mean_and_narrows_with_level():
    values = [0.70, 0.75, 0.80, 0.72, 0.78]
    first, second = bootstrap_ci(values, 2000, 1), bootstrap_ci(values, 2000, 1)
    assert first == second
    assert min(values) <= first[0] < np.mean(values) < first[1] <= max(values)
    narrow = bootstrap_ci(values, 2000, 1, level=0.5)
    assert first[0] < narrow[0] < narrow[1] < first[1]


def test_rng_for_is_stable_and_distinct_per_name():
    a = rng_for(0, "m", "t").integers(0, 10**9)
    assert a == rng_for(0, "m", "t").integers(0, 10**9)
    assert a != rng_for(0, "m", "u").integers(0, 10**9)


def test_iqm_of_eight_values_by_hand():
    # Sorted: 1 2 3 4 5 6 7 100; cut 2 at each end -> mean(3, 4, 5, 6) = 4.5.
    values = [7, 1, 100, 3, 5, 2, 6, 4]
    assert iqm(values) == pytest.approx(4.5)
    assert stats._trim_mean(np.array(values, dtype=float), 0.25) == pytest.approx(4.5)


def test_iqm_small_samples_and_rows():
    assert iqm([0.3]) == pytest.approx(0.3)
    assert iqm([0.1, 0.9, 0.5]) == pytest.approx(0.5)  # int(0.75) = 0 cut: the plain mean
    assert iqm([1, 2, 3, 10]) == pytest.approx(2.5)  # one cut at each end
    rows = np.array([[7, 1, 100, 3, 5, 2, 6, 4], [1, 1, 1, 1, 1, 1, 1, 9]], dtype=float)
    assert iqm(rows, axis=1) == pytest.approx([4.5, 1.0])
    assert math.isnan(iqm([]))


def test_iqm_fallback_equals_scipy_when_installed():
    scipy_stats = pytest.importorskip("scipy.stats")
    x = np.random.default_rng(0).normal(size=(50, 13))
    np.testing.assert_allclose(stats._trim_mean(x, 0.25), scipy_stats.trim_mean(x, 0.25, axis=1))


def test_min_max_normalisation_by_hand():
    assert normalised(0.55, 0.1, 1.0) == pytest.approx(0.5)
    assert normalised(0.1, 0.1, 1.0) == 0.0 and normalised(1.0, 0.1, 1.0) == 1.0
    # Lower is better (e.g. an error rate in [0, 0.5]): flipped so that 1 is still best.
    assert normalised(0.1, 0.0, 0.5, higher_is_better=False) == pytest.approx(0.8)
    np.testing.assert_allclose(normalised(np.array([0.2, 0.6]), 0.2, 0.6), [0.0, 1.0])


def test_aggregate_is_iqm_of_normalised_means_and_ci_collapses_without_spread():
    per_task = [
        (np.array([0.6, 0.6]), 0.0, 1.0, True),  # 0.6
        (np.array([0.55, 0.55]), 0.1, 1.0, True),  # 0.5
        (np.array([0.2]), 0.0, 1.0, False),  # 0.8
        (np.array([0.9, 0.9, 0.9]), 0.0, 1.0, True),  # 0.9
    ]
    agg, low, high = aggregate_ci(per_task, n_boot=300, rng=0)
    assert agg == pytest.approx(np.mean([0.6, 0.8]))  # IQM of 0.5 0.6 0.8 0.9
    assert (low, high) == (pytest.approx(agg), pytest.approx(agg))
    assert all(math.isnan(x) for x in aggregate_ci([], n_boot=10))


def test_aggregate_ci_matches_a_direct_reimplementation():
    tasks = [np.array([0.5, 0.6, 0.7]), np.array([0.2, 0.4]), np.array([0.8, 0.85, 0.9, 0.95])]
    per_task = [(v, 0.0, 1.0, True) for v in tasks]
    rng = np.random.default_rng(11)
    draws = np.stack(
        [v[rng.integers(0, v.size, size=(1000, v.size))].mean(axis=1) for v in tasks], axis=1
    )
    cut = int(0.25 * 3)
    boot = np.sort(draws, axis=1)[:, cut : 3 - cut].mean(axis=1)
    expected = np.percentile(boot, [2.5, 97.5])
    agg, low, high = aggregate_ci(per_task, n_boot=1000, rng=11)
    assert agg == pytest.approx(np.mean([0.6, 0.3, 0.875]))
    assert (low, high) == (pytest.approx(expected[0]), pytest.approx(expected[1]))
