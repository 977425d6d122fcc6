"""On the synthetic tasks, exact Shapley values beat random attributions on every faithfulness,
distillation-fidelity and ground-truth metric in the registry (issue 5).

The model is the zoo's ``oracle`` (the generating function itself), so ``exact_shapley`` returns the
true baseline Shapley values and the task's ground truth is exact; a metric that did not rank them
above the ``random`` control (mean over instances, in the metric's direction) would measure noise.
"""

from __future__ import annotations

import functools

import pytest

from xaibench.method import get_method
from xaibench.metric import get_metric
from xaibench.registries import metrics
from xaibench.tasks import load_task

CATEGORIES = {"faithfulness", "fidelity", "ground_truth"}
METRICS = [name for name in metrics.names() if metrics.get(name).category in CATEGORIES]


@functools.cache
def explained(dataset: str):
    """The oracle task, and the exact and random attributions of 32 test instances."""
    task = load_task(dataset, "oracle", "value", n_instances=32)
    return task, get_method("exact_shapley").explain(task, task.inputs, seed=0), get_method("random").explain(task, task.inputs, seed=0)


@pytest.mark.parametrize("name", METRICS)
@pytest.mark.parametrize("dataset", ["synthetic_additive", "synthetic_interaction"])
def test_exact_shapley_beats_random(dataset, name):
    task, exact, random = explained(dataset)
    metric = get_metric(name)
    metric.check(task, get_method("exact_shapley"))
    good = metric(task, task.inputs, exact, None, seed=0).mean()
    bad = metric(task, task.inputs, random, None, seed=0).mean()
    assert (good > bad) if metric.higher_is_better else (good < bad), (float(good), float(bad))
