"""Distillation fidelity: hand-computable surrogate fits and students (the metrics score given
attributions and never call the method, so none is passed)."""

from __future__ import annotations

import pytest
import torch

from xaibench.metric import get_metric
from xaibench.testing import linear_task, mlp_task, task_from_function

W = torch.tensor([3.0, -2.0, 1.0, 0.5, 0.0, -1.5, 2.5, 0.25])


def local_fidelity(task, phi, x=None, **params):
    x = task.inputs if x is None else x
    return get_metric("local_fidelity", **params)(task, x, phi, None, seed=1)


@pytest.fixture(scope="module")
def task():
    g = torch.Generator().manual_seed(0)
    return linear_task(W, torch.randn(6, 8, generator=g), baseline=torch.randn(8, generator=g))


def test_exact_attributions_of_a_linear_model_fit_perfectly(task):
    truth = task.ground_truth(task.inputs)
    torch.testing.assert_close(local_fidelity(task, truth), torch.ones(6))
    torch.testing.assert_close(local_fidelity(task, -5 * truth), torch.ones(6))  # scale-free (β fitted)


def test_groups_are_switched_together():
    groups = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    g = torch.Generator().manual_seed(1)
    t = linear_task(W, torch.randn(4, 8, generator=g), groups=groups)
    torch.testing.assert_close(local_fidelity(t, t.ground_truth(t.inputs)), torch.ones(4))


def test_interaction_caps_the_linear_surrogate():
    """f = x₀x₁ (b = 0), φ = Shapley (f/2, f/2): y = f·m₀m₁ regressed on m₀ + m₁ has population R² = 2/3."""
    x = torch.tensor([[1.5, 2.0], [-1.0, 3.0]])
    t = task_from_function(lambda z: z[:, 0] * z[:, 1], x)
    phi = (x[:, :1] * x[:, 1:] / 2).expand(-1, 2)
    values = local_fidelity(t, phi, n_coalitions=4096)
    torch.testing.assert_close(values, torch.full((2,), 2 / 3), atol=0.04, rtol=0)


def test_uninformative_attributions_do_not_fit(task):
    assert (local_fidelity(task, torch.zeros(6, 8)) <= 0.05).all()  # β = 0: the held-out mean of the training half
    wrong = task.ground_truth(task.inputs).roll(3, dims=1)
    assert (local_fidelity(task, wrong) < 0.5).all()


def test_local_fidelity_does_not_depend_on_batch_mates():
    t = mlp_task(n_instances=7, dtype=torch.float64)
    phi = t.bind(t.inputs).value_and_grad(t.inputs)[1]
    torch.testing.assert_close(local_fidelity(t, phi)[2:5], local_fidelity(t, phi[2:5], x=t.inputs[2:5]))


@pytest.fixture(scope="module")
def sparse_task():
    """f uses features 0 and 1 of 10 (a non-linear function of them)."""
    g = torch.Generator().manual_seed(3)
    fn = lambda z: torch.tanh(2 * z[:, 0]) + z[:, 1] ** 2  # noqa: E731
    used = torch.tensor([1.0, 1.0] + [0.0] * 8)
    return task_from_function(fn, torch.randn(60, 10, generator=g), background=torch.randn(240, 10, generator=g),
                              ground_truth=lambda z: z * used)


def distill(task, phi, **params):
    metric = get_metric("global_distillation", **params)
    return metric, metric(task, task.inputs, phi, None, seed=0)


def test_global_distillation_rewards_the_features_f_uses(sparse_task):
    right = sparse_task.ground_truth(sparse_task.inputs)  # weight on features 0, 1 only
    wrong = right.roll(5, dims=1)  # the same weights on features 5, 6
    metric, good = distill(sparse_task, right, k=2)
    _, bad = distill(sparse_task, wrong, k=2)
    assert good.mean() > 0.6 and bad.mean() < 0.1, (good.mean(), bad.mean())
    assert metric.label == "global_distillation@2" and not metric.per_instance
    assert good.shape == (300 - round(0.7 * 300),)  # one term per held-out sample


def test_global_distillation_terms_average_to_r_squared(sparse_task, monkeypatch):
    """The mean of the per-point terms 1 − (y − ŷ)²/Var(y) is sklearn's held-out R²."""
    import sklearn.ensemble
    from sklearn.metrics import r2_score

    seen = {}

    class Recording(sklearn.ensemble.HistGradientBoostingRegressor):
        def predict(self, inputs):
            seen["inputs"], seen["predicted"] = inputs, super().predict(inputs)
            return seen["predicted"]

    monkeypatch.setattr(sklearn.ensemble, "HistGradientBoostingRegressor", Recording)
    _, terms = distill(sparse_task, sparse_task.ground_truth(sparse_task.inputs), k=2)
    held = torch.as_tensor(seen["inputs"])  # the student sees features 0 and 1, all that f uses
    target = torch.tanh(2 * held[:, 0]) + held[:, 1] ** 2
    assert terms.mean().item() == pytest.approx(r2_score(target.numpy(), seen["predicted"]), rel=1e-5)


def test_local_fidelity_blocks_instances_to_bound_memory(task):
    """With max_batch smaller than N·n the instances are evaluated in blocks: same values."""
    import dataclasses

    phi = task.ground_truth(task.inputs).roll(1, dims=1)
    small = dataclasses.replace(task, max_batch=300)  # 256 coalitions: one instance per block
    torch.testing.assert_close(local_fidelity(small, phi), local_fidelity(task, phi))
