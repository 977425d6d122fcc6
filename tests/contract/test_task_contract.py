"""The Task contract, checked where a task or a batch enters (issue 9, fault 4).

Before: integer inputs gave int64 zeros from exact_shapley, kernel_shap and lime and untyped errors
from permutation_shap, integrated_gradients and saliency; fractional group ids were truncated
(groups (0, 0.5, 1) became 2 players); an empty batch crashed 13 methods and 10 metrics; lime
crashed on any one-feature tabular task. Parametrised over the registries.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from xaibench.errors import InvalidInputError, NotApplicableError, ShapeError, XaiBenchError
from xaibench.method import get_method
from xaibench.metric import MetricOutput, get_metric
from xaibench.registries import methods, metrics
from xaibench.testing import linear_task, task_from_function

METHODS = methods.names()
METRICS = [n for n in metrics.names() if metrics.get(n).category != "cost"]
FAST = {"n_samples": 64, "perturbations_per_eval": 64, "n_coalitions": 16, "nr_runs": 8, "n_seeds": 2}


def fast(registry, name, **params):
    fields = {f.name for f in dataclasses.fields(registry.get(name))}
    return (get_method if registry is methods else get_metric)(
        name, **{k: v for k, v in {**FAST, **params}.items() if k in fields})


def half_sum(z):
    return 0.5 * z[:, 0] + 0.5 * z[:, 1]


# -- floating-point inputs ---------------------------------------------------------------------
def test_task_refuses_integer_inputs_naming_dtype_and_fix():
    with pytest.raises(InvalidInputError, match=r"torch.int64.*x.float\(\)|inputs has dtype torch.int64.*\.float\(\)"):
        task_from_function(half_sum, torch.ones(1, 2, dtype=torch.long))


@pytest.mark.parametrize("name", METHODS)
def test_every_method_refuses_an_integer_batch(name):
    task = task_from_function(half_sum, torch.ones(1, 2))
    with pytest.raises(InvalidInputError, match="torch.int64"):
        fast(methods, name).explain(task, torch.ones(1, 2, dtype=torch.long), seed=0)


@pytest.mark.parametrize("name", ["exact_shapley", "kernel_shap", "permutation_shap", "integrated_gradients"])
def test_float_inputs_give_the_right_values(name):
    """f = 0.5·x₀ + 0.5·x₁ at x = (1, 1), b = 0: every Shapley-type method gives (0.5, 0.5) (int inputs gave (0, 0))."""
    task = task_from_function(half_sum, torch.ones(1, 2))
    phi = fast(methods, name).explain(task, task.inputs, seed=0)
    torch.testing.assert_close(phi, torch.tensor([[0.5, 0.5]]))


@pytest.mark.parametrize("name", METRICS)
def test_every_metric_refuses_an_integer_batch(name):
    task = linear_task(torch.tensor([1.0, -2.0, 0.5]), torch.randn(2, 3, generator=torch.Generator().manual_seed(0)),
                       background=torch.randn(8, 3, generator=torch.Generator().manual_seed(1)))
    metric = fast(metrics, name)
    try:
        metric.check(task, get_method("input"))
    except NotApplicableError:
        pytest.skip("not applicable to the toy task")
    with pytest.raises(InvalidInputError, match="torch.int64"):
        metric(task, torch.ones(2, 3, dtype=torch.long), torch.ones(2, 3), get_method("input"))


def test_task_from_function_probes_the_function():
    with pytest.raises(ShapeError, match=r"\(B,\) values; one row gave \(1, 2\)"):
        task_from_function(lambda z: z, torch.ones(1, 2))
    with pytest.raises(InvalidInputError, match="floating-point"):
        task_from_function(lambda z: (z.sum(1) > 0).long(), torch.ones(1, 2))


def test_non_finite_inputs_and_empty_background_are_refused():
    with pytest.raises(InvalidInputError, match="NaN"):
        task_from_function(half_sum, torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(ShapeError, match="at least one row"):
        task_from_function(half_sum, torch.ones(1, 2), background=torch.zeros(0, 2))


# -- group ids -----------------------------------------------------------------------------------
@pytest.mark.parametrize("groups, message", [
    (torch.tensor([0.0, 0.5, 1.0]), "must be integers"),  # was truncated to 2 players
    (torch.tensor([0.0, 1.0, 1.0]), "must be integers"),  # whole-number floats: refused, with the fix
    (torch.tensor([0, 2, 2]), "missing \\[1\\]"),  # an empty group
    (torch.tensor([-1, 0, 1]), "0..G-1"),
    (torch.tensor([True, False, True]), "must be integers"),
])
def test_bad_group_ids_are_refused(groups, message):
    with pytest.raises(InvalidInputError, match=message):
        task_from_function(lambda z: z.sum(1), torch.ones(1, 3), groups=groups)


def test_valid_groups_any_integer_dtype():
    task = task_from_function(lambda z: z.sum(1), torch.ones(1, 3), groups=torch.tensor([1, 0, 1], dtype=torch.int8))
    assert task.players.n == 2 and task.players.sizes.tolist() == [1, 2]


# -- zero instances: an empty result of the right shape, everywhere -------------------------------
@pytest.fixture(scope="module")
def toy():
    g = torch.Generator().manual_seed(0)
    return linear_task(torch.tensor([1.0, -2.0, 0.5, 0.0]), torch.randn(3, 4, generator=g),
                       background=torch.randn(16, 4, generator=g))


@pytest.mark.parametrize("name", METHODS)
def test_every_method_returns_an_empty_result_for_an_empty_batch(name, toy):
    method = fast(methods, name)
    empty = toy.inputs[:0]
    try:
        method.check(toy)
    except NotApplicableError:
        pytest.skip("not applicable")
    phi = method.explain(toy, empty, seed=0)
    assert phi.shape == (0, 4) and phi.dtype == empty.dtype


@pytest.mark.parametrize("name", METRICS)
def test_every_metric_returns_an_empty_result_for_an_empty_batch(name, toy):
    metric, method = fast(metrics, name), get_method("input")
    try:
        metric.check(toy, method)
    except NotApplicableError:
        pytest.skip("not applicable")
    empty = toy.inputs[:0]
    assert metric(toy, empty, empty, method).shape == (0,)
    out = metric.evaluate(toy, empty, empty, method)
    assert isinstance(out, MetricOutput) and out.values.shape == (0,) and out.extras == {}


# -- one feature, one player ---------------------------------------------------------------------
@pytest.fixture(scope="module", params=["one_feature", "one_group"])
def single(request):
    g = torch.Generator().manual_seed(2)
    if request.param == "one_feature":
        x = torch.randn(3, 1, generator=g)
        return task_from_function(lambda z: 2 * z[:, 0] + z[:, 0] ** 2, x, background=torch.randn(30, 1, generator=g),
                                  ground_truth=lambda z: 2 * z + z**2)
    x = torch.randn(3, 3, generator=g)
    return task_from_function(lambda z: z.sum(1), x, background=torch.randn(30, 3, generator=g),
                              groups=torch.zeros(3, dtype=torch.long), ground_truth=lambda z: z)


@pytest.mark.parametrize("name", METHODS)
def test_one_player_tasks_work_or_say_why_not(name, single):
    method = fast(methods, name)
    try:
        phi = method.explain(single, single.inputs, seed=0)
    except NotApplicableError as exc:
        assert str(exc), "NotApplicable must give a reason"
        return
    assert phi.shape == single.inputs.shape and torch.isfinite(phi).all()


@pytest.mark.parametrize("name", METRICS)
def test_one_player_metrics_work_or_say_why_not(name, single):
    metric, method = fast(metrics, name), get_method("input")
    try:
        values = metric(single, single.inputs, single.inputs.clone(), method, seed=0)
    except NotApplicableError as exc:
        assert str(exc)
        return
    assert torch.isfinite(values).all()


def test_lime_on_one_feature_matches_the_lime_package():
    """lime crashed on one-feature tabular tasks; the lime package returns a coefficient. Both sample,
    so they agree to sampling error (5,000 samples): the bin-indicator coefficient of f = 2x."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 1, generator=g)
    task = task_from_function(lambda z: 2 * z[:, 0], x, background=torch.randn(200, 1, generator=g))
    ours = get_method("lime").explain(task, x, seed=0)
    theirs = get_method("lime_ref").explain(task, x, seed=0)
    torch.testing.assert_close(ours, theirs, rtol=0.05, atol=0.05)
    assert ours.abs().min() > 0.3  # a real coefficient, not zeros


def test_errors_are_typed_and_say_what_to_do():
    task = task_from_function(half_sum, torch.ones(1, 2))
    with pytest.raises(XaiBenchError) as info:
        get_method("saliency").explain(task, torch.ones(1, 2, dtype=torch.int32))
    assert ".float()" in str(info.value)
    with pytest.raises(ShapeError):
        get_method("saliency").explain(task, torch.ones(1, 3))
