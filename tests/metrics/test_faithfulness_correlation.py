"""``faithfulness_correlation``: exact on linear models, degenerate cases, Quantus agreement."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xaibench.errors import InvalidParameterError, NotApplicableError
from xaibench.metric import get_metric
from xaibench.perf.faithfulness import module_task, quantus_subsets, small_cnn
from xaibench.testing import linear_task


@pytest.fixture(scope="module")
def linear():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(12, generator=g, dtype=torch.float64)
    return linear_task(w, torch.randn(5, 12, generator=g, dtype=torch.float64),
                       baseline=torch.randn(12, generator=g, dtype=torch.float64))


def test_exact_linear_attributions_correlate_perfectly(linear):
    x = linear.inputs
    phi = linear.ground_truth(x)
    values = get_metric("faithfulness_correlation")(linear, x, phi, None, seed=1)
    torch.testing.assert_close(values, torch.ones(5, dtype=torch.float64))
    # any positive multiple too (Pearson is scale-free); the negation is perfectly wrong
    torch.testing.assert_close(get_metric("faithfulness_correlation")(linear, x, -3 * phi, None, seed=1), -values)


def test_grouped_players(linear):
    groups = torch.arange(12) // 3  # 4 groups of 3 features
    task = linear_task(torch.linspace(-1, 1, 12, dtype=torch.float64), linear.inputs, groups=groups)
    x = task.inputs
    phi = task.ground_truth(x)
    # spreading each group's total evenly over its features changes nothing at the group level
    spread = task.players.spread(task.players.total(phi))
    metric = get_metric("faithfulness_correlation", subset_size=2, nr_runs=20)
    torch.testing.assert_close(metric(task, x, phi, None), torch.ones(5, dtype=torch.float64))
    torch.testing.assert_close(metric(task, x, spread, None), torch.ones(5, dtype=torch.float64))


def test_subsets_have_the_requested_size(linear):
    metric = get_metric("faithfulness_correlation", subset_fraction=0.25)
    subsets = metric.subsets(linear, 0)
    assert subsets.shape == (100, 12) and (subsets.sum(1) == 3).all()
    assert not torch.equal(subsets[0], subsets[1])
    torch.testing.assert_close(subsets, metric.subsets(linear, 0))
    with pytest.raises(NotApplicableError, match="exceeds the task's 12 players"):
        get_metric("faithfulness_correlation", subset_size=13).subsets(linear, 0)
    with pytest.raises(InvalidParameterError, match="at least 1"):
        get_metric("faithfulness_correlation", subset_size=0)


def test_constant_sides_give_zero_not_nan(linear):
    x = linear.inputs
    zero = get_metric("faithfulness_correlation")(linear, x, torch.zeros_like(x), None)
    assert torch.equal(zero, torch.zeros(5, dtype=torch.float64))
    flat = linear_task(torch.zeros(12, dtype=torch.float64), x)  # f constant: no subset moves it
    assert torch.equal(get_metric("faithfulness_correlation")(flat, x, torch.randn_like(x), None),
                       torch.zeros(5, dtype=torch.float64))


def test_values_do_not_depend_on_batch_mates(linear):
    x = linear.inputs
    phi = x.flip(1)
    metric = get_metric("faithfulness_correlation", nr_runs=30)
    whole = metric(linear, x, phi, None, seed=7)
    torch.testing.assert_close(metric(linear, x[3:], phi[3:], None, seed=7), whole[3:])
    assert not torch.equal(whole, metric(linear, x, phi, None, seed=8))


@pytest.mark.reference
@pytest.mark.parametrize("baseline,quantus_baseline", [("min", "black"), ("zero", 0.0)])
def test_matches_quantus_on_the_same_subsets(baseline, quantus_baseline):
    quantus = pytest.importorskip("quantus")
    g = torch.Generator().manual_seed(3)
    module = small_cnn(side=8, n_classes=3, seed=2)
    task = module_task(module, torch.rand(7, 1, 8, 8, generator=g))
    x = task.inputs
    phi = torch.randn(x.shape, generator=g)
    metric = get_metric("faithfulness_correlation", nr_runs=25, subset_size=10, baseline=baseline)
    subsets = metric.subsets(task, 0)
    with quantus_subsets(subsets.topk(10, -1).indices.numpy(), batch_size=len(x)):
        theirs = quantus.FaithfulnessCorrelation(nr_runs=25, subset_size=10, perturb_baseline=quantus_baseline,
                                                 return_aggregate=False, disable_warnings=True)(
            model=module, x_batch=x.numpy(), y_batch=task.select(x).numpy(), a_batch=phi.numpy(), device="cpu")
    ours = metric(task, x, phi, None, seed=0)
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=1e-4, atol=1e-6)
