"""Per-cell summaries: hand-computed cases, an independent re-implementation of the bootstrap-t,
and agreement with scipy (``scipy.stats.bootstrap``'s resampling, ``scipy.stats.quantile_test``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from xaibench.stats import (
    INTERVALS,
    RESAMPLES,
    Summary,
    median_interval_indices,
    per_instance_means,
    pooled,
    record_fields,
    resampling_indices,
    summarize,
    summarize_arrays,
    summarize_rows,
)


def naive_bootstrap_t(x: np.ndarray) -> tuple[float, float]:
    """The symmetric bootstrap-t interval, one resample at a time, from the same resamples (drawn
    from the sorted values, so that the interval does not depend on the order of the instances)."""
    x = np.sort(x)
    n = x.size
    mean, se = x.mean(), x.std(ddof=1) / math.sqrt(n)
    t = []
    for idx in resampling_indices(n):
        r = x[idx]
        se_r = r.std(ddof=1) / math.sqrt(n)
        t.append(math.inf if se_r <= 1e-6 * x.std(ddof=1) else abs(r.mean() - mean) / se_r)
    q = sorted(t)[math.ceil(0.95 * (RESAMPLES + 1)) - 1]
    return mean - q * se, mean + q * se


def test_mean_stderr_and_a_symmetric_interval():
    x = [0.3, 1.2, -0.7, 2.5, 0.0, 0.9, 1.1, -0.2]
    s = summarize(x)
    assert (s.n, s.statistic) == (8, "mean")
    assert s.value == pytest.approx(sum(x) / 8)
    assert s.stderr == pytest.approx(np.std(x, ddof=1) / math.sqrt(8))
    assert s.symmetric and s.ci_high - s.value == pytest.approx(s.value - s.ci_low)
    assert (s.ci_low, s.ci_high) == pytest.approx(naive_bootstrap_t(np.array(x)), rel=1e-5)


@pytest.mark.parametrize("n", [4, 9, 16, 57, 200])
def test_batched_interval_equals_the_resample_by_resample_computation(n):
    rows = np.random.default_rng(n).lognormal(size=(3, n))
    _, _, low, high, _ = summarize_arrays(rows)
    for row, lo, hi in zip(rows, low, high):
        assert (lo, hi) == pytest.approx(naive_bootstrap_t(row), rel=1e-5)


def test_resampling_is_scipy_bootstraps_resampling():
    """The resample counts are multinomial(n, 1/n) — what scipy.stats.bootstrap draws — so the
    bootstrap distribution of the mean matches scipy's (two-sample Kolmogorov-Smirnov)."""
    x = np.random.default_rng(1).standard_normal(16)
    ours = x[resampling_indices(16)].mean(axis=1)
    theirs = sps.bootstrap((x,), np.mean, n_resamples=RESAMPLES, rng=2, method="percentile").bootstrap_distribution
    assert sps.ks_2samp(ours, theirs).pvalue > 0.01
    counts = np.stack([np.bincount(i, minlength=16) for i in resampling_indices(16)])
    assert (counts.sum(axis=1) == 16).all() and counts.mean() == pytest.approx(1.0, abs=0.02)


def test_interval_agrees_with_a_studentized_bootstrap_driven_by_scipy():
    """scipy.stats.bootstrap resampling |t*| directly (20,000 resamples) gives the same interval up
    to Monte Carlo error."""
    x = np.random.default_rng(3).standard_t(3, size=30)
    mean, se = x.mean(), x.std(ddof=1) / math.sqrt(x.size)

    def abs_t(sample, axis=-1):
        return np.abs(sample.mean(axis=axis) - mean) / (sample.std(axis=axis, ddof=1) / math.sqrt(x.size))

    dist = sps.bootstrap((x,), abs_t, n_resamples=20_000, rng=4, vectorized=True,
                         method="percentile").bootstrap_distribution
    q = np.quantile(dist, 0.95)
    s = summarize(x.tolist())
    assert s.half_width == pytest.approx(q * se, rel=0.08)


def test_constant_single_and_empty_samples():
    s = summarize([3.0] * 7)
    assert (s.value, s.stderr, s.ci_low, s.ci_high) == (3.0, 0.0, 3.0, 3.0)
    assert summarize([2.0, 2.0]).ci_low == 2.0  # no spread: [m, m] at any n ≥ 2
    one = summarize([5.0, None, float("nan")])
    assert (one.n, one.value, one.stderr, one.ci_low, one.ci_high) == (1, 5.0, None, None, None)
    assert summarize([None]) == Summary(0, None, None, None, None)


def test_tiny_samples_have_no_interval_when_resamples_degenerate():
    # n = 3: 3 of the 27 equally likely resamples are constant (11% > 5%): |t*| = ∞ → no interval
    assert summarize([0.0, 1.0, 5.0]).ci_low is None
    assert summarize([0.0, 1.0]).ci_low is None
    s = summarize([0.0, 1.0, 5.0, 2.0])  # n = 4: 4/256 constant resamples: an interval exists
    assert s.ci_low is not None and s.ci_low < s.value < s.ci_high


def test_the_order_of_the_values_does_not_matter():
    x = np.random.default_rng(7).standard_normal(30)
    assert summarize(x.tolist()) == summarize(x[::-1].tolist()) == summarize(np.sort(x).tolist())


def test_non_finite_values_are_dropped():
    s = summarize([1.0, None, float("nan"), float("inf"), 3.0, 2.0, 2.5, 1.5])
    assert (s.n, s.value) == (5, 2.0)
    assert s == summarize([1.0, 3.0, 2.0, 2.5, 1.5])


def test_rows_with_different_counts_and_orders_are_independent():
    rng = np.random.default_rng(5)
    rows = rng.standard_normal((4, 20))
    rows[1, 5:] = np.nan
    rows[3, ::3] = np.inf
    batched = summarize_rows(rows)
    alone = [summarize(r.tolist()) for r in rows]
    assert batched == alone
    assert [s.n for s in batched] == [20, 5, 20, 13]


def test_scale_and_shift_equivariance():
    x = np.random.default_rng(6).gamma(2.0, size=25)
    s, t = summarize(x.tolist()), summarize((1e6 + 1e3 * x).tolist())
    assert t.value == pytest.approx(1e6 + 1e3 * s.value)
    assert (t.ci_low, t.ci_high) == pytest.approx((1e6 + 1e3 * s.ci_low, 1e6 + 1e3 * s.ci_high), rel=1e-9)


# -- medians ------------------------------------------------------------------------------------------
def test_median_interval_hand_case():
    # n = 16: Binomial(16, 1/2) has P(X ≤ 3) = 697/65536 ≈ 0.0106 ≤ 0.025 < P(X ≤ 4) ≈ 0.0384,
    # so the interval is [x₍₄₎, x₍₁₃₎] (1-based), coverage 1 − 2·0.0106 = 0.979
    assert median_interval_indices(16) == (3, 12)
    x = [float(v) for v in range(1, 17)]  # sorted, so x₍ᵢ₎ = i
    s = summarize(x, heavy_tailed=True)
    assert (s.statistic, s.value, s.ci_low, s.ci_high, s.stderr) == ("median", 8.5, 4.0, 13.0, None)
    skewed = summarize([1, 2, 3, 4, 5, 6, 7, 100, 1000], heavy_tailed=True)  # n = 9: [x₍₂₎, x₍₈₎]
    assert (skewed.value, skewed.ci_low, skewed.ci_high) == (5, 2, 100) and not skewed.symmetric


@pytest.mark.parametrize("n", [6, 7, 16, 31, 200])
def test_median_interval_is_scipys_quantile_test_interval(n):
    x = np.random.default_rng(n).lognormal(size=n)
    ci = sps.quantile_test(x, q=np.median(x), p=0.5).confidence_interval(0.95)
    s = summarize(x.tolist(), heavy_tailed=True)
    assert (s.ci_low, s.ci_high) == (ci.low, ci.high)
    assert s.value == np.median(x)


def test_median_of_fewer_than_six_values_has_no_interval():
    assert summarize([1.0, 2.0, 9.0, 4.0, 5.0], heavy_tailed=True).ci_low is None
    assert summarize([4.0] * 3, heavy_tailed=True).ci_low == 4.0


# -- pooling seeds and record fields ----------------------------------------------------------------------
def test_pooling_seeds_averages_each_instance_then_summarises_instances():
    seed0, seed1 = [1.0, 2.0, None, 4.0, 6.0], [3.0, 4.0, 6.0, None, 0.0]
    assert per_instance_means(np.array([seed0, seed1], dtype=float)).tolist() == [2.0, 3.0, 6.0, 4.0, 3.0]
    assert pooled([seed0, seed1], aligned=True) == summarize([2.0, 3.0, 6.0, 4.0, 3.0])
    assert pooled([seed0, seed1], aligned=False) == summarize(seed0 + seed1)
    assert pooled([[1.0, 2.0], [3.0]], aligned=True) == summarize([1.0, 2.0, 3.0])  # misaligned: one sample
    assert pooled([seed0, seed1], aligned=True, heavy_tailed=True).statistic == "median"


def test_record_fields_name_their_interval():
    fields = record_fields([1.0, 2.0, 4.0, 8.0, 16.0, 32.0], heavy_tailed=True)
    assert fields["value"] == 6.0 and fields["interval"] == INTERVALS["median"] and fields["stderr"] is None
    assert record_fields([1.0, 2.0])["interval"] == INTERVALS["mean"]
