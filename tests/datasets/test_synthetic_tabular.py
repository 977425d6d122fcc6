"""Synthetic tabular oracles: closed-form Shapley values against brute-force enumeration."""

from __future__ import annotations

import pytest
import torch

from xaibench.dataset import load_dataset
from xaibench.datasets import synthetic_tabular as st

from .shapley_bruteforce import brute_force_shapley

NAMES = ("synthetic_linear", "synthetic_additive", "synthetic_interaction")


def rows(n=12, d=10, seed=3):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_labels_and_balance(name):
    ds = load_dataset(name)
    assert ds.kind == "tabular" and ds.feature_shape == (10,) and ds.n_classes == 2
    assert (len(ds.x_train), len(ds.x_test)) == (4000, 1000)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.long
    assert set(ds.y_train.unique().tolist()) == {0, 1}
    assert 0.4 < ds.y_train.float().mean() < 0.6
    assert 0.75 < ds.meta["bayes_accuracy"] < 0.95
    assert ds.oracle is not None and ds.oracle.signed and ds.version


@pytest.mark.parametrize("name", NAMES)
def test_labels_follow_the_oracle_log_odds(name):
    """Bernoulli(sigmoid(s)) labels: in bins of s, the share of class 1 matches the mean sigmoid(s)."""
    ds = load_dataset(name)
    x, y = torch.cat([ds.x_train, ds.x_test]).double(), torch.cat([ds.y_train, ds.y_test]).double()
    score = ds.oracle.score(x)
    bins = torch.bucketize(score, torch.quantile(score, torch.linspace(0, 1, 6, dtype=score.dtype)[1:-1]))
    for b in range(5):
        inside = bins == b
        assert abs(y[inside].mean() - torch.sigmoid(score[inside]).mean()) < 0.05


@pytest.mark.parametrize("name", NAMES)
def test_oracle_attributions_are_the_exact_shapley_values(name):
    oracle = load_dataset(name).oracle
    x = rows()
    for baseline in (torch.zeros(10, dtype=torch.float64), rows(1, seed=9)[0]):
        exact = brute_force_shapley(oracle.score, x, baseline)
        torch.testing.assert_close(oracle.attributions(x, baseline), exact, atol=1e-10, rtol=1e-10)
        # efficiency
        torch.testing.assert_close(exact.sum(1), oracle.score(x) - oracle.score(baseline[None]))


def test_linear_oracle_is_w_times_difference():
    oracle = load_dataset("synthetic_linear").oracle
    x, b = rows(), rows(1, seed=5)[0]
    w = torch.tensor(st.LINEAR_WEIGHTS, dtype=torch.float64)
    torch.testing.assert_close(oracle.score(x), x @ w)
    torch.testing.assert_close(oracle.attributions(x, b), w * (x - b))
    assert (w == 0).sum() == 3 and len(set(w.abs().tolist()) - {0.0}) == 7


def test_interaction_pair_formula_by_hand():
    """s = x0 x1: phi_0 = (x0 - b0)(x1 + b1)/2 = (3 - 1)(5 + 2)/2 = 7, phi_1 = (5 - 2)(3 + 1)/2 = 6."""
    oracle = st.interaction_oracle(weights=(0.0,) * 10, pairs={(0, 1): 1.0})
    x = torch.zeros(1, 10, dtype=torch.float64)
    x[0, :2] = torch.tensor([3.0, 5.0])
    b = torch.zeros(10, dtype=torch.float64)
    b[:2] = torch.tensor([1.0, 2.0])
    phi = oracle.attributions(x, b)
    assert phi[0, :2].tolist() == [7.0, 6.0] and phi[0, 2:].abs().sum() == 0
    assert float(oracle.score(x)) == 15.0


def test_additive_zero_terms_get_zero_attribution_and_terms_are_centred():
    oracle = load_dataset("synthetic_additive").oracle
    phi = oracle.attributions(rows(), rows(1, seed=4)[0])
    assert phi[:, 7:].abs().max() == 0 and (phi[:, :7].abs() > 0).all()
    z = torch.randn(400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for g in st.ADDITIVE_TERMS:
        assert abs(float(g(z).mean())) < 0.02, g.__name__


def test_oracles_follow_input_device_and_dtype_and_accept_perturbation_batches():
    oracle = load_dataset("synthetic_interaction").oracle
    x = rows(6).float().reshape(2, 3, 10)
    assert oracle.score(x).shape == (2, 3) and oracle.score(x).dtype == torch.float32
    assert oracle.attributions(x, torch.zeros(10)).shape == (2, 3, 10)


def test_generation_is_deterministic():
    again = st.load_synthetic_interaction(None)
    ds = load_dataset("synthetic_interaction")
    assert torch.equal(again.x_train, ds.x_train) and torch.equal(again.y_test, ds.y_test)
