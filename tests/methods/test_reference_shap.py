"""The shap and captum KernelSHAP wrappers, and kernel_shap's agreement with shap.KernelExplainer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from xaibench.method import get_method
from xaibench.tensorstats import pearson
from xaibench.testing import mlp_task

pytestmark = pytest.mark.reference

GROUPS = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3])


@pytest.mark.parametrize("background", ["baseline", "background"])
@pytest.mark.parametrize("groups", [None, GROUPS], ids=["features", "groups"])
def test_shap_and_kernel_shap_are_exact_when_they_enumerate(background, groups):
    """With a budget ≥ 2^G − 2 both enumerate every coalition: identical weights, game and solution."""
    task = _small_background(mlp_task(8, n_instances=3, dtype=torch.float64, groups=groups))
    exact = get_method("exact_shapley", background=background).explain(task, task.inputs)
    for name in ("kernel_shap_ref", "kernel_shap"):
        phi = get_method(name, n_samples=300, background=background).explain(task, task.inputs, seed=0)
        torch.testing.assert_close(phi, exact, rtol=0, atol=1e-9, msg=name)


@pytest.mark.parametrize("background", ["baseline", "background"])
def test_kernel_shap_agrees_with_shap_at_the_same_budget(background):
    """30 features, 2,048 coalitions (sampled: 2^30 exist), same reference rows: Pearson ≥ 0.99."""
    task = _small_background(mlp_task(30, n_instances=3, hidden=64), rows=10)
    ours = get_method("kernel_shap", background=background).explain(task, task.inputs, seed=0)
    shap = get_method("kernel_shap_ref", background=background).explain(task, task.inputs, seed=0)
    r = pearson(ours.double(), shap.double())
    assert float(r.min()) >= 0.99, r


def test_captum_kernel_shap_estimates_the_same_values():
    task = mlp_task(6, n_instances=2, dtype=torch.float64)
    exact = get_method("exact_shapley").explain(task, task.inputs)
    phi = get_method("captum_kernel_shap", n_samples=1000).explain(task, task.inputs, seed=0)
    assert float(pearson(phi, exact).min()) >= 0.95
    assert float((phi - exact).abs().max()) < 0.1 * float(exact.abs().max())


def test_captum_on_groups_and_on_the_background_game():
    task = _small_background(mlp_task(8, n_instances=1, dtype=torch.float64, groups=GROUPS), rows=4)
    for background in ("baseline", "background"):
        exact = get_method("exact_shapley", background=background).explain(task, task.inputs)
        phi = get_method("captum_kernel_shap", n_samples=400, background=background).explain(task, task.inputs)
        for g in range(4):  # captum's feature mask → one value per block, spread evenly
            block = phi[:, GROUPS == g]
            torch.testing.assert_close(block, block[:, :1].expand_as(block))
        torch.testing.assert_close(task.players.total(phi), task.players.total(exact), rtol=0, atol=0.05)


@pytest.mark.parametrize("name", ["kernel_shap_ref", "captum_kernel_shap"])
def test_references_are_seeded_without_touching_global_random_state(name):
    task = mlp_task(12, n_instances=2)
    method = get_method(name, n_samples=60)
    np_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state()
    a = method.explain(task, task.inputs, seed=5)
    assert np.array_equal(np.random.get_state()[1], np_state) and torch.equal(torch.get_rng_state(), torch_state)
    torch.testing.assert_close(a, method.explain(task, task.inputs, seed=5), rtol=0, atol=0)
    alone = method.explain(task, task.inputs[1:], seed=5)
    torch.testing.assert_close(a[1:], alone, rtol=0, atol=0)
    assert not torch.equal(a, method.explain(task, task.inputs, seed=6))


def _small_background(task, rows: int = 5):
    return dataclasses.replace(task, background=task.background[:rows])
