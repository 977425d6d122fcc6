"""The method and metric contracts (``tests/contract``) on the newest generative tasks, with shipped weights:
the CycleGAN's three targets and the character language model's two (token-embedding inputs, 64 position
players).

Every registered method: attributions of the inputs' shape, dtype and device, finite, the same for
the same seed; perturbation methods keep each player's features tied. Every registered metric, scoring
``saliency``: finite values, one per instance for per-instance metrics, the same for the same seed —
or a :class:`NotApplicableError` for the ground-truth metrics (these tasks have none) and for those
that need a stochastic method. Small sampling budgets, two instances: the contracts hold at any budget.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

import xaibench
from xaibench.errors import NotApplicableError
from xaibench.method import get_method
from xaibench.metric import check_attributions, get_metric
from xaibench.registries import methods, metrics

TASKS = [
    ("digits_16x16", "cyclegan", "translation_logit"),
    ("digits_16x16", "cyclegan", "cycle_error"),
    ("digits_16x16", "cyclegan", "translation_realness"),
    ("tinyshakespeare", "char_lm", "next_token_logprob"),
    ("tinyshakespeare", "char_lm", "logit_margin"),
]
FAST_METHODS = {"n_samples": 48, "perturbations_per_eval": 48, "n_steps": 8, "max_iter": 20}
FAST_METRICS = {"n_samples": 6, "n_coalitions": 16, "n_steps": 5, "nr_runs": 10, "max_points": 4}
N = 2


def _fast(registry, name, budgets):
    fields = {f.name for f in dataclasses.fields(registry.get(name))}
    return {k: v for k, v in budgets.items() if k in fields}


@pytest.fixture(scope="module")
def tasks():
    cache = {}

    def get(ref):
        if ref not in cache:
            cache[ref] = xaibench.load_task(*ref, n_instances=N, n_background=16)
        return cache[ref]

    return get


def _explain(task, name, seed=0):
    method = get_method(name, **_fast(methods, name, FAST_METHODS))
    try:
        method.check(task)
    except NotApplicableError as exc:
        pytest.skip(f"{name}: {exc}")
    return method.explain(task, task.inputs, seed=seed)


@pytest.mark.parametrize("name", methods.names())
@pytest.mark.parametrize("ref", TASKS, ids="/".join)
def test_method_contract(tasks, ref, name):
    task = tasks(ref)
    phi = _explain(task, name, seed=3)
    check_attributions(task.inputs, phi, who=name)
    assert phi.dtype == task.inputs.dtype and phi.device == task.inputs.device
    torch.testing.assert_close(_explain(task, name, seed=3), phi, rtol=0, atol=0)
    if methods.get(name).family == "perturbation" and not (name == "occlusion" and task.kind == "image"):
        # (occlusion on images slides a pixel window, captum's Occlusion: its windows are not players)
        scores = task.players.total(phi.abs()) / task.players.sizes
        torch.testing.assert_close(task.players.spread(scores * task.players.sizes), phi.abs())


@pytest.mark.parametrize("name", [n for n in metrics.names() if metrics.get(n).category != "cost"])
@pytest.mark.parametrize("ref", TASKS, ids="/".join)
def test_metric_contract(tasks, ref, name):
    task = tasks(ref)
    method = get_method("saliency")
    metric = get_metric(name, **_fast(metrics, name, FAST_METRICS))
    try:
        metric.check(task, method)
    except NotApplicableError:  # these tasks have no ground truth; saliency is deterministic
        assert metric.category == "ground_truth" or "stochastic" in metric.requires, f"{name} should apply"
        return
    phi = method.explain(task, task.inputs, seed=0)
    values = metric.evaluate(task, task.inputs, phi, method, seed=1).values
    assert values.dim() == 1 and torch.isfinite(values).all(), values
    if metric.per_instance:
        assert values.shape == (N,)
    torch.testing.assert_close(metric.evaluate(task, task.inputs, phi, method, seed=1).values, values, rtol=0, atol=0)
