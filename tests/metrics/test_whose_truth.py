"""Ground truth made right and explicit (issue 9, fault 3).

* ``exact_shapley`` on every oracle it applies to scores 1.0 (to 1e-9) on every ground-truth metric;
* ``prob`` targets are scored against the exact Shapley values of the Bayes-optimal probability
  (before: the log-odds values, so a perfect explanation scored RA 0.85 / FA 0.97 on
  synthetic_additive), and that perfect explanation scores 1.0;
* ``truth="model"`` scores against the model's own exact Shapley values;
* every synthetic target's truth says whose truth it is.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import pytest
import torch

from xaibench.errors import InvalidParameterError, NotApplicableError
from xaibench.method import get_method
from xaibench.metric import get_metric
from xaibench.registries import metrics
from xaibench.task import GroundTruth
from xaibench.tasks import load_task
from xaibench.testing import mlp_task, task_from_function

GT_METRICS = [n for n in metrics.names() if metrics.get(n).category == "ground_truth"]
ORACLES = ["synthetic_linear", "synthetic_additive", "synthetic_interaction", "synthetic_copy"]
N = 24


def applicable(metric, task):
    try:
        metric.check(task, None)
    except NotApplicableError:
        return False
    return True


@functools.cache
def oracle_case(dataset: str, dtype: torch.dtype):
    task = load_task(dataset, "oracle", "value", n_instances=N, dtype=dtype)
    return task, get_method("exact_shapley").explain(task, task.inputs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("dataset", ORACLES)
def test_exact_shapley_on_each_oracle_scores_one(dataset, dtype):
    """(synthetic_patch, 16 players, is tested below with max_players=16.)"""
    task, phi = oracle_case(dataset, dtype)
    scored = 0
    for name in GT_METRICS:
        for truth in ("process", "model"):
            metric = get_metric(name, truth=truth)
            if applicable(metric, task):
                values = metric(task, task.inputs, phi, None).double()
                assert torch.allclose(values, torch.ones_like(values), atol=1e-9, rtol=0), (name, truth, values)
                scored += 1
    assert scored >= 10


def test_patch_oracle_needs_max_players_16_and_then_scores_one():
    """The patch oracle has 16 players, beyond the default 14, so exact_shapley must be asked for it.

    Its truth is the 0/1 mask of the winning cell. The oracle's score is a max over cells, so its
    exact Shapley values also give the other cells a little credit (without the patch another cell
    wins the max): every metric that scores the mask's membership (top-k, pairwise order, AUROC) is
    exactly 1, while the Spearman correlation with the 0/1 mask is below 1, as it must be for any
    attribution that is not itself constant off the mask.
    """
    task = load_task("synthetic_patch", "oracle", "value", n_instances=3)
    with pytest.raises(NotApplicableError, match="max_players=16"):
        get_method("exact_shapley").check(task)
    phi = get_method("exact_shapley", max_players=16).explain(task, task.inputs)
    scored = []
    for name in GT_METRICS:
        metric = get_metric(name)  # truth="process"; "model" stops at 14 players
        if applicable(metric, task):
            values = metric(task, task.inputs, phi, None).double()
            if name == "gt_rank_correlation":
                assert (values < 1).all() and (values > 0).all(), values
            else:
                assert torch.allclose(values, torch.ones_like(values), atol=1e-9, rtol=0), (name, values)
                scored.append(name)
    assert {"gt_feature_agreement", "gt_mask_auroc", "gt_pairwise_rank_agreement", "gt_rank_agreement"} <= set(scored)


def bayes_probability_task(task, dataset: str):
    """The task with f replaced by the Bayes-optimal probability of the class explained at x."""
    from xaibench.dataset import load_dataset

    score = load_dataset(dataset).oracle.score
    f = lambda z, c: torch.sigmoid((2 * c - 1).to(z.dtype) * score(z).to(z.dtype))  # noqa: E731
    return dataclasses.replace(task, f=f)


@pytest.mark.parametrize("model", ["logreg", "mlp"])
@pytest.mark.parametrize("dataset", ["synthetic_linear", "synthetic_additive", "synthetic_interaction"])
def test_exact_explanation_of_the_bayes_optimal_probability_scores_one(dataset, model):
    task = load_task(dataset, model, "prob", n_instances=N)
    assert task.ground_truth.whose == "process" and "Bayes-optimal probability" in task.ground_truth.note
    # the exact Shapley values of p*_c, by the exact_shapley method (game_values): independent of the truth's code path
    phi = get_method("exact_shapley").explain(bayes_probability_task(task, dataset), task.inputs)
    for name in GT_METRICS:
        metric = get_metric(name)
        if applicable(metric, task):
            values = metric(task, task.inputs, phi, None).double()
            assert torch.allclose(values, torch.ones_like(values), atol=1e-9, rtol=0), (name, values)


def test_prob_truth_is_not_the_log_odds_truth():
    """On synthetic_additive the log-odds values order players differently from the probability's:
    scored against the probability truth they fall short of 1 (the old truth scored them 1)."""
    task = load_task("synthetic_additive", "mlp", "prob", n_instances=64)
    log_odds = load_task("synthetic_additive", "mlp", "logit", n_instances=64).ground_truth(task.inputs)
    ra = get_metric("gt_rank_agreement")(task, task.inputs, log_odds, None).mean().item()
    assert ra < 0.95


def test_probability_truth_matches_brute_force_enumeration():
    """Against a direct enumeration of v(S) = σ(±s(x_S, b_¬S)) over all 2^10 coalitions (3 instances)."""
    from xaibench.dataset import load_dataset

    task = load_task("synthetic_interaction", "logreg", "prob", n_instances=3, dtype=torch.float64)
    score, b, x = load_dataset("synthetic_interaction").oracle.score, task.baseline, task.inputs
    c = task.select(x)
    d = x.shape[1]
    codes = torch.arange(2**d)
    masks = ((codes[:, None] >> torch.arange(d)) & 1).double()
    size = masks.sum(1, keepdim=True)
    w = lambda s: torch.exp(torch.lgamma(s + 1) + torch.lgamma(d - s) - math.lgamma(d + 1))  # noqa: E731
    weights = torch.where(masks.bool(), w(size - 1), -w(size))
    mixed = b + masks[None] * (x[:, None] - b)
    values = torch.sigmoid((2 * c - 1)[:, None].double() * score(mixed.reshape(-1, d)).reshape(3, -1))
    torch.testing.assert_close(task.ground_truth(x), values @ weights, rtol=1e-10, atol=1e-12)


def test_model_truth_scores_the_model_not_the_process():
    """On a trained model: exact Shapley of the model scores 1 with truth="model" and less with the process truth."""
    task = load_task("synthetic_interaction", "mlp", "logit", n_instances=N)
    phi = get_method("exact_shapley").explain(task, task.inputs)
    model = get_metric("gt_rank_correlation", truth="model")(task, task.inputs, phi, None)
    process = get_metric("gt_rank_correlation")(task, task.inputs, phi, None)
    assert torch.allclose(model.double(), torch.ones(N, dtype=torch.float64), atol=1e-9)
    assert process.mean() < 0.99


def test_model_truth_applies_without_ground_truth_and_up_to_14_players():
    task = mlp_task(6, n_instances=3)  # no ground truth at all
    metric = get_metric("gt_feature_agreement", truth="model")
    assert metric.label == "gt_feature_agreement@0.25[model]"
    assert metric.params == {"k": 0.25, "truth": "model"}
    with pytest.raises(NotApplicableError, match="no data-generating ground truth"):
        get_metric("gt_feature_agreement")(task, task.inputs, task.inputs, None)
    phi = get_method("exact_shapley").explain(task, task.inputs)
    assert metric(task, task.inputs, phi, None).tolist() == [1.0, 1.0, 1.0]
    big = mlp_task(15, n_instances=2)
    with pytest.raises(NotApplicableError, match="at most 14 players"):
        metric(big, big.inputs, big.inputs, None)
    with pytest.raises(InvalidParameterError):
        get_metric("gt_mask_auroc", truth="data")


def test_every_synthetic_target_says_whose_truth():
    cases = [("synthetic_linear", "logreg", "logit"), ("synthetic_additive", "mlp", "prob"),
             ("synthetic_patch", "cnn", "logit"), ("synthetic_copy", "sequence_lm", "next_token_logprob"),
             ("synthetic_interaction", "oracle", "value"), ("synthetic_patch", "oracle", "value")]
    for case in cases:
        truth = load_task(*case, n_instances=2).ground_truth
        assert isinstance(truth, GroundTruth) and truth.whose == "process" and truth.note, case


def test_groundtruth_refuses_an_unknown_owner():
    with pytest.raises(ValueError):
        GroundTruth(lambda x: x, "someone", "")
    task = task_from_function(lambda z: z.sum(1), torch.zeros(1, 2), ground_truth=lambda z: z)
    assert task.truth_whose == "process"
