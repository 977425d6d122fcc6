"""Shapley-value methods: exact values by formula and brute force, convergence, design, contract."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
import torch

from xaibench.dataset import load_dataset
from xaibench.errors import InvalidParameterError, NotApplicableError
from xaibench.method import get_method
from xaibench.methods._coalitions import _size_pairs, shapley_kernel_design
from xaibench.rng import generator
from xaibench.tasks import load_task
from xaibench.testing import mlp_task, task_from_function

GROUPS = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3])  # one-hot-like blocks


def oracle_task(dataset: str, n: int = 8, *, baseline: str = "mean", n_background: int = 5):
    """The zoo's ``oracle`` model (the dataset's generating function) in float64, and the oracle.

    ``baseline="mean"`` keeps the dataset's baseline (training mean); ``"random"`` swaps in a
    random one, with the oracle's attributions relative to it as ground truth.
    """
    task = load_task(dataset, "oracle", "value", n_instances=n, n_background=n_background, dtype=torch.float64)
    oracle = load_dataset(dataset).oracle
    if baseline == "random":
        b = torch.randn(task.n_features, generator=generator(5), dtype=torch.float64)
        task = dataclasses.replace(task, baseline=b, ground_truth=lambda z: oracle.attributions(z, b))
    return task, oracle


def brute_force_shapley(task, x, groups=None):
    """Shapley values of v(S) = f(x_S, b_¬S) by the textbook sum, one instance at a time (float64)."""
    index = torch.arange(x.shape[1]) if groups is None else groups
    g = int(index.max()) + 1
    out = torch.zeros(x.shape[0], g, dtype=torch.float64)
    for n in range(x.shape[0]):
        def v(coalition):
            keep = torch.isin(index, torch.tensor(sorted(coalition), dtype=torch.long))
            z = torch.where(keep, x[n], task.baseline)
            return float(task.f(z[None], torch.zeros(1, dtype=torch.long)))
        for i in range(g):
            others = [j for j in range(g) if j != i]
            for size in range(g):
                weight = math.factorial(size) * math.factorial(g - size - 1) / math.factorial(g)
                for s in itertools.combinations(others, size):
                    out[n, i] += weight * (v({*s, i}) - v(set(s)))
    return out


def relative_mae(phi, exact):
    """Per-instance mean absolute error as a fraction of Σ|φ_exact|."""
    return (phi - exact).abs().mean(1) / exact.abs().sum(1)


# -- exact_shapley -------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["synthetic_additive", "synthetic_interaction"])
@pytest.mark.parametrize("baseline", ["mean", "random"])
def test_exact_equals_analytic_shapley_values(dataset, baseline):
    task, oracle = oracle_task(dataset, baseline=baseline)
    phi = get_method("exact_shapley").explain(task, task.inputs)
    torch.testing.assert_close(phi, task.ground_truth(task.inputs), rtol=0, atol=1e-5)
    # efficiency: Σφ = f(x) − f(b)
    gap = oracle.score(task.inputs) - oracle.score(task.baseline[None])
    torch.testing.assert_close(phi.sum(1), gap, rtol=0, atol=1e-10)


def test_exact_with_background_averages_baseline_shapley_over_rows():
    """Shapley values are linear in the game: v = mean_r v_r gives φ = mean_r φ(x; r)."""
    task, oracle = oracle_task("synthetic_interaction", n=4)
    phi = get_method("exact_shapley", background="background").explain(task, task.inputs)
    expected = torch.stack([oracle.attributions(task.inputs, r) for r in task.background]).mean(0)
    torch.testing.assert_close(phi, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("groups", [None, GROUPS], ids=["features", "groups"])
def test_exact_equals_brute_force_on_a_nonlinear_model(groups):
    task = mlp_task(8, n_instances=3, dtype=torch.float64, groups=groups, n_classes=1)
    phi = get_method("exact_shapley").explain(task, task.inputs)
    players = brute_force_shapley(task, task.inputs, groups)
    torch.testing.assert_close(task.players.total(phi), players, rtol=0, atol=1e-12)
    if groups is not None:  # spread evenly over the block
        for g in range(4):
            block = phi[:, groups == g]
            torch.testing.assert_close(block, (players[:, g] / block.shape[1])[:, None].expand_as(block))


def test_exact_refuses_too_many_players_unless_grouped():
    method = get_method("exact_shapley")
    with pytest.raises(NotApplicableError, match="at most 14 players"):
        method.check(mlp_task(15, n_instances=1))
    method.check(mlp_task(15, n_instances=1, groups=torch.arange(15) // 2))  # 8 groups: fine


def test_chunking_does_not_change_values():
    task = mlp_task(6, n_instances=5, dtype=torch.float64)
    task = dataclasses.replace(task, background=task.background[:3])
    for name in ("exact_shapley", "kernel_shap"):
        whole = get_method(name, background="background").explain(task, task.inputs)
        # 3 rows x 6 features = 18 numbers per coalition: chunks of 2 instances x 1 coalition
        chunked = get_method(name, background="background", max_elements=40).explain(task, task.inputs)
        torch.testing.assert_close(whole, chunked, rtol=0, atol=1e-12)


# -- kernel_shap and permutation_shap ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["kernel_shap", "permutation_shap"])
def test_sampling_methods_converge_to_exact(name):
    """Error falls as the budget grows; at 4,096 samples on 10 features MAE ≤ 1% of Σ|φ|."""
    budgets = (64, 512, 4096)
    for d in (10, 14):
        task = mlp_task(d, n_instances=10, hidden=32, dtype=torch.float64)
        exact = get_method("exact_shapley").explain(task, task.inputs)
        errors = [relative_mae(get_method(name, n_samples=n).explain(task, task.inputs, seed=1), exact)
                  for n in budgets]
        means = [float(e.mean()) for e in errors]
        assert means[0] > means[1] > means[2] or means[2] < 1e-12, (d, means)
        if d == 10:
            assert float(errors[-1].max()) <= 0.01, means


def test_kernel_shap_is_exact_when_the_budget_enumerates_every_coalition():
    task = mlp_task(9, n_instances=4, dtype=torch.float64)
    exact = get_method("exact_shapley").explain(task, task.inputs)
    phi = get_method("kernel_shap", n_samples=2**9 - 2).explain(task, task.inputs, seed=3)
    torch.testing.assert_close(phi, exact, rtol=0, atol=1e-12)


def test_one_antithetic_pair_is_exact_for_pairwise_interactions():
    """An order and its reverse give the exact Shapley value of any game of order ≤ 2."""
    task, _ = oracle_task("synthetic_interaction", n_background=3)
    for background in ("baseline", "background"):
        exact = get_method("exact_shapley", background=background).explain(task, task.inputs)
        phi = get_method("permutation_shap", n_samples=1, background=background).explain(task, task.inputs, seed=4)
        torch.testing.assert_close(phi, exact, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", ["kernel_shap", "permutation_shap"])
@pytest.mark.parametrize("background", ["baseline", "background"])
def test_efficiency(name, background):
    task = mlp_task(20, n_instances=4, dtype=torch.float64)
    phi = get_method(name, n_samples=300, background=background).explain(task, task.inputs)
    bound = task.bind(task.inputs)
    rows = task.baseline[None] if background == "baseline" else task.background
    empty = bound(rows[None].expand(4, -1, -1)).mean(1)
    torch.testing.assert_close(phi.sum(1), bound(task.inputs) - empty, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", ["kernel_shap", "permutation_shap"])
def test_same_seed_same_result_and_batch_independence(name):
    task = mlp_task(8, n_instances=4, dtype=torch.float64)
    method = get_method(name, n_samples=40)  # fewer than the 254 coalitions: really sampled
    a = method.explain(task, task.inputs, seed=2)
    torch.testing.assert_close(a, method.explain(task, task.inputs, seed=2), rtol=0, atol=0)
    assert not torch.equal(a, method.explain(task, task.inputs, seed=3))
    alone = torch.cat([method.explain(task, task.inputs[i : i + 1], seed=2) for i in range(4)])
    torch.testing.assert_close(a, alone, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["kernel_shap", "permutation_shap", "exact_shapley"])
def test_groups_are_players(name):
    """One-hot blocks are switched as a whole; their value is spread evenly over the block."""
    task = mlp_task(8, n_instances=4, groups=GROUPS, dtype=torch.float64, n_classes=1)
    budget = {"kernel_shap": {"n_samples": 14}, "permutation_shap": {"n_samples": 10}}.get(name, {})
    phi = get_method(name, **budget).explain(task, task.inputs)
    for g in range(4):
        block = phi[:, GROUPS == g]
        torch.testing.assert_close(block, block[:, :1].expand_as(block))
    players = brute_force_shapley(task, task.inputs, GROUPS)
    if name == "permutation_shap":  # 10 samples buy 1 pair of orders: efficiency, not exactness
        torch.testing.assert_close(phi.sum(1), players.sum(1), rtol=0, atol=1e-12)
    else:  # 14 = 2^4 - 2 samples: kernel_shap enumerates every coalition of the 4 groups
        torch.testing.assert_close(task.players.total(phi), players, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_features", [1, 2])
@pytest.mark.parametrize("name", ["kernel_shap", "permutation_shap"])
def test_games_of_one_or_two_players(name, n_features):
    task = mlp_task(n_features, n_instances=3, dtype=torch.float64)
    exact = get_method("exact_shapley").explain(task, task.inputs)
    torch.testing.assert_close(get_method(name).explain(task, task.inputs), exact, rtol=0, atol=1e-12)


def test_image_inputs_with_patch_groups():
    """(N, C, H, W) inputs, 2×2 patches as players: a product of two pixels and a square of a third."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64)
    patches = (torch.arange(4)[:, None] // 2 * 2 + torch.arange(4)[None, :] // 2).reshape(1, 4, 4)

    def fn(z):
        return z[:, 0, 0, 0] * z[:, 0, 3, 3] + z[:, 0, 1, 2].square() + z[:, 0, 2, 1]

    task = task_from_function(fn, x, groups=patches, kind="image")
    exact = get_method("exact_shapley").explain(task, x)
    assert exact.shape == x.shape
    players = task.players.total(exact)  # baseline 0: the product splits evenly between patches 0 and 3
    product, square, linear = x[:, 0, 0, 0] * x[:, 0, 3, 3], x[:, 0, 1, 2].square(), x[:, 0, 2, 1]
    expected = torch.stack([product / 2, square, linear, product / 2], 1)
    torch.testing.assert_close(players, expected, rtol=0, atol=1e-12)
    for name in ("kernel_shap", "permutation_shap"):  # 4 players: enumerated / order ≤ 2
        torch.testing.assert_close(get_method(name).explain(task, x), exact, rtol=0, atol=1e-12)


# -- the KernelSHAP design ---------------------------------------------------------------------------


def test_design_enumerates_everything_with_kernel_weights():
    g = 6
    design = shapley_kernel_design(g, 10_000, generator(0))
    assert design.coalitions.shape == (2**g - 2, g)
    assert torch.unique(design.coalitions, dim=0).shape[0] == 2**g - 2
    size = design.coalitions.sum(1)
    kernel = torch.tensor([(g - 1) / (math.comb(g, int(s)) * s * (g - s)) for s in size], dtype=torch.float64)
    torch.testing.assert_close(design.weights, kernel)


@pytest.mark.parametrize("g", [10, 11, 40])
def test_sampled_design_is_paired_distinct_and_keeps_the_kernel_mass(g):
    n_samples = 200
    design = shapley_kernel_design(g, n_samples, generator(1))
    z, w = design.coalitions, design.weights
    assert z.shape[0] == n_samples and torch.unique(z, dim=0).shape[0] == n_samples
    assert (w > 0).all()
    total_mass = sum(mass for _, _, mass in _size_pairs(g))
    assert math.isclose(float(w.sum()), total_mass, rel_tol=1e-12)
    # every coalition's complement is in the design, with the same weight
    keys = {tuple(row.tolist()): float(wk) for row, wk in zip(z, w)}
    assert all(math.isclose(keys[tuple((~row).tolist())], wk) for row, wk in zip(z, w.tolist()))
    assert not z.all(1).any() and z.any(1).all()  # ∅ and the full coalition are constraints


def test_design_weight_per_size_follows_the_kernel():
    """Per size pair, the weights add up to the kernel mass: exactly where enumerated, in expectation where drawn."""
    g = 40
    design = shapley_kernel_design(g, 20_000, generator(2))
    size = design.coalitions.sum(1)
    small = torch.minimum(size, g - size)
    per_size = torch.zeros(g // 2 + 1, dtype=torch.float64).index_add_(0, small, design.weights)[1:]
    masses = torch.tensor([mass for _, _, mass in _size_pairs(g)], dtype=torch.float64)
    torch.testing.assert_close(per_size[:2], masses[:2], rtol=1e-12, atol=0)  # sizes {1,39}, {2,38} enumerated
    assert (size == 3).sum() < math.comb(g, 3)  # ... and {3,37} drawn
    torch.testing.assert_close(per_size / per_size.sum(), masses / masses.sum(), rtol=0, atol=0.01)


@pytest.mark.parametrize("params", [{"background": "zero"}, {"n_samples": 0}, {"max_elements": 0}])
@pytest.mark.parametrize("name", ["kernel_shap", "permutation_shap", "kernel_shap_ref", "captum_kernel_shap"])
def test_bad_parameters_raise_typed_errors(name, params):
    if name.endswith(("ref", "captum_kernel_shap")) and "max_elements" in params:
        pytest.skip("references have no chunking parameter")
    with pytest.raises(InvalidParameterError):
        get_method(name, **params)
