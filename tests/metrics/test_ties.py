"""Ties never favour a column index (issue 9, fault 1).

Before: every ranking sorted stably, so tied or all-zero attributions scored by the column a
feature sits in (on ``synthetic_linear`` an all-zero attribution beat ``random``). Now ground-truth
metrics take the exact expectation over the attribution's tie orders (and the best completion of
the truth's ties), and the curve metrics, PGI/PGU and ``global_distillation`` break ties at random
by the metric's seed. These tests pin both halves: exact values where the expectation is known,
uniform frequencies where ties are broken at random — the same for either column order.
"""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from xaibench.metric import get_metric
from xaibench.metrics._agreement import expected_position_agreement, expected_topk_overlap
from xaibench.tensorstats import tie_blocks, tiebreak_ranks, topk_mask
from xaibench.testing import linear_task, task_from_function


# -- the closed forms of the ground-truth agreements, against enumeration -----------------------
def _orders(values):
    """Every order of the players that sorts ``values`` descending (the orders of its ties)."""
    return [p for p in itertools.permutations(range(len(values)))
            if all(values[p[i]] >= values[p[i + 1]] for i in range(len(values) - 1))]


def _enumerated(phi, truth, agree, k, positional):
    """Mean over φ's tie orders of the best agreement over the truth's tie orders."""
    total = 0.0
    phi_orders, truth_orders = _orders(phi), _orders(truth)
    for p in phi_orders:
        best = 0
        for t in truth_orders:
            if positional:
                hits = sum(1 for j in range(k) if p[j] == t[j] and agree[p[j]])
            else:
                hits = len({i for i in p[:k] if agree[i]} & set(t[:k]))
            best = max(best, hits)
        total += best
    return total / len(phi_orders) / k


def test_agreement_closed_forms_match_enumeration():
    rng = random.Random(0)
    for _ in range(120):
        g = rng.randint(1, 6)
        k = rng.randint(1, g)
        phi = [rng.choice([0, 1, 2, 3]) for _ in range(g)]
        truth = [rng.choice([0, 1, 2]) for _ in range(g)]
        agree = [rng.random() < 0.7 for _ in range(g)]
        as_t = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
        blocks = tie_blocks(as_t(phi)), tie_blocks(as_t(truth))
        mask = torch.tensor([agree])
        assert float(expected_topk_overlap(*blocks, k, mask)) == pytest.approx(
            _enumerated(phi, truth, agree, k, False), abs=1e-12), (phi, truth, agree, k)
        assert float(expected_position_agreement(*blocks, k, mask)) == pytest.approx(
            _enumerated(phi, truth, agree, k, True), abs=1e-12), (phi, truth, agree, k)


def test_tiebreak_ranks_use_priorities_not_positions():
    scores = torch.tensor([[1.0, 1.0, 1.0, 5.0]])
    priority = torch.tensor([[0.1, 0.9, 0.5, 0.0]])
    assert tiebreak_ranks(scores, priority).tolist() == [[3, 1, 2, 0]]
    assert tiebreak_ranks(scores, priority, descending=False).tolist() == [[0, 2, 1, 3]]  # the exact reverse
    assert topk_mask(scores, 2, priority).tolist() == [[False, True, False, True]]


# -- fault 1b: the two-feature FA case ---------------------------------------------------------
@pytest.mark.parametrize("weights", [(1.0, 0.0), (0.0, 1.0)])
def test_zero_attribution_scores_chance_whatever_the_column_order(weights):
    """w = (1, 0), x = (1, 1), φ = (0, 0): FA@1 was 1.0, and 0.0 with the columns swapped; chance is 1/2."""
    task = linear_task(torch.tensor(weights), torch.ones(1, 2))
    zero = torch.zeros(1, 2)
    expected = {"gt_feature_agreement": 0.5, "gt_rank_agreement": 0.5, "gt_sign_agreement": 0.25,
                "gt_signed_rank_agreement": 0.25, "gt_pairwise_rank_agreement": 0.5, "gt_mask_auroc": 0.5,
                "gt_rank_correlation": 0.0}
    for name, value in expected.items():
        assert get_metric(name)(task, task.inputs, zero, None).item() == pytest.approx(value, abs=1e-12), name


def test_exact_attributions_of_a_mask_truth_score_one():
    """Truth ties are indifference: 2 relevant of 6 players and k = 3, the exact (tied) answer scores 1."""
    truth = torch.tensor([[0.0, 1.0, 0.0, 0.0, 1.0, 0.0]])
    x = torch.zeros(1, 6)
    task = task_from_function(lambda z: z.sum(1), x, ground_truth=lambda z: truth.expand_as(z),
                              ground_truth_signed=False)
    phi = 0.5 * truth
    for name in ("gt_feature_agreement", "gt_rank_agreement", "gt_pairwise_rank_agreement", "gt_mask_auroc",
                 "gt_rank_correlation"):
        assert get_metric(name, **({"k": 3} if "agreement" in name and "pairwise" not in name else {}))(
            task, x, phi, None).item() == pytest.approx(1.0, abs=1e-12), name
    # and an all-zero attribution scores chance: FA = (E|P ∩ relevant| + P[P holds an irrelevant]) / 3 = 2/3
    assert get_metric("gt_feature_agreement", k=3)(task, x, torch.zeros_like(x), None).item() == pytest.approx(2 / 3)


# -- randomly broken ties: uniform over the orders, for either column order ---------------------
def _deletion_orders(weights, n_seeds):
    """Deletion AUC of an all-zero attribution over seeds → the removal order each seed used."""
    x = torch.ones(1, 3, dtype=torch.float64)
    task = linear_task(torch.tensor(weights, dtype=torch.float64), x)
    metric = get_metric("deletion_auc")
    zero = torch.zeros_like(x)
    # with weights (1, 2, 4) each removal order has its own area: (1/3)(1/2 + 1 − w_first/7 + w_last/7)
    areas = {}
    for order in itertools.permutations(range(3)):
        w = [weights[i] for i in order]
        areas[order] = (0.5 + 1 - w[0] / 7 + w[2] / 7) / 3
    counts = dict.fromkeys(areas, 0)
    for seed in range(n_seeds):
        value = metric(task, x, zero, None, seed=seed).item()
        match = [o for o, a in areas.items() if abs(a - value) < 1e-9]
        assert len(match) == 1, value
        counts[match[0]] += 1
    return counts


@pytest.mark.parametrize("weights", [(1.0, 2.0, 4.0), (4.0, 1.0, 2.0)])
def test_deletion_breaks_ties_uniformly_at_random(weights):
    n = 300
    counts = _deletion_orders(weights, n)
    # each of the 6 orders has probability 1/6: 50 ± 6.5 (binomial sd); 5 sd either side
    assert all(18 <= c <= 82 for c in counts.values()), counts


def test_zero_attribution_deletion_has_the_chance_expectation():
    """For a linear f every uniformly random removal order has E[y_t] = 1 − t/G, so E[AUC] = 1/2 exactly."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 6, generator=g, dtype=torch.float64)
    task = linear_task(torch.tensor([3.0, -1.0, 0.5, 2.0, 0.0, -2.5], dtype=torch.float64), x)
    zero = torch.zeros_like(x)
    values = torch.stack([get_metric("deletion_auc", min_change=0.0)(task, x, zero, None, seed=s) for s in range(60)])
    mean, se = values.mean(), values.std() / values.numel() ** 0.5
    assert abs(mean - 0.5) < 4 * se, (float(mean), float(se))


@pytest.mark.parametrize("relevant", [0, 3])
def test_prediction_gap_top_k_is_random_among_ties(relevant):
    """f depends on one feature of 4; PGI with K = 1 perturbs the top-1 player: under ties it is the
    relevant one for a quarter of the seeds, wherever that feature sits (was: always feature 0)."""
    x = torch.zeros(1, 4, dtype=torch.float64)
    task = task_from_function(lambda z: 10 * z[:, relevant], x)
    metric = get_metric("pgi", k_fraction=0.25, n_samples=20)
    hits = sum(metric(task, x, torch.zeros_like(x), None, seed=s).item() > 1e-3 for s in range(200))
    assert 25 <= hits <= 75, hits  # 50 ± 6.1 expected


@pytest.mark.parametrize("relevant", [0, 5])
def test_global_distillation_keeps_a_random_set_under_ties(relevant):
    """f = x_r of 6 features, k = 2: a zero attribution keeps x_r in 1/3 of the seeds (was: always or never)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=g, dtype=torch.float64)
    background = torch.randn(80, 6, generator=g, dtype=torch.float64)
    task = task_from_function(lambda z: z[:, relevant], x, background=background)
    metric = get_metric("global_distillation", k=2)
    kept = sum(metric(task, x, torch.zeros_like(x), None, seed=s).mean().item() > 0.5 for s in range(24))
    assert 2 <= kept <= 16, kept  # 8 ± 2.3 expected


def test_seed_stability_of_identical_tied_runs_is_one():
    """Runs share the tie-break priorities, so two identical all-zero runs have the same top-k."""
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(1))
    task = task_from_function(lambda z: 0 * z.sum(1), x)
    out = get_metric("seed_stability").evaluate(task, x, torch.zeros_like(x), _Zero())
    assert out.values.tolist() == [1.0, 1.0, 1.0] and out.extras["topk_jaccard"] == 1.0


class _Zero:
    """A deterministic method that returns all-zero attributions (duck-typed for seed_stability)."""

    name, stochastic = "zero", False

    def explain(self, task, x, *, seed=0):
        return torch.zeros_like(x)
