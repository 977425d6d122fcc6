"""Gradient methods (saliency, input × gradient, SmoothGrad, VarGrad, integrated and expected
gradients): quadrature rules, closed forms on hand-set models, completeness, and agreement with
captum on identical inputs, noise and draws."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from xaibench.errors import InvalidParameterError
from xaibench.method import get_method
from xaibench.methods.integrated_gradients import RULES, quadrature
from xaibench.testing import linear_task, mlp_task, task_from_function

captum_attr = pytest.importorskip("captum.attr")
from captum.attr._utils.approximation_methods import approximation_parameters  # noqa: E402

N_CLASSES = 3  # mlp_task's default


@pytest.fixture(scope="module")
def mlp():
    """A float64 tanh MLP; its target is the logit of the class predicted at each instance, its
    baseline the background mean (non-zero)."""
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


# -- closed forms on a linear model -------------------------------------------------------------
@pytest.mark.parametrize("signed", [False, True])
def test_saliency_on_linear_model_is_the_weights(linear, signed):
    task, w = linear
    phi = get_method("saliency", abs=not signed).explain(task, task.inputs)
    torch.testing.assert_close(phi, (w if signed else w.abs()).expand_as(phi))


def test_input_x_gradient_on_linear_model(linear):
    task, w = linear
    torch.testing.assert_close(get_method("input_x_gradient").explain(task, task.inputs), w * task.inputs)


def test_smoothgrad_and_vargrad_on_linear_model(linear):
    task, w = linear
    torch.testing.assert_close(get_method("smoothgrad", n_samples=8).explain(task, task.inputs, seed=2), w.expand(4, 7))
    torch.testing.assert_close(get_method("vargrad", n_samples=8).explain(task, task.inputs, seed=2),
                               torch.zeros(4, 7, dtype=torch.float64))


def test_smoothgrad_and_vargrad_on_quadratic_model():
    """f = Σ x²: ∂f/∂x(x + ε) = 2(x + ε), so SmoothGrad = 2(x + ε̄) and VarGrad = 4·Var_k(ε)."""
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    task = task_from_function(lambda z: z.square().sum(1), x)
    sg, vg = get_method("smoothgrad", n_samples=6), get_method("vargrad", n_samples=6)
    eps = sg.noise(x, seed=4)
    torch.testing.assert_close(sg.explain(task, x, seed=4), 2 * (x + eps.mean(1)))
    torch.testing.assert_close(vg.explain(task, x, seed=4), 4 * eps.var(1, correction=0))


def test_noise_scale_is_a_fraction_of_the_instance_range():
    x = torch.tensor([[0.0, 1.0, 4.0], [2.0, 2.0, 3.0]], dtype=torch.float64)
    eps = get_method("smoothgrad", noise_level=0.2, n_samples=4000).noise(x, seed=0)
    std = eps.reshape(2, -1).std(1)
    torch.testing.assert_close(std, torch.tensor([0.8, 0.2], dtype=torch.float64), rtol=0.03, atol=0)
    fixed = get_method("smoothgrad", stdev=0.5, n_samples=4000).noise(x, seed=0)
    torch.testing.assert_close(fixed.reshape(2, -1).std(1), torch.full((2,), 0.5, dtype=torch.float64), rtol=0.03, atol=0)
    assert abs(float(eps.mean())) < 0.02


# -- agreement with captum ----------------------------------------------------------------------
@pytest.mark.reference
@pytest.mark.parametrize("abs_", [True, False])
def test_saliency_equals_captum(mlp, abs_):
    x = mlp.inputs
    ours = get_method("saliency", abs=abs_).explain(mlp, x)
    theirs = captum_attr.Saliency(logits(mlp)).attribute(x.clone(), target=mlp.select(x), abs=abs_)
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.reference
def test_input_x_gradient_equals_captum(mlp):
    x = mlp.inputs
    theirs = captum_attr.InputXGradient(logits(mlp)).attribute(x.clone(), target=mlp.select(x))
    torch.testing.assert_close(get_method("input_x_gradient").explain(mlp, x), theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.reference
@pytest.mark.parametrize("name", ["smoothgrad", "vargrad"])
def test_noisy_gradients_equal_captum_noise_tunnel_given_the_same_noise(mlp, name, monkeypatch):
    x = mlp.inputs
    method = get_method(name, n_samples=7)
    ours = method.explain(mlp, x, seed=5)
    noise = method.noise(x, seed=5).reshape(-1, *x.shape[1:])  # captum's copies are instance-major
    monkeypatch.setattr(torch, "normal", lambda mean, std: noise.clone())
    tunnel = captum_attr.NoiseTunnel(captum_attr.Saliency(logits(mlp)))
    theirs = tunnel.attribute(x.clone(), nt_type=name, nt_samples=7, stdevs=1.0, target=mlp.select(x), abs=False)
    torch.testing.assert_close(ours, theirs, rtol=1e-8, atol=1e-12)


# -- reproducibility, chunking, bad input --------------------------------------------------------
@pytest.mark.parametrize("name", ["smoothgrad", "vargrad"])
def test_seed_controls_the_noise(mlp, name):
    method = get_method(name, n_samples=5)
    a, b = method.explain(mlp, mlp.inputs, seed=1), method.explain(mlp, mlp.inputs, seed=2)
    assert not torch.allclose(a, b)
    torch.testing.assert_close(a, method.explain(mlp, mlp.inputs, seed=1), rtol=0, atol=0)


@pytest.mark.parametrize("name", ["saliency", "input_x_gradient", "smoothgrad", "vargrad"])
def test_chunked_evaluation_changes_nothing(mlp, name):
    method = get_method(name, **({"n_samples": 6} if name in ("smoothgrad", "vargrad") else {}))
    small = dataclasses.replace(mlp, max_batch=4)  # 1 instance per chunk, several passes each
    torch.testing.assert_close(method.explain(small, mlp.inputs, seed=3), method.explain(mlp, mlp.inputs, seed=3))


@pytest.mark.parametrize("params", [{"n_samples": 0}, {"noise_level": -0.1}, {"stdev": -1.0}])
def test_bad_noise_parameters_are_rejected(params):
    with pytest.raises(InvalidParameterError):
        get_method("smoothgrad", **params)


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
def test_bad_path_parameters_are_rejected(params):
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
