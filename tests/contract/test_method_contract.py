"""The contract every registered explanation method keeps (see ``xaibench.method``).

Parametrised over the registry, so a newly registered method is checked without new code.
"""

from __future__ import annotations

import pytest
import torch

from xaibench.errors import NotApplicableError
from xaibench.method import get_method
from xaibench.metric import check_attributions
from xaibench.registries import methods
from xaibench.testing import mlp_task

METHODS = methods.names()
# one-hot-like blocks: features {0,1,2}, {3,4}, {5}, {6,7}
GROUPS = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3])


# Small sampling budgets: the contract holds at any budget, and the reference packages are slow.
FAST = {"n_samples": 128, "perturbations_per_eval": 128}


def _fast_method(name):
    import dataclasses

    fields = {f.name for f in dataclasses.fields(methods.get(name))}
    return get_method(name, **{k: v for k, v in FAST.items() if k in fields})


def _explain(name, task, x, seed=0):
    method = _fast_method(name)
    try:
        method.check(task)
    except NotApplicableError as exc:
        pytest.skip(f"{name} does not apply to the toy task: {exc}")
    return method.explain(task, x, seed=seed)


@pytest.fixture(scope="module", params=["features", "groups"])
def task(request):
    return mlp_task(8, n_instances=5, groups=GROUPS if request.param == "groups" else None)


def test_registry_is_populated():
    assert len(METHODS) >= 7, METHODS


@pytest.mark.parametrize("name", METHODS)
def test_shape_dtype_finite(name, task):
    phi = _explain(name, task, task.inputs)
    check_attributions(task.inputs, phi, who=name)
    assert phi.dtype == task.inputs.dtype and phi.device == task.inputs.device


@pytest.mark.parametrize("name", METHODS)
def test_same_seed_same_result(name, task):
    a = _explain(name, task, task.inputs, seed=3)
    b = _explain(name, task, task.inputs, seed=3)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("name", METHODS)
def test_batch_equals_one_by_one(name, task):
    together = _explain(name, task, task.inputs, seed=1)
    alone = torch.cat([_explain(name, task, task.inputs[i : i + 1], seed=1) for i in range(len(task.inputs))])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", METHODS)
def test_stochastic_flag_is_honest(name, task):
    """A method that declares itself deterministic must ignore the seed."""
    if _fast_method(name).stochastic:
        pytest.skip("stochastic method")
    torch.testing.assert_close(_explain(name, task, task.inputs, seed=0), _explain(name, task, task.inputs, seed=7))


@pytest.mark.parametrize("name", METHODS)
def test_params_round_trip(name):
    method = get_method(name)
    assert type(method)(**method.params) == method
    assert method.family in ("gradient", "perturbation", "surrogate", "control", "reference")
    assert method.description, f"{name} needs a one-line description for `xaibench list methods`"


@pytest.mark.parametrize("name", [n for n in METHODS if methods.get(n).family == "perturbation"])
def test_perturbation_methods_respect_groups(name):
    """Players are switched on and off as a whole: features of one group share one value."""
    task = mlp_task(8, n_instances=4, groups=GROUPS)
    phi = _explain(name, task, task.inputs)
    for g in GROUPS.unique():
        block = phi[:, GROUPS == g]
        torch.testing.assert_close(block, block[:, :1].expand_as(block))
