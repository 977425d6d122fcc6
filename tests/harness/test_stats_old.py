"""Mean, standard error and the percentile-bootstrap interval on hand-computable cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xaibench.stats import RESAMPLES, bootstrap_interval, pooled, summarize


def test_two_values_hand_case():
    # resample means of {0, 1} are 0, .5, 1 with probabilities 1/4, 1/2, 1/4: the 2.5th and
    # 97.5th percentiles of 1,000 of them are 0 and 1
    s = summarize([0.0, 1.0])
    assert (s.n, s.value, s.ci_low, s.ci_high) == (2, 0.5, 0.0, 1.0)
    assert s.stderr == pytest.approx(math.sqrt(0.5) / math.sqrt(2))
    assert s.half_width == 0.5


def test_constant_values_have_a_degenerate_interval():
    s = summarize([3.0] * 7)
    assert (s.value, s.stderr, s.ci_low, s.ci_high) == (3.0, 0.0, 3.0, 3.0)


def test_non_finite_values_are_dropped_and_small_samples_have_no_interval():
    s = summarize([1.0, None, float("nan"), float("inf"), 3.0])
    assert (s.n, s.value) == (2, 2.0)
    one = summarize([5.0, None])
    assert (one.n, one.value, one.stderr, one.ci_low) == (1, 5.0, None, None)
    assert summarize([None]).value is None


def test_interval_is_the_percentile_bootstrap_of_a_seeded_resampling():
    x = np.array([0.3, 1.2, -0.7, 2.5, 0.0, 0.9, 1.1, -0.2])
    # independent re-implementation: explicit loop over the same seeded draws
    rng = np.random.default_rng(0)
    means = sorted(float(np.mean(x[rng.integers(0, len(x), len(x))])) for _ in range(RESAMPLES))
    position = lambda q: q * (RESAMPLES - 1)  # noqa: E731 - NumPy's linear interpolation
    expected = [means[int(position(q))] + (position(q) % 1) * (means[int(position(q)) + 1] - means[int(position(q))])
                for q in (0.025, 0.975)]
    assert bootstrap_interval(x) == pytest.approx(tuple(expected), abs=1e-12)
    assert summarize(x.tolist()) == summarize(x.tolist())  # reproducible
    low, high = bootstrap_interval(x)
    assert low < x.mean() < high


def test_pooling_seeds_averages_each_instance_then_bootstraps_instances():
    seed0, seed1 = [1.0, 2.0, None], [3.0, 4.0, 6.0]
    s = pooled([seed0, seed1], aligned=True)
    assert s == summarize([2.0, 3.0, 6.0])  # per-instance means over seeds, NaN ignored
    assert pooled([seed0, seed1], aligned=False) == summarize(seed0 + seed1)
    assert pooled([[1.0, 2.0], [3.0]], aligned=True) == summarize([1.0, 2.0, 3.0])  # misaligned: pooled flat
    assert pooled([seed1], aligned=True) == summarize(seed1)
