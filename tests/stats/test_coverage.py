"""Coverage of the per-cell 95 % interval, by simulation (issue 12: at least 0.93 at n = 16 and at
the standard suite's n = 200 on normal and t(3) data; the lognormal figure is reported).

Each case draws R independent samples of size n, computes every interval in one batched call
(exactly the leaderboard's code path) and counts how often it contains the true mean (or median).
With R = 2,000 the Monte Carlo standard error of a coverage near 0.95 is 0.005, so a true coverage
of 0.95 falls below the 0.93 threshold with probability < 1e-4; the seeds are fixed, so the test
is deterministic. Measured (R = 2,000, these seeds), at n = 16 / 200 — mean: normal 0.966 /
0.949, t(3) 0.976 / 0.950, lognormal 0.907 / 0.945; median: normal 0.980 / 0.963, t(3) 0.981 /
0.957, lognormal 0.977 / 0.967. The skewed lognormal mean at n = 16 is the one case below 0.93;
no bootstrap does better there (BCa: 0.87, percentile: 0.84, Student t: 0.85).
"""

from __future__ import annotations

import numpy as np
import pytest

from xaibench.stats import summarize_arrays

R = 2000
LOGNORMAL_MEAN, LOGNORMAL_MEDIAN = float(np.exp(0.5)), 1.0
DRAW = {
    "normal": (lambda rng, size: rng.standard_normal(size), 0.0, 0.0),
    "t3": (lambda rng, size: rng.standard_t(3, size), 0.0, 0.0),
    "lognormal": (lambda rng, size: rng.lognormal(0.0, 1.0, size), LOGNORMAL_MEAN, LOGNORMAL_MEDIAN),
}
# the floor each case must reach: 0.93, except the lognormal mean at n = 16, guarded a little
# under its measured 0.907 against regressions
FLOOR = 0.93
LOGNORMAL_MEAN_16_FLOOR = 0.89


def coverage(dist: str, n: int, statistic: str, seed: int) -> float:
    draw, mean, median = DRAW[dist]
    x = draw(np.random.default_rng(seed), (R, n))
    _, _, low, high, _ = summarize_arrays(x, heavy_tailed=statistic == "median")
    truth = median if statistic == "median" else mean
    return float(np.mean((low <= truth) & (truth <= high)))


@pytest.mark.parametrize("statistic", ["mean", "median"])
@pytest.mark.parametrize("dist", ["normal", "t3", "lognormal"])
@pytest.mark.parametrize("n", [16, 200])
def test_coverage(n, dist, statistic):
    observed = coverage(dist, n, statistic, seed=1000 * n + len(dist))
    floor = LOGNORMAL_MEAN_16_FLOOR if (dist, statistic, n) == ("lognormal", "mean", 16) else FLOOR
    assert observed >= floor, f"coverage {observed:.3f} of the {statistic} interval, {dist} data, n = {n}"


def test_the_percentile_bootstrap_this_replaced_undercovers_where_this_does_not():
    """The test can fail: the old percentile-bootstrap interval, fed the same t(3) samples at
    n = 16, covers well under 0.93 (the issue measured 0.83-0.92)."""
    x = np.random.default_rng(7).standard_t(3, (R, 16))
    idx = np.random.default_rng(0).integers(0, 16, size=(1000, 16))
    means = x[:, idx].mean(axis=2)
    low, high = np.percentile(means, [2.5, 97.5], axis=1)
    assert np.mean((low <= 0) & (0 <= high)) < 0.93 <= coverage("t3", 16, "mean", seed=7)
