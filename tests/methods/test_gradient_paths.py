"""Path methods (integrated gradients, expected gradients): quadrature rules, closed forms,
completeness, and agreement with captum on identical inputs and draws."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from xaibench.errors import InvalidParameterError
from xaibench.method import get_method
from xaibench.methods.integrated_gradients import RULES, quadrature
from xaibench.testing import linear_task, mlp_task

captum_attr = pytest.importorskip("captum.attr")
from captum.attr._utils.approximation_methods import approximation_parameters  # noqa: E402

N_CLASSES = 3  # mlp_task's default


@pytest.fixture(scope="module")
def mlp():
    """A float64 tanh MLP with a non-zero baseline (the background mean)."""
    return mlp_task(6, n_instances=5, dtype=torch.float64)


@pytest.fixture(scope="module")
def linear():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(7, generator=g, dtype=torch.float64)
    x = torch.randn(4, 7, generator=g, dtype=torch.float64)
    background = torch.randn(10, 7, generator=g, dtype=torch.float64)
    baseline = torch.full((7,), 0.3, dtype=torch.float64)
    return linear_task(w, x, bias=0.5, baseline=baseline, background=background), w


def logits(task):
    """The task's per-class outputs, as the ``(B, C)`` forward function captum expects."""
    return lambda z: torch.stack([task.f(z, torch.full((z.shape[0],), c)) for c in range(N_CLASSES)], 1)


# -- quadrature ---------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("n", [2, 7, 50])
def test_quadrature_matches_captum(rule, n):
    """Same nodes as captum; same weights except the trapezoid rule, where captum's are (n−1)/n of the true ones."""
    alphas, weights = quadrature(rule, n)
    step_sizes, captum_alphas = approximation_parameters(rule)
    torch.testing.assert_close(alphas, torch.tensor(captum_alphas(n), dtype=torch.float64), rtol=0, atol=1e-7)
    scale = n / (n - 1) if rule == "riemann_trapezoid" else 1.0
    torch.testing.assert_close(weights, scale * torch.tensor(step_sizes(n), dtype=torch.float64), rtol=1e-12, atol=1e-15)
    assert abs(float(weights.sum()) - 1) < 1e-12


def test_gauss_legendre_integrates_polynomials_exactly():
    alphas, weights = quadrature("gausslegendre", 5)  # exact up to degree 9
    for degree in range(10):
        assert abs(float((weights * alphas**degree).sum()) - 1 / (degree + 1)) < 1e-13


@pytest.mark.parametrize("params", [{"method": "simpson"}, {"n_steps": 1, "method": "riemann_left"}, {"n_steps": 0},
                                    {"baseline": "mean"}])
def test_bad_parameters_are_rejected(params):
    with pytest.raises(InvalidParameterError):
        get_method("integrated_gradients", **params)


# -- integrated gradients -----------------------------------------------------------------------
@pytest.mark.parametrize("rule", RULES)
def test_integrated_gradients_on_linear_model_is_exact(linear, rule):
    task, w = linear
    phi = get_method("integrated_gradients", n_steps=5, method=rule).explain(task, task.inputs)
    torch.testing.assert_close(phi, w * (task.inputs - task.baseline), rtol=1e-12, atol=1e-12)
    zero = get_method("integrated_gradients", n_steps=5, method=rule, baseline="zero").explain(task, task.inputs)
    torch.testing.assert_close(zero, w * task.inputs, rtol=1e-12, atol=1e-12)


@pytest.mark.reference
@pytest.mark.parametrize("rule", RULES)
def test_integrated_gradients_equals_captum(mlp, rule):
    x, n = mlp.inputs, 16
    ours = get_method("integrated_gradients", n_steps=n, method=rule).explain(mlp, x)
    theirs = captum_attr.IntegratedGradients(logits(mlp)).attribute(
        x.clone(), baselines=mlp.baseline.expand_as(x), target=mlp.select(x), n_steps=n, method=rule)
    if rule == "riemann_trapezoid":  # captum's weights sum to (n−1)/n, see quadrature()
        theirs = theirs * n / (n - 1)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_trapezoid", "riemann_middle"])
def test_completeness_on_a_nonlinear_model(mlp, rule):
    x = mlp.inputs
    phi = get_method("integrated_gradients", n_steps=200, method=rule).explain(mlp, x)
    bound = mlp.bind(x)
    gap = bound(x) - bound(mlp.baseline.expand_as(x))
    assert gap.abs().min() > 1e-2, "the check needs a non-trivial f(x) − f(b)"
    torch.testing.assert_close(phi.sum(1), gap, rtol=1e-3, atol=0)


def test_integrated_gradients_chunked_equals_whole(mlp):
    method = get_method("integrated_gradients", n_steps=8)
    small = dataclasses.replace(mlp, max_batch=5)  # fewer rows than one instance's path
    torch.testing.assert_close(method.explain(small, mlp.inputs), method.explain(mlp, mlp.inputs))


# -- expected gradients -------------------------------------------------------------------------
def test_expected_gradients_on_linear_model(linear):
    """φ = w ⊙ (x − mean of the drawn baselines), whatever the interpolation points."""
    task, w = linear
    method = get_method("expected_gradients", n_samples=9)
    index, _ = method.draws(task, task.inputs, seed=3)
    phi = method.explain(task, task.inputs, seed=3)
    torch.testing.assert_close(phi, w * (task.inputs - task.background[index].mean(1)), rtol=1e-12, atol=1e-12)


def test_expected_gradients_converges_to_expected_baseline(linear):
    task, w = linear
    phi = get_method("expected_gradients", n_samples=20000).explain(task, task.inputs[:1], seed=0)
    expected = w * (task.inputs[:1] - task.background.mean(0))
    assert float((phi - expected).abs().max()) < 0.05 * float(expected.abs().max())


def test_expected_gradients_draws_are_uniform(linear):
    task, _ = linear
    index, alphas = get_method("expected_gradients", n_samples=5000).draws(task, task.inputs[:2], seed=0)
    counts = torch.bincount(index.flatten(), minlength=10).double() / index.numel()
    assert float((counts - 0.1).abs().max()) < 0.015
    assert 0 < float(alphas.min()) and float(alphas.max()) < 1 and abs(float(alphas.mean()) - 0.5) < 0.01


@pytest.mark.reference
def test_expected_gradients_equals_captum_gradient_shap_given_the_same_draws(mlp, monkeypatch):
    x, k = mlp.inputs, 6
    method = get_method("expected_gradients", n_samples=k)
    ours = method.explain(mlp, x, seed=2)
    index, alphas = method.draws(mlp, x, seed=2)  # captum's copies are instance-major
    monkeypatch.setattr(np.random, "choice", lambda m, size: index.reshape(-1).numpy())
    monkeypatch.setattr(np.random, "uniform", lambda lo, hi, size: alphas.reshape(-1).numpy())
    theirs = captum_attr.GradientShap(logits(mlp)).attribute(
        x.clone(), baselines=mlp.background, n_samples=k, stdevs=0.0, target=mlp.select(x))
    torch.testing.assert_close(ours, theirs, rtol=1e-8, atol=1e-12)


def test_expected_gradients_seed_and_chunking(mlp):
    method = get_method("expected_gradients", n_samples=6)
    a = method.explain(mlp, mlp.inputs, seed=1)
    assert not torch.allclose(a, method.explain(mlp, mlp.inputs, seed=2))
    torch.testing.assert_close(a, method.explain(dataclasses.replace(mlp, max_batch=4), mlp.inputs, seed=1))
