"""``tree_surrogate``, ``linear_surrogate`` and ``fidelity_complexity_curve``: closed forms on linear tasks,
the complexity knobs, TreeSHAP completeness, batch independence across several output classes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xaibench.errors import InvalidParameterError
from xaibench.method import get_method
from xaibench.methods.surrogate import LinearSurrogate, TreeSurrogate, distillation_targets, fidelity_complexity_curve
from xaibench.testing import linear_task, mlp_task

WEIGHTS = torch.tensor([3.0, -2.0, 1.0, 0.5, 0.0, 0.0, -1.0, 0.2], dtype=torch.float64)


@pytest.fixture(scope="module")
def task():
    g = torch.Generator().manual_seed(0)
    background = torch.randn(50, 8, generator=g, dtype=torch.float64)
    x = torch.randn(6, 8, generator=g, dtype=torch.float64)
    return linear_task(WEIGHTS, x, background=background, baseline=background.mean(0))


def test_linear_surrogate_recovers_a_linear_model(task):
    phi = get_method("linear_surrogate", alpha=1e-6).explain(task, task.inputs, seed=0)
    torch.testing.assert_close(phi, task.ground_truth(task.inputs), rtol=1e-4, atol=1e-4)


def test_lasso_shrinks_and_zeroes(task):
    phi = get_method("linear_surrogate", alpha=0.05).explain(task, task.inputs, seed=0)
    truth = task.ground_truth(task.inputs)
    assert (phi[:, 4:6] == 0).all()  # the irrelevant features are exactly zero
    assert (phi.abs() <= truth.abs() + 1e-9).all()  # the l1 penalty only shrinks


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_support_is_the_k_largest_effects(task, k):
    phi = get_method("linear_surrogate", n_nonzero=k).explain(task, task.inputs, seed=0)
    support = (phi != 0).any(0)
    assert int(support.sum()) == k
    points = distillation_targets(task.bind(task.inputs), 2000, 0).points
    effect = points.std(0) * WEIGHTS.abs()  # standardised effect sizes on the distillation set, all distinct here
    assert set(support.nonzero().flatten().tolist()) == set(effect.topk(k).indices.tolist())


def test_tree_shap_is_complete_against_the_baseline(task):
    method = TreeSurrogate(max_depth=4)
    bound = task.bind(task.inputs)
    (student,) = method.fit_students(task, distillation_targets(bound, method.n_samples, 0)).values()
    phi = method.explain(task, task.inputs, seed=0)
    rows = task.inputs.numpy()
    gap = student.predict(rows) - student.predict(task.baseline.numpy()[None])
    np.testing.assert_allclose(phi.sum(1).numpy(), gap, rtol=1e-5, atol=1e-5)
    assert student.complexity["depth"] <= 4 and student.complexity["leaves"] <= 16


def test_path_dependent_tree_shap_sums_to_prediction_minus_mean(task):
    method = TreeSurrogate(max_depth=3, feature_perturbation="tree_path_dependent")
    targets = distillation_targets(task.bind(task.inputs), method.n_samples, 0)
    (student,) = method.fit_students(task, targets).values()
    phi = method.explain(task, task.inputs, seed=0)
    mean = student.predict(targets.points.numpy()).mean()
    np.testing.assert_allclose(phi.sum(1).numpy(), student.predict(task.inputs.numpy()) - mean, rtol=1e-5, atol=1e-5)


def test_tree_ranks_the_dominant_features_first(task):
    phi = get_method("tree_surrogate", max_depth=8).explain(task, task.inputs, seed=0)
    importance = phi.abs().mean(0)
    assert set(importance.topk(2).indices.tolist()) == {0, 1}


def test_curves_rise_with_complexity(task):
    tree = fidelity_complexity_curve(task, "tree", [1, 3, 8], n_samples=1000)
    linear = fidelity_complexity_curve(task, "linear_surrogate", [1, 3, 8], n_samples=1000)
    assert [r["depth"] for r in tree] == [1, 3, 8] and tree[0]["leaves"] == 2
    assert [r["nonzero"] for r in linear] == [1, 3, 6]  # two weights are zero: the path stops at 6
    for curve in (tree, linear):
        assert curve[0]["r2_train"] < curve[1]["r2_train"] < curve[2]["r2_train"]
        assert curve[0]["r2_heldout"] < curve[2]["r2_heldout"]
        assert curve[0]["n_heldout"] == 6 * 16 and curve[0]["n_train"] == 1000
    assert linear[-1]["r2_heldout"] > 0.999999  # the exact student
    assert tree[-1]["r2_train"] > 0.9


def test_one_student_per_class_and_batch_independent():
    task = mlp_task(8, n_instances=6, n_classes=3)
    assert torch.unique(task.bind(task.inputs).selector).numel() > 1
    for name in ("tree_surrogate", "linear_surrogate"):
        method = get_method(name, n_samples=400)
        together = method.explain(task, task.inputs, seed=2)
        alone = torch.cat([method.explain(task, task.inputs[i : i + 1], seed=2) for i in range(6)])
        torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


def test_bad_parameters_raise_typed_errors(task):
    for name, bad in (("tree_surrogate", dict(max_depth=0)), ("tree_surrogate", dict(feature_perturbation="x")),
                      ("linear_surrogate", dict(alpha=-1.0)), ("linear_surrogate", dict(n_nonzero=0)),
                      ("linear_surrogate", dict(n_samples=1))):
        with pytest.raises(InvalidParameterError):
            get_method(name, **bad)
    with pytest.raises(InvalidParameterError, match="family"):
        fidelity_complexity_curve(task, "forest", [1])
    assert LinearSurrogate().family == TreeSurrogate().family == "surrogate"
