"""Metric agreement (Kendall τ-b, checked against scipy) and the random-last sanity check."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from xaibench.metric_checks import _tau_b, kendall_agreement, random_is_last

NAN = np.nan


def test_tau_hand_cases():
    ranks = np.array([[1, 2, 3, 4], [1, 2, 3, 4], [4, 3, 2, 1], [1, 2, 4, 3]], dtype=float)
    tau = _tau_b(ranks)
    assert tau[0, 1] == 1.0 and tau[0, 2] == -1.0
    assert tau[0, 3] == pytest.approx(4 / 6)  # one discordant pair of six: (5 − 1)/6
    # a metric that ranked only two methods has no τ (fewer than 3 jointly ranked)
    partial = np.array([[1, 2, NAN, NAN], [1, 2, 3, 4]])
    assert np.isnan(_tau_b(partial)[0, 1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(1, 4)), min_size=6, max_size=6), min_size=2, max_size=5))
def test_tau_b_equals_scipy_on_the_jointly_ranked_methods(rows):
    ranks = np.array([[NAN if v is None else float(v) for v in row] for row in rows])
    tau = _tau_b(ranks)
    for a in range(len(rows)):
        for b in range(len(rows)):
            both = np.isfinite(ranks[a]) & np.isfinite(ranks[b])
            if both.sum() < 3 or np.ptp(ranks[a, both]) == 0 or np.ptp(ranks[b, both]) == 0:
                assert np.isnan(tau[a, b])
            else:
                assert tau[a, b] == pytest.approx(sps.kendalltau(ranks[a, both], ranks[b, both]).statistic)


def test_agreement_is_the_mean_over_tasks_where_defined():
    task1 = np.array([[1, 2, 3], [1, 2, 3], [3, 2, 1]], dtype=float)
    task2 = np.array([[1, 2, 3], [3, 2, 1], [NAN, NAN, NAN]], dtype=float)
    agreement = kendall_agreement(["a", "b", "c"], [task1, task2])
    assert agreement.tau[0, 1] == pytest.approx(0.0)  # +1 in task 1, −1 in task 2
    assert agreement.tasks[0, 1] == 2 and agreement.tasks[0, 2] == 1
    assert agreement.tau[0, 2] == -1.0


def test_random_is_last():
    methods = ["saliency", "random", "occlusion"]
    ranks = np.array([[1, 3, 2], [1, 2, 3], [1.5, 3, 1.5], [2, 2, 2], [1, NAN, 2], [NAN, 1, NAN]])
    assert random_is_last(ranks, methods) == [True, False, True, True, None, None]
    assert random_is_last(ranks, ["a", "b", "c"]) == [None] * 6
