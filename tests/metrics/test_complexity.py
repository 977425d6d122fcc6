"""Complexity metrics: hand-computed Gini and entropy, groups, and agreement with Quantus."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from xaibench.metric import get_metric
from xaibench.testing import task_from_function


def score(name, phi, groups=None):
    task = task_from_function(lambda z: z.flatten(1).sum(1), torch.zeros_like(phi), groups=groups)
    return get_metric(name)(task, task.inputs, phi, None)


def test_gini_by_hand():
    d = 5
    values = score("sparseness", torch.stack([torch.eye(d)[2], torch.ones(d), torch.zeros(d), -torch.eye(d)[0] * 7]))
    torch.testing.assert_close(values, torch.tensor([1 - 1 / d, 0.0, 0.0, 1 - 1 / d]))
    # sorted |φ| = (0, 0, 1, 3): Σ (2i − 5) a_i / (4 Σ a) = (1·1 + 3·3) / 16
    assert score("sparseness", torch.tensor([[3.0, 0.0, -1.0, 0.0]])).item() == pytest.approx(10 / 16)


def test_entropy_by_hand():
    d = 4
    values = score("entropy", torch.stack([torch.eye(d)[1], -torch.ones(d), torch.zeros(d), torch.tensor([1.0, -1, 2, 0])]))
    torch.testing.assert_close(values, torch.tensor([0.0, math.log(d), math.log(d), 1.5 * math.log(2)]))


def test_groups_are_the_units():
    """Features {0,1} and {2,3}: φ = (1, 1, 0, 0) is one-hot over the two groups."""
    groups = torch.tensor([0, 0, 1, 1])
    phi = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    assert score("sparseness", phi, groups).item() == pytest.approx(0.5)
    assert score("entropy", phi, groups).item() == pytest.approx(0.0)
    assert score("sparseness", phi).item() == pytest.approx(0.5)  # per feature: (−1·0 − 1·0 + 1·1 + 3·1) / 8
    assert score("entropy", phi).item() == pytest.approx(math.log(2))


def test_values_do_not_depend_on_batch_mates():
    phi = torch.randn(6, 20, generator=torch.Generator().manual_seed(0))
    for name in ("sparseness", "entropy"):
        torch.testing.assert_close(score(name, phi)[2:4], score(name, phi[2:4]))


@pytest.mark.reference
@pytest.mark.parametrize("name, reference", [("sparseness", "Sparseness"), ("entropy", "Complexity")])
def test_matches_quantus(name, reference):
    quantus = pytest.importorskip("quantus")
    g = torch.Generator().manual_seed(3)
    phi = torch.randn(8, 1, 6, 6, generator=g, dtype=torch.float64) * torch.rand(8, 1, 1, 1, generator=g, dtype=torch.float64)
    x = torch.rand(8, 1, 6, 6, generator=g, dtype=torch.float64)
    expected = getattr(quantus, reference)(disable_warnings=True)(
        model=None, x_batch=x.numpy(), y_batch=np.zeros(8, dtype=int), a_batch=phi.numpy().copy(),
    )
    np.testing.assert_allclose(score(name, phi).numpy(), np.asarray(expected), rtol=1e-4)
