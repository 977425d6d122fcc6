"""On the synthetic tasks, exact Shapley values beat random attributions on every ground-truth and
distillation-fidelity metric.

The model is the zoo's ``oracle`` (the generating function itself), so ``exact_shapley`` returns the
true baseline Shapley values and the task's ground truth is exact; a metric that did not rank them
above the ``random`` control (mean over instances, in the metric's direction) would measure noise.
"""

from __future__ import annotations

import pytest

from xaibench.method import get_method
from xaibench.metric import get_metric
from xaibench.tasks import load_task

METRICS = ("gt_rank_correlation", "gt_feature_agreement", "gt_rank_agreement", "gt_sign_agreement",
           "gt_signed_rank_agreement", "gt_pairwise_rank_agreement", "gt_mask_auroc", "local_fidelity",
           "global_distillation")


@pytest.mark.parametrize("dataset", ["synthetic_additive", "synthetic_interaction"])
def test_exact_shapley_beats_random(dataset):
    task = load_task(dataset, "oracle", "value", n_instances=32)
    x = task.inputs
    exact = get_method("exact_shapley").explain(task, x, seed=0)
    random = get_method("random").explain(task, x, seed=0)
    for name in METRICS:
        metric = get_metric(name)
        metric.check(task, get_method("exact_shapley"))
        good, bad = metric(task, x, exact, None, seed=0).mean(), metric(task, x, random, None, seed=0).mean()
        assert (good > bad) if metric.higher_is_better else (good < bad), (name, float(good), float(bad))
