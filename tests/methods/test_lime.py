"""``lime``: hand-computable cases, the lime package's own building blocks, and agreement with ``lime_ref``.

Reference agreement uses the lime package through ``lime_ref`` (same conventions, independent
random draws), so it is statistical: mean Pearson of the coefficients over instances.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from xaibench.errors import InvalidParameterError, NotApplicableError
from xaibench.method import get_method
from xaibench.methods.lime import DISCRETIZERS, QuantileBins, evaluate_per_selector, lime_kernel, weighted_ridge
from xaibench.registries import models
from xaibench.task import Task
from xaibench.tensorstats import pearson
from xaibench.testing import linear_task, mlp_task, task_from_function

GROUPS = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3])


def breast_cancer_task(n_instances: int) -> Task:
    """The zoo's breast_cancer ``mlp``/``logit`` task when its weights are shipped (no training in
    tests), else a fixed random 30-64-64-2 ReLU MLP on the same standardised breast_cancer rows."""
    from xaibench.dataset import load_dataset  # noqa: PLC0415
    from xaibench.tasks import load_task  # noqa: PLC0415
    from xaibench.weights import weights_key  # noqa: PLC0415

    data = load_dataset("breast_cancer")
    spec = models.get("mlp")() if "mlp" in models else None
    manifest = spec.weights_dir / "manifest.json" if spec is not None and spec.weights_dir else None
    if manifest is not None and manifest.exists() and weights_key(spec, data, 0) in json.loads(manifest.read_text()):
        return load_task("breast_cancer", "mlp", "logit", n_instances=n_instances)
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(30, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                              torch.nn.Linear(64, 2))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5)
    net.eval().requires_grad_(False)
    order = torch.randperm(len(data.x_train), generator=g)
    return Task(dataset="breast_cancer", model="random_mlp", target="logit",
                f=lambda x, s: net(x).gather(1, s[:, None]).squeeze(1), inputs=data.x_test[:n_instances],
                background=data.x_train[order[:100]], baseline=data.baseline, kind="tabular",
                select=lambda x: net(x).argmax(1), label_fn=lambda x: net(x).argmax(1))


def image_task(n_instances: int = 4) -> Task:
    """A fixed tanh network on 1×8×8 images with 16 patches of 2×2 pixels (the segmentation)."""
    g = torch.Generator().manual_seed(1)
    w1, w2 = torch.randn(64, 16, generator=g) / 8, torch.randn(16, generator=g)
    patches = (torch.arange(8)[:, None] // 2 * 4 + torch.arange(8)[None, :] // 2).reshape(1, 8, 8)
    return task_from_function(lambda x: torch.tanh(x.reshape(len(x), -1) @ w1) @ w2,
                              torch.randn(n_instances, 1, 8, 8, generator=g), kind="image", groups=patches)


# -- lime's building blocks, exactly -------------------------------------------------------------
@pytest.mark.parametrize("discretizer", ["quartile", "decile"])
def test_bins_equal_lime_discretizer(discretizer):
    from lime.discretize import DecileDiscretizer, QuartileDiscretizer

    data = torch.randn(100, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    data[:40, 2] = 0.0  # a feature with repeated values: duplicate edges, an empty bin
    theirs = {"quartile": QuartileDiscretizer, "decile": DecileDiscretizer}[discretizer](data.numpy(), [], [str(i) for i in range(5)])
    ours = QuantileBins.fit(data, DISCRETIZERS[discretizer])
    codes, their_codes = ours.digitize(data).numpy(), theirs.discretize(data.numpy()).astype(int)
    for j in range(5):  # lime drops duplicate edges (we keep an empty bin): same partition, same bin statistics
        used, their_used = np.unique(codes[:, j]), np.unique(their_codes[:, j])
        np.testing.assert_array_equal(np.searchsorted(used, codes[:, j]), np.searchsorted(their_used, their_codes[:, j]))
        np.testing.assert_allclose(ours.mean[j][used].numpy(), np.array(theirs.means[j])[their_used], rtol=1e-12)
        np.testing.assert_allclose(ours.std[j][used].numpy(), np.array(theirs.stds[j])[their_used], rtol=1e-12)
        np.testing.assert_allclose(ours.freq[j][used].numpy(), np.bincount(their_codes[:, j])[their_used] / len(data))


def truncated_normal_mean(bins: QuantileBins) -> torch.Tensor:
    """E[v | bin] of lime's undiscretizer: the bin's normal truncated to the bin, μ + σ (φ(a) − φ(b)) / (Φ(b) − Φ(a))."""
    a, b = (bins.low - bins.mean) / bins.std, (bins.high - bins.mean) / bins.std
    pdf = lambda t: torch.exp(-t.square() / 2) / (2 * torch.pi) ** 0.5  # noqa: E731
    return bins.mean + bins.std * (pdf(a) - pdf(b)) / (torch.special.ndtr(b) - torch.special.ndtr(a))


def test_undiscretized_values_follow_their_bin():
    data = torch.randn(200, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    bins = QuantileBins.fit(data, DISCRETIZERS["quartile"])
    sampled = bins.sample(40000, seed=0)
    u = torch.rand(sampled.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    values = bins.undiscretize(sampled, u)
    torch.testing.assert_close(bins.digitize(values), sampled)  # each value lies in its bin
    in_bin = torch.nn.functional.one_hot(sampled, 4).double()
    torch.testing.assert_close(in_bin.mean(0), bins.freq, atol=0.01, rtol=0)
    mean = (in_bin * values.unsqueeze(-1)).sum(0) / in_bin.sum(0)
    torch.testing.assert_close(mean, truncated_normal_mean(bins), atol=0.02, rtol=0)


def test_kernel_is_lime_kernel():
    distance = torch.linspace(0, 5, 11, dtype=torch.float64)
    width = 0.75 * 30**0.5
    torch.testing.assert_close(lime_kernel(distance, width), torch.sqrt(torch.exp(-distance**2 / width**2)))


@pytest.mark.parametrize("shared", [False, True])
def test_weighted_ridge_equals_sklearn(shared):
    from sklearn.linear_model import Ridge

    g = torch.Generator().manual_seed(0)
    n, k, p = 4, 60, 5
    z = torch.randn(1 if shared else n, k, p, generator=g, dtype=torch.float64) + 3.0
    w = torch.rand(z.shape[0], k, generator=g, dtype=torch.float64)
    y = torch.randn(n, k, generator=g, dtype=torch.float64) + 100.0
    coef, intercept = weighted_ridge(z, y, w, alpha=1.0)
    for i in range(n):
        b = 0 if shared else i
        ref = Ridge(alpha=1.0).fit(z[b].numpy(), y[i].numpy(), sample_weight=w[b].numpy())
        np.testing.assert_allclose(coef[i].numpy(), ref.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(float(intercept[i]), ref.intercept_, rtol=1e-10)


def test_shared_points_evaluated_once_per_selector():
    task = mlp_task(8, n_instances=6, n_classes=3)
    bound = task.bind(task.inputs)
    points = torch.randn(11, 8, generator=torch.Generator().manual_seed(0))
    values, which = evaluate_per_selector(bound, points)
    assert values.shape[0] == torch.unique(bound.selector).numel()
    torch.testing.assert_close(values[which], bound(points.expand(6, 11, 8)))


# -- hand-computable cases -----------------------------------------------------------------------
def _linear_setup():
    g = torch.Generator().manual_seed(0)
    weights = torch.tensor([3.0, -2.0, 1.0, 0.5, 0.0, -1.0, 0.25, 2.0], dtype=torch.float64)
    background = torch.randn(200, 8, generator=g, dtype=torch.float64) * torch.linspace(0.5, 2.0, 8, dtype=torch.float64)
    x = torch.randn(5, 8, generator=g, dtype=torch.float64)
    return weights, background, x


def test_continuous_lime_on_linear_model_is_weight_times_scale():
    """z = (p − μ)/σ, so f = Σ wⱼ(σⱼ zⱼ + μⱼ) and the ridge coefficient is wⱼσⱼ (shrunk by λ = 1 over Σπ ≈ K·E[π])."""
    weights, background, x = _linear_setup()
    task = linear_task(weights, x, background=background, baseline=background.mean(0))
    phi = get_method("lime", discretizer="none", n_samples=4000).explain(task, x, seed=0)
    expected = (weights * background.std(0, unbiased=False)).expand_as(phi)
    torch.testing.assert_close(phi, expected, rtol=0.02, atol=0.02)


def test_quartile_lime_on_linear_model_matches_bin_means():
    """Features are sampled independently and lime's kernel factorises over features (π = Πⱼ e^{−(1−zⱼ)/2w²}),
    so the weighted regression of a linear f on z has expectation
    βⱼ = wⱼ (E[v | x's bin] − frequency-weighted E[v | other bin]), E under the truncated normals."""
    weights, background, x = _linear_setup()
    task = linear_task(weights, x, background=background, baseline=background.mean(0))
    phi = get_method("lime", n_samples=5000).explain(task, x, seed=0)
    bins = QuantileBins.fit(background, DISCRETIZERS["quartile"])
    mean = truncated_normal_mean(bins)  # (d, bins)
    own = torch.nn.functional.one_hot(bins.digitize(x), 4).double()  # (N, d, bins)
    others = bins.freq * (1 - own)
    expected = weights * ((own * mean).sum(-1) - (others * mean).sum(-1) / others.sum(-1))
    clear = expected.abs() > 0.3  # Monte Carlo error is about 0.1 at 5,000 samples
    assert (torch.sign(phi) == torch.sign(expected))[clear].all()
    assert pearson(phi, expected).min() > 0.99
    assert (phi - expected).abs().max() < 0.1 * expected.abs().max()


def test_segments_lime_on_linear_model_recovers_group_effects():
    """With groups switched to the baseline, f is exactly linear in z: βᵍ = Σ_{j∈g} wⱼ(xⱼ − bⱼ), spread evenly."""
    weights, background, x = _linear_setup()
    task = linear_task(weights, x, background=background, baseline=background.mean(0), groups=GROUPS)
    phi = get_method("lime", n_samples=2000).explain(task, x, seed=0)
    expected = task.players.spread(task.players.total(task.ground_truth(x)))
    torch.testing.assert_close(phi, expected, rtol=0.01, atol=0.01)


# -- agreement with the lime package ---------------------------------------------------------------
@pytest.mark.reference
def test_agrees_with_lime_tabular_on_breast_cancer_mlp():
    task = breast_cancer_task(n_instances=6)
    ours = get_method("lime", n_samples=5000).explain(task, task.inputs, seed=0)
    theirs = get_method("lime_ref", n_samples=5000).explain(task, task.inputs, seed=0)
    agreement = pearson(ours.double(), theirs.double())
    assert agreement.mean() >= 0.95, agreement


@pytest.mark.reference
def test_agrees_with_lime_image_on_patches():
    task = image_task()
    ours = get_method("lime", n_samples=2000).explain(task, task.inputs, seed=0)
    theirs = get_method("lime_ref", n_samples=2000).explain(task, task.inputs, seed=1)
    agreement = pearson(ours.reshape(4, -1).double(), theirs.reshape(4, -1).double())
    assert agreement.mean() >= 0.95, agreement


@pytest.mark.reference
def test_agrees_with_lime_continuous_sampling():
    task = mlp_task(10, n_instances=4, hidden=32, n_classes=2)
    params = dict(discretizer="none", n_samples=3000)
    ours = get_method("lime", **params).explain(task, task.inputs, seed=0)
    theirs = get_method("lime_ref", **params).explain(task, task.inputs, seed=0)
    assert pearson(ours.double(), theirs.double()).mean() >= 0.98


# -- options, reproducibility, batch independence ----------------------------------------------------
OPTIONS = [dict(discretizer="none"), dict(discretizer="none", sample_around_instance=True), dict(discretizer="decile"),
           dict(num_features=3), dict(kernel_width=1.0, alpha=0.1)]


@pytest.mark.parametrize("params", OPTIONS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_options_reproducible_and_batch_independent(params):
    task = mlp_task(8, n_instances=4)
    method = get_method("lime", n_samples=300, **params)
    together = method.explain(task, task.inputs, seed=5)
    torch.testing.assert_close(together, method.explain(task, task.inputs, seed=5), rtol=0, atol=0)
    alone = torch.cat([method.explain(task, task.inputs[i : i + 1], seed=5) for i in range(4)])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)
    assert not torch.equal(together, method.explain(task, task.inputs, seed=6))


@pytest.mark.parametrize("grouped", [False, True])
def test_num_features_keeps_exactly_k(grouped):
    task = mlp_task(8, n_instances=5, groups=GROUPS if grouped else None)
    phi = get_method("lime", n_samples=500, num_features=2).explain(task, task.inputs, seed=0)
    players = task.players.total(phi)
    assert ((players != 0).sum(-1) == 2).all()


def test_chunked_evaluation_gives_the_same_answer():
    task = image_task()
    method = get_method("lime", n_samples=200)
    torch.testing.assert_close(method.explain(dataclasses.replace(task, max_batch=7), task.inputs, seed=0),
                               method.explain(task, task.inputs, seed=0))


def test_bad_parameters_and_tasks_raise_typed_errors():
    for bad in (dict(n_samples=1), dict(mode="pixels"), dict(discretizer="entropy"), dict(alpha=0.0),
                dict(kernel_width=-1.0), dict(num_features=0)):
        with pytest.raises(InvalidParameterError):
            get_method("lime", **bad)
    task = mlp_task(8, n_instances=2, groups=GROUPS)
    with pytest.raises(NotApplicableError, match="segments"):
        get_method("lime", mode="tabular").explain(task, task.inputs)
