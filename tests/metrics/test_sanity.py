"""Model-parameter randomisation: hand-computed correlations, the input control, the pinned output."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from scipy.stats import spearmanr

from xaibench.metric import get_metric
from xaibench.task import Task
from xaibench.testing import linear_task


def explainer(fn):
    """A test-only method object (the metric only calls ``explain``)."""
    return SimpleNamespace(name="test_explainer", stochastic=False, explain=lambda task, x, seed=0: fn(task, x))


input_control = explainer(lambda task, x: x - task.baseline)
exact = explainer(lambda task, x: task.ground_truth(x))
gradient = explainer(lambda task, x: task.bind(x).value_and_grad(x)[1])

W = torch.tensor([3.0, -2.0, 1.0, 0.5, 0.1, -1.5, 2.5, 0.25], dtype=torch.float64)


def randomization(task, method, **params):
    x = task.inputs
    return get_metric("randomization", **params)(task, x, method.explain(task, x), method, seed=0)


@pytest.fixture(scope="module")
def task():
    return linear_task(W, torch.randn(5, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64))


def test_input_control_is_flagged(task):
    torch.testing.assert_close(randomization(task, input_control), torch.ones(5, dtype=torch.float64))


@pytest.mark.parametrize("absolute", [True, False])
def test_exact_attribution_by_hand(task, absolute):
    """φ = w ⊙ x on the trained model, w' ⊙ x on the randomised one: Spearman of the two (of |·| by default)."""
    x = task.inputs
    before, after = task.ground_truth(x), task.randomized().ground_truth(x)
    if absolute:
        before, after = before.abs(), after.abs()
    expected = [spearmanr(b, a).statistic for b, a in zip(before.numpy(), after.numpy())]
    values = randomization(task, exact, absolute=absolute)
    torch.testing.assert_close(values, torch.tensor(expected, dtype=torch.float64))
    assert values.max() < 0.99


def test_randomised_model_explains_the_output_selected_by_the_trained_one():
    """Logits x @ A (trained) and x @ B (randomised): the gradient on the randomised model is the
    column of B of the class the *trained* model predicts."""
    g = torch.Generator().manual_seed(4)
    a, b = torch.randn(6, 3, generator=g, dtype=torch.float64), torch.randn(6, 3, generator=g, dtype=torch.float64)
    x = torch.randn(5, 6, generator=g, dtype=torch.float64)

    def classifier(weights, randomized=None):
        return Task(dataset="toy", model="linear", target="logit", f=lambda z, s: (z @ weights).gather(1, s[:, None])[:, 0],
                    inputs=x, background=x, baseline=torch.zeros(6, dtype=torch.float64), kind="tabular",
                    select=lambda z: (z @ weights).argmax(1), label_fn=lambda z: (z @ weights).argmax(1),
                    randomized=randomized)

    trained = classifier(a, randomized=lambda: classifier(b))
    chosen = (x @ a).argmax(1)
    assert not torch.equal(chosen, (x @ b).argmax(1))  # the pin matters for some instance
    expected = [spearmanr(a[:, c].abs(), b[:, c].abs()).statistic for c in chosen.tolist()]
    torch.testing.assert_close(randomization(trained, gradient), torch.tensor(expected, dtype=torch.float64))
