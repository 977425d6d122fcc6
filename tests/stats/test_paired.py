"""Paired comparisons with the best method: Holm, Wilcoxon, top groups; a planted difference is
found and a null one is not, at the stated level, over repeated seeds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from xaibench.paired import ALPHA, holm, top_group, top_groups, wilcoxon_p


def test_holm_hand_case():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.02, 0.03, 0.06, 0.06
    assert holm(np.array([0.01, 0.04, 0.03, 0.005])) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm(np.array([0.5, 0.9])) == pytest.approx([1.0, 1.0])  # 0.5·2 capped at 1; then monotone
    out = holm(np.array([np.nan, 0.02, 0.01]))  # NaN is not part of the family
    assert np.isnan(out[0]) and out[1:] == pytest.approx([0.02, 0.02])


def test_holm_equals_bonferroni_for_the_smallest_and_never_decreases_raw_p():
    p = np.random.default_rng(0).uniform(size=12)
    adjusted = holm(p)
    assert adjusted[np.argmin(p)] == pytest.approx(12 * p.min())
    assert (adjusted >= p).all() and (adjusted <= 1).all()
    order = np.argsort(p)
    assert (np.diff(adjusted[order]) >= 0).all()


def test_wilcoxon_hand_case():
    # five positive differences with distinct magnitudes: W+ = 15 is the most extreme of the 2⁵
    # equally likely sign patterns; two-sided exact p = 2/32
    assert wilcoxon_p(np.array([[0.5, 1.0, 1.5, 2.0, 2.5]])) == pytest.approx([2 / 32])
    # signs (+1, −2, +3, +4, +5): W− = 2; P(W− ≤ 2) = #{∅, {1}, {2}} / 32 = 3/32, two-sided 6/32
    assert wilcoxon_p(np.array([[1.0, -2.0, 3.0, 4.0, 5.0]])) == pytest.approx([6 / 32])
    assert wilcoxon_p(np.zeros((1, 8))).tolist() == [1.0]  # no evidence of any difference
    # all magnitudes tied: the average ranks sum to the maximum, W+ = 6·7/2, so again p = 2/2⁶
    assert wilcoxon_p(np.full((1, 6), 0.4)) == pytest.approx([2 / 64])
    assert wilcoxon_p(np.random.default_rng(0).standard_normal((2, 60)) + 1)[0] < 1e-6  # n > 50: normal approx.


def test_batched_wilcoxon_equals_scipy_row_by_row_with_missing_values():
    rng = np.random.default_rng(1)
    d = rng.standard_normal((30, 24)) + 0.3
    d[3, [0, 5]] = np.nan
    d[7] = np.round(d[7])  # ties and zeros: scipy's exact distribution, rounding conservatively
    expected = [sps.wilcoxon(row[np.isfinite(row)], method="exact").pvalue for row in d]
    assert wilcoxon_p(d) == pytest.approx(expected)


def test_top_group_hand_case():
    instances = np.arange(10.0)
    values = np.stack([instances + 5.0,  # best (higher is better)
                       instances + 5.0 - 0.01 * np.array([1, -1] * 5),  # indistinguishable
                       instances,  # worse on every instance by 5
                       instances + 10.0])  # better on every instance, but not "best" (the caller says)
    adjusted, members = top_group(values, best=0, higher_is_better=True)
    assert np.isnan(adjusted[0]) and members.tolist() == [True, True, False, True]
    assert adjusted[2] == pytest.approx(3 * 2 / 2**10)  # exact p 2/1024, Holm ×3 (smallest of 3)
    _, members_down = top_group(-values, best=0, higher_is_better=False)
    assert members_down.tolist() == members.tolist()  # direction handled by the sign


def test_many_columns_at_once_equal_one_at_a_time():
    rng = np.random.default_rng(2)
    columns = [(rng.standard_normal((k, n)) + np.arange(k)[:, None] * 0.4, 0, bool(k % 2))
               for k, n in [(3, 12), (5, 12), (4, 30), (2, 7)]]
    together = top_groups(columns)
    for i, (values, best, higher) in enumerate(columns):
        adjusted, members = top_group(values, best, higher)
        assert np.allclose(together[0][i], adjusted, equal_nan=True) and (together[1][i] == members).all()


def planted(seed: int, n: int, shift: float) -> np.ndarray:
    """Per-instance scores of 3 methods on n shared instances (higher is better): a best method,
    a method equal to it in distribution, and one worse by ``shift`` (in units of the within-instance
    noise sd). Instances differ a lot from each other (sd 3), which only a paired test can remove."""
    rng = np.random.default_rng(seed)
    instance = 3.0 * rng.standard_normal(n)
    noise = rng.standard_normal((3, n))
    return instance + noise - np.array([0.0, 0.0, shift])[:, None]


@pytest.mark.parametrize("n", [16, 200])
def test_planted_difference_is_detected_and_a_null_one_is_not(n):
    """Over 400 seeds: the method made worse by a known amount leaves the top group (power), the
    equal one stays in it (size ≤ α up to Monte Carlo error: SE √(0.05·0.95/400) = 0.011).
    Measured with these seeds: n = 16, shift 1.5 sd: power 0.965, false exclusion of the equal
    method 0.048; n = 200, shift 0.4 sd: power 0.978, false exclusion 0.053."""
    shift = {16: 1.5, 200: 0.4}[n]
    seeds = range(400)
    columns = []
    for seed in seeds:
        values = planted(seed, n, shift)
        best = int(np.argmax(values.mean(axis=1)))  # chosen by the same data, as the leaderboard does
        columns.append((values, best, True))
    _, members = top_groups(columns)
    worse_out = np.mean([not m[2] for m in members])
    equal_out = np.mean([not (m[0] and m[1]) for m in members])  # the best is one of the two equal methods
    assert worse_out >= 0.95, f"power {worse_out:.3f}"
    assert equal_out <= ALPHA + 0.025, f"size {equal_out:.3f}"


def test_a_one_sided_test_in_the_observed_direction_would_double_the_size():
    """Why the test is two-sided: choosing the best by the data and then testing one-sided in the
    direction the data point to rejects an equal method about twice as often as α."""
    rejections = 0
    for seed in range(400):
        values = planted(seed, 16, 0.0)[:2]
        best = int(np.argmax(values.mean(axis=1)))
        p = sps.wilcoxon(values[best] - values[1 - best], alternative="greater").pvalue
        rejections += p < ALPHA
    assert rejections / 400 > 1.5 * ALPHA
