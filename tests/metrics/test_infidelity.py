"""``infidelity``: zero for exact linear attributions, closed forms, captum agreement on the same noise."""

from __future__ import annotations

import pytest
import torch

from xaibench.errors import InvalidParameterError, NotApplicableError
from xaibench.metric import get_metric
from xaibench.perf.faithfulness import module_task, small_cnn
from xaibench.testing import linear_task

W = torch.tensor([2.0, -1.0, 0.5, 3.0, 0.0, -2.5], dtype=torch.float64)


@pytest.fixture(scope="module")
def linear():
    g = torch.Generator().manual_seed(0)
    return linear_task(W, torch.randn(4, 6, generator=g, dtype=torch.float64), bias=0.7,
                       baseline=torch.randn(6, generator=g, dtype=torch.float64))


def test_exact_attributions_have_zero_infidelity(linear):
    x = linear.inputs
    assert get_metric("infidelity")(linear, x, linear.ground_truth(x), None).abs().max() < 1e-20
    # gradient-scale attributions are exact under absolute noise: f(x) − f(x − I) = ⟨w, I⟩
    assert get_metric("infidelity", noise="absolute")(linear, x, W.expand_as(x), None).abs().max() < 1e-20


def test_closed_form_for_scaled_attributions(linear):
    # φ = c · w ⊙ (x − b): the error is (c − 1) Σ u_i w_i (x_i − b_i), the same draws u as the metric's
    x, c = linear.inputs, 3.0
    metric = get_metric("infidelity", sigma=0.2, n_samples=50)
    u = metric.draws(linear, seed=4)
    exact = linear.ground_truth(x)
    expected = ((c - 1) * exact @ u.T).square().mean(1)
    torch.testing.assert_close(metric(linear, x, c * exact, None, seed=4), expected)
    # captum's normalize rescales φ by the optimal β = 1/c: the exact answer again
    normalized = get_metric("infidelity", sigma=0.2, n_samples=50, normalize=True)
    assert normalized(linear, x, c * exact, None, seed=4).abs().max() < 1e-12  # E[d²] − E[ad]²/E[a²] cancels


def test_grouped_noise_moves_groups_together(linear):
    groups = torch.tensor([0, 0, 1, 1, 2, 2])
    task = linear_task(W, linear.inputs, baseline=linear.baseline, groups=groups)
    x = task.inputs
    exact = task.ground_truth(x)
    metric = get_metric("infidelity")
    assert metric(task, x, exact, None).abs().max() < 1e-20
    assert metric(task, x, task.players.spread(task.players.total(exact)), None).abs().max() < 1e-20


def test_zero_attribution_with_normalize_is_the_output_variance(linear):
    x = linear.inputs
    metric = get_metric("infidelity", normalize=True)
    plain = get_metric("infidelity")
    zero = torch.zeros_like(x)
    torch.testing.assert_close(metric(linear, x, zero, None), plain(linear, x, zero, None))  # β = 0: E[d²]


def test_parameters_are_checked(linear):
    with pytest.raises(InvalidParameterError, match="noise"):
        get_metric("infidelity", noise="uniform")
    with pytest.raises(InvalidParameterError, match="sigma"):
        get_metric("infidelity", sigma=0.0)
    x = linear.inputs
    with pytest.raises(NotApplicableError):
        get_metric("infidelity", baseline="blur")(linear, x, x, None)


@pytest.mark.reference
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("noise", ["relative", "absolute"])
def test_matches_captum_on_the_same_noise(normalize, noise):
    from captum.metrics import infidelity as captum_infidelity

    g = torch.Generator().manual_seed(5)
    module = small_cnn(side=8, n_classes=3, seed=3)
    task = module_task(module, torch.rand(5, 1, 8, 8, generator=g), baseline=torch.full((1, 8, 8), 0.1))
    x = task.inputs
    phi = torch.randn(x.shape, generator=g)
    metric = get_metric("infidelity", sigma=0.3, n_samples=16, normalize=normalize, noise=noise)
    u = metric.draws(task, seed=0)  # (16, 64): one draw per pixel player, shared by the instances
    shift = u.reshape(16, 1, 8, 8)

    def perturb(inputs):  # captum repeats each instance n_perturb_samples times (repeat_interleave)
        noise_rows = shift.repeat(len(inputs) // 16, 1, 1, 1)
        moved = noise_rows * (inputs - task.baseline) if noise == "relative" else noise_rows
        return noise_rows, inputs - moved

    theirs = captum_infidelity(module, perturb, x, phi, target=task.select(x), n_perturb_samples=16,
                               normalize=normalize)
    ours = metric(task, x, phi, None, seed=0)
    torch.testing.assert_close(ours, theirs.to(ours.dtype), rtol=1e-4, atol=1e-6)
