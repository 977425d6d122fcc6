"""Friedman, Iman-Davenport, Nemenyi critical difference, CD groups and mean-rank intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from xaibench.ranking import cd_groups, friedman, mean_rank_intervals, nemenyi_cd, rank_methods


def test_friedman_hand_case():
    # rank sums R = (5, 8, 11) over N = 4 tasks, k = 3 methods (mean ranks 1.25, 2, 2.75):
    # χ²_F = 12N/(k(k+1)) · (Σ R̄² − k(k+1)²/4) = 4 · (13.125 − 12) = 4.5, p = exp(−4.5/2)
    # F_F = (N − 1)χ²/(N(k − 1) − χ²) = 3·4.5 / (8 − 4.5) = 27/7 on (2, 6) degrees of freedom
    ranks = np.array([[1, 2, 3], [2, 1, 3], [1, 3, 2], [1, 2, 3]], dtype=float)
    f = friedman(ranks)
    assert f.chi2 == pytest.approx(4.5) and f.p_value == pytest.approx(math.exp(-2.25))
    assert f.f == pytest.approx(27 / 7) and f.f_p_value == pytest.approx(sps.f.sf(27 / 7, 2, 6))


def test_friedman_perfect_agreement_and_too_little_data():
    f = friedman(np.tile([1.0, 2.0, 3.0], (5, 1)))
    assert f.chi2 == pytest.approx(10.0) and math.isinf(f.f) and f.f_p_value == 0.0  # χ² = N(k − 1)
    assert friedman(np.array([[1.0, 2.0], [2.0, 1.0]])) is None  # k = 2
    assert friedman(np.array([[1.0, 2.0, 3.0]])) is None  # N = 1
    assert friedman(np.full((4, 3), 2.0)).f_p_value == 1.0  # every method tied in every task


def test_nemenyi_cd_matches_demsar():
    # Demšar (2006), Table 5a: q_0.05 = 1.960, 2.343, 2.569, 2.728, 2.850 for k = 2..6; his
    # example (k = 4 classifiers, N = 14 data sets) gives CD = 2.569·√(4·5/(6·14)) = 1.25
    for k, q in zip(range(2, 7), (1.960, 2.343, 2.569, 2.728, 2.850)):
        assert nemenyi_cd(k, 10) / math.sqrt(k * (k + 1) / 60) == pytest.approx(q, abs=1e-3)
    assert nemenyi_cd(4, 14) == pytest.approx(1.2535, abs=1e-3)


def test_cd_groups_hand_case():
    ranks = np.array([1.0, 1.5, 2.9, 3.0])
    assert cd_groups(ranks, 1.0) == [[0, 1], [2, 3]]
    assert cd_groups(ranks, 2.0) == [[0, 1, 2], [1, 2, 3]]
    assert cd_groups(ranks, 0.15) == [[0], [1], [2, 3]]
    assert cd_groups(np.array([3.0, 1.0, 2.0]), 1.5) == [[1, 2], [2, 0]]  # sorted by mean rank first


def test_rank_methods_letters_follow_the_groups_only_when_friedman_rejects():
    # 3 methods always in the order 0 < 1 < 2 across 12 tasks, a fourth tied with method 2 half the time
    rng = np.random.default_rng(0)
    blocks = []
    for t in range(12):
        scores = np.array([0.0, 1.0, 2.0 + rng.uniform(0, 0.4), 2.2 + rng.uniform(-0.4, 0.4)])
        blocks.append(sps.rankdata(scores))
    r = rank_methods(np.array(blocks))
    assert r.significant and r.mean_rank[0] == 1.0 and r.mean_rank[1] == 2.0
    cd = nemenyi_cd(4, 12)
    assert r.cd == pytest.approx(cd)
    for i in range(4):
        for j in range(4):
            together = any(i in g and j in g for g in r.groups)
            shared = bool(set(r.letters[i]) & set(r.letters[j]))
            assert together == shared
            if abs(r.mean_rank[i] - r.mean_rank[j]) >= cd:
                assert not shared
    null = rank_methods(np.array([sps.rankdata(rng.standard_normal(4)) for _ in range(6)]))
    assert not null.significant and null.letters == ["a"] * 4  # no post-hoc without a Friedman rejection


def test_mean_rank_intervals_are_scipy_bca_over_tasks():
    rng = np.random.default_rng(1)
    ranks = np.array([sps.rankdata(rng.standard_normal(5) + np.arange(5) * 0.5) for _ in range(10)])
    ranks[:, 4] = 5.0  # a method last everywhere: [5, 5]
    low, high = mean_rank_intervals(ranks)
    assert (low[4], high[4]) == (5.0, 5.0)
    expected = sps.bootstrap((ranks[:, :4],), np.mean, axis=0, vectorized=True, method="BCa",
                             n_resamples=1999, rng=0).confidence_interval
    assert low[:4] == pytest.approx(expected.low) and high[:4] == pytest.approx(expected.high)
    assert (low <= ranks.mean(axis=0)).all() and (ranks.mean(axis=0) <= high).all()
    one = mean_rank_intervals(ranks[:1])
    assert np.isnan(one[0]).all()
