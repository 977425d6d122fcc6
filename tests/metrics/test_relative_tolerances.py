"""One relative tolerance rule (issue 9, fault 2): values do not change with the scale of f and φ.

Before: the direction of a removal curve used an absolute 1e-5 cut-off while its normalisation used
0.1 × the background spread, so ``f = c·(x₀ − 3x₁)`` gave deletion 1, insertion 0, ABPC −1 at
c = 1e-6 (``degenerate_fraction`` 0), and ``gt_rank_correlation`` ranked ±1e-15 rounding noise.
"""

from __future__ import annotations

import pytest
import torch

from xaibench.metric import get_metric
from xaibench.testing import task_from_function


@pytest.mark.parametrize("c", [1.0, 1e-6, 1e-7, 1e6])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_removal_curves_of_a_scaled_linear_function(c, dtype):
    """f = c·(x₀ − 3x₁), x = (1, 1), b = 0, φ = c·(1, −3): by hand deletion 0, insertion 1, ABPC 1.

    The change f(x) − f(b) = −2c is negative, so the most relevant player is x₁ (it carries the
    change): deletion removes x₁ first (f = c, y = −1/2), insertion restores it first (f = −3c,
    y = 3/2); the trapezoids over (0, ½, 1) give 0 and 1, and LeRF's area is 1.
    """
    x = torch.ones(1, 2, dtype=dtype)
    task = task_from_function(lambda z: c * (z[:, 0] - 3 * z[:, 1]), x)
    phi = c * torch.tensor([[1.0, -3.0]], dtype=dtype)
    for name, value in (("deletion_auc", 0.0), ("insertion_auc", 1.0), ("abpc", 1.0)):
        out = get_metric(name).evaluate(task, x, phi, None)
        assert out.values.item() == pytest.approx(value, abs=1e-5), (name, c)
        assert out.extras["degenerate_fraction"] == 0.0


def test_degenerate_means_rounding_level_change():
    """An output that does not move (to rounding, next to its size) is degenerate at any scale."""
    x = torch.ones(2, 3, dtype=torch.float64)
    task = task_from_function(lambda z: 1e8 + 0 * z.sum(1), x)
    out = get_metric("deletion_auc").evaluate(task, x, torch.randn(2, 3, dtype=torch.float64), None)
    assert out.extras["degenerate_fraction"] == 1.0 and torch.isfinite(out.values).all()


def test_faithfulness_correlation_does_not_correlate_rounding_noise():
    """Drops of f = 1e8 + 1e-9·Σx are float64 rounding noise next to |f|: no correlation (0), whatever φ."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 6, generator=g, dtype=torch.float64)
    task = task_from_function(lambda z: 1e8 + 1e-9 * z.sum(1), x)
    phi = torch.randn(3, 6, generator=g, dtype=torch.float64)
    out = get_metric("faithfulness_correlation").evaluate(task, x, phi, None)
    assert out.values.tolist() == [0.0, 0.0, 0.0] and out.extras["degenerate_fraction"] == 1.0
    varied = task_from_function(lambda z: z.sum(1), x)  # the same attributions on a moving output: none degenerate
    assert get_metric("faithfulness_correlation").evaluate(varied, x, phi, None).extras["degenerate_fraction"] == 0.0


def test_rank_correlation_ignores_rounding_noise_on_irrelevant_features():
    """Exact Shapley values that leave ±1e-15 where the truth is exactly 0 score 1.0 (was 0.988)."""
    truth = torch.tensor([[1.9566, -0.177, 0.5115, 0.629, -0.9956, 2.3432, -1.3437, 0.0, 0.0, 0.0]],
                         dtype=torch.float64)
    x = torch.zeros(1, 10, dtype=torch.float64)
    task = task_from_function(lambda z: z.sum(1), x, ground_truth=lambda z: truth.expand_as(z))
    phi = truth + torch.tensor([[0, 0, 0, 0, 0, 0, 0, 1e-15, -1e-15, 2e-16]], dtype=torch.float64)
    for name in ("gt_rank_correlation", "gt_pairwise_rank_agreement", "gt_mask_auroc", "gt_sign_agreement"):
        assert get_metric(name)(task, x, phi, None).item() == pytest.approx(1.0, abs=1e-12), name


@pytest.mark.parametrize("name", ["local_fidelity", "sparseness", "entropy", "gt_rank_correlation"])
def test_scale_free_metrics_at_extreme_scales(name):
    """c = 1e-30 and 1e30 (float64): no absolute floor decides anything."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 5, generator=g, dtype=torch.float64)
    w = torch.randn(5, generator=g, dtype=torch.float64)
    phi = torch.randn(4, 5, generator=g, dtype=torch.float64)
    values = []
    for c in (1.0, 1e-30, 1e30):
        task = task_from_function(lambda z, c=c: c * torch.tanh(z @ w), x, ground_truth=lambda z, c=c: c * z * w)
        values.append(get_metric(name)(task, x, c * phi, None, seed=0))
    torch.testing.assert_close(values[1], values[0], rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(values[2], values[0], rtol=1e-9, atol=1e-12)
