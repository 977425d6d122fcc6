"""The contract every registered metric keeps (see ``xaibench.metric``).

Parametrised over the registry. Each metric's hand-computable cases and reference agreement live
beside its category's tests; this file checks the cross-cutting promises on shared toy tasks.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest
import torch

from xaibench.errors import NotApplicableError
from xaibench.method import Method
from xaibench.metric import CATEGORIES, MetricOutput, get_metric
from xaibench.registries import metrics
from xaibench.testing import linear_task

METRICS = metrics.names()


@dataclasses.dataclass(frozen=True)
class ExactLinear(Method):
    """φ = w ⊙ (x − b) for the linear toy task: every attribution method's exact answer."""

    name: ClassVar[str] = "exact_linear"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "test-only"

    def explain(self, task, x, *, seed=0):
        return task.ground_truth(x)


@dataclasses.dataclass(frozen=True)
class NoisyLinear(Method):
    """Exact attributions plus seeded noise private to each instance (a stochastic method)."""

    name: ClassVar[str] = "noisy_linear_test"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "test-only"
    stochastic: ClassVar[bool] = True

    def explain(self, task, x, *, seed=0):
        from xaibench.rng import instance_normal

        return task.ground_truth(x) + 0.1 * instance_normal(x, seed, task.feature_shape)


W = torch.tensor([3.0, -2.0, 1.0, 0.5, 0.0, -1.5, 2.5, 0.25])


@pytest.fixture(scope="module")
def task():
    g = torch.Generator().manual_seed(0)
    return linear_task(W, torch.randn(6, 8, generator=g), background=torch.randn(40, 8, generator=g))


def _evaluate(name, task, x, method, seed=0):
    metric = get_metric(name)
    try:
        metric.check(task, method)
    except NotApplicableError as exc:
        pytest.skip(f"{name} does not apply to the toy task: {exc}")
    return metric, metric.evaluate(task, x, method.explain(task, x, seed=seed), method, seed=seed)


def test_registry_is_populated():
    assert len(METRICS) >= 5, METRICS


@pytest.mark.parametrize("name", METRICS)
def test_metadata(name):
    cls = metrics.get(name)
    assert cls.category in CATEGORIES and isinstance(cls.higher_is_better, bool)
    assert cls.description, f"{name} needs a one-line description for `xaibench list metrics`"
    assert cls.__doc__ and len(cls.__doc__) > 80, f"{name}: the docstring must state the paper, formula and defaults"


@pytest.mark.parametrize("name", METRICS)
@pytest.mark.parametrize("method", [ExactLinear(), NoisyLinear()], ids=lambda m: m.name)
def test_values_are_finite_and_shaped(name, task, method):
    if metrics.get(name).category == "cost":
        pytest.skip("cost is measured by the runner")
    metric, out = _evaluate(name, task, task.inputs, method)
    assert isinstance(out, MetricOutput)
    values = out.values
    assert values.dim() == 1 and torch.isfinite(values).all(), values
    if metric.per_instance:
        assert values.shape == (len(task.inputs),)


@pytest.mark.parametrize("name", METRICS)
def test_same_seed_same_value(name, task):
    if metrics.get(name).category == "cost":
        pytest.skip("cost is measured by the runner")
    _, a = _evaluate(name, task, task.inputs, NoisyLinear(), seed=4)
    _, b = _evaluate(name, task, task.inputs, NoisyLinear(), seed=4)
    torch.testing.assert_close(a.values, b.values, rtol=0, atol=0)


@pytest.mark.parametrize("name", METRICS)
def test_values_do_not_depend_on_batch_mates(name, task):
    cls = metrics.get(name)
    if cls.category == "cost" or not cls.per_instance:
        pytest.skip("not a per-instance metric")
    _, whole = _evaluate(name, task, task.inputs, NoisyLinear(), seed=2)
    _, part = _evaluate(name, task, task.inputs[2:4], NoisyLinear(), seed=2)
    torch.testing.assert_close(whole.values[2:4], part.values, rtol=1e-4, atol=1e-6)
