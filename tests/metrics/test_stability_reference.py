"""Agreement of the stability metrics with captum and Quantus on identical inputs, attributions and noise.

The references draw their own noise; each is given ours (a perturbation function returning the
input plus our shared draws), so the two sides score the very same neighbours. Both explain the
class predicted at the unperturbed instance with plain input gradients. Relative difference ≤ 1e-4.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pytest
import torch
from torch import nn

from xaibench.method import Method
from xaibench.metric import get_metric
from xaibench.task import Task

pytestmark = pytest.mark.reference
quantus = pytest.importorskip("quantus")
captum_metrics = pytest.importorskip("captum.metrics")

SEED = 3
N_FEATURES, N_INSTANCES = 6, 8


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(N_FEATURES, 16), nn.Tanh(), nn.Linear(16, 3)).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


@pytest.fixture(scope="module")
def task(model):
    g = torch.Generator().manual_seed(1)
    inputs = torch.randn(N_INSTANCES, N_FEATURES, generator=g, dtype=torch.float32) + 0.5
    return Task(
        dataset="toy", model="mlp", target="logit", f=lambda x, s: model(x).gather(1, s[:, None]).squeeze(1),
        inputs=inputs, background=inputs, baseline=torch.zeros(N_FEATURES, dtype=torch.float32), kind="tabular",
        select=lambda x: model(x).argmax(1), label_fn=lambda x: model(x).argmax(1),
    )


@dataclasses.dataclass(frozen=True)
class Gradient(Method):
    """∂f/∂x of the selected logit (saliency without absolute value)."""

    name: ClassVar[str] = "test_gradient"
    family: ClassVar[str] = "gradient"

    def explain(self, task, x, *, seed=0):
        return task.bind(x).value_and_grad(x)[1]


def reference_gradient(model, inputs, targets, **_):
    """The same explanation for the references (numpy or torch in, numpy out)."""
    x = torch.as_tensor(np.asarray(inputs), dtype=torch.float32).requires_grad_(True)
    with torch.enable_grad():  # captum calls explanation functions under no_grad
        out = model(x).gather(1, torch.as_tensor(np.asarray(targets)).long()[:, None]).sum()
        return torch.autograd.grad(out, x)[0].numpy()


def our_noise(metric, x):
    return metric.neighbourhood_noise(x, SEED)


def quantus_perturbation(noise: np.ndarray):
    """A Quantus ``perturb_func`` adding our k-th draw at its k-th call (one batch of instances)."""
    calls = iter(range(len(noise)))

    def perturb(arr, indices, **_):
        return arr + noise[next(calls)].reshape(1, -1)

    return perturb


def ours(name, task, **params):
    metric = get_metric(name, **params)
    x = task.inputs
    return metric, metric.evaluate(task, x, Gradient().explain(task, x), Gradient(), seed=SEED)


def run_quantus(cls, model, task, noise, **params):
    x = task.inputs.numpy()
    y = task.label_fn(task.inputs).numpy()
    metric = cls(perturb_func=quantus_perturbation(noise.numpy()), nr_samples=len(noise), abs=False,
                 normalise=False, disable_warnings=True, **params)
    a = reference_gradient(model, x, y)
    return np.asarray(metric(model=model, x_batch=x, y_batch=y, a_batch=a, explain_func=reference_gradient,
                             device="cpu", batch_size=len(x)))


def assert_relative(ours_values, reference, tol=1e-4):
    ours_values = ours_values.numpy()
    assert np.all(np.isfinite(reference)), reference
    np.testing.assert_allclose(ours_values, reference, rtol=tol, atol=0)


def test_max_sensitivity_matches_captum(model, task):
    metric, out = ours("max_sensitivity", task, n_samples=12)
    noise = our_noise(metric, task.inputs)
    y = task.label_fn(task.inputs)

    def explain(inputs, target):  # captum passes the inputs as a 1-tuple, the perturbed ones as a tensor
        inputs = inputs[0] if isinstance(inputs, tuple) else inputs
        return (torch.as_tensor(reference_gradient(model, inputs, target)),)

    reference = captum_metrics.sensitivity_max(
        explain, (task.inputs,), perturb_func=lambda inputs: inputs + noise.repeat(N_INSTANCES, 1),  # one expanded tensor
        n_perturb_samples=len(noise), target=y,
    )
    assert_relative(out.values, reference.numpy())


def test_max_sensitivity_matches_quantus(model, task):
    metric, out = ours("max_sensitivity", task, n_samples=12, scale=0.2)
    reference = run_quantus(quantus.MaxSensitivity, model, task, our_noise(metric, task.inputs))
    assert_relative(out.values, reference)


def test_local_lipschitz_matches_quantus(model, task):
    metric, out = ours("local_lipschitz", task, n_samples=12)
    reference = run_quantus(quantus.LocalLipschitzEstimate, model, task, our_noise(metric, task.inputs))
    assert_relative(out.values, reference)


def test_relative_input_stability_matches_quantus(model, task):
    """Equal where every neighbour keeps the label; Quantus gives NaN where any flips (we take the max over the kept)."""
    metric, out = ours("ris", task, n_samples=12)
    noise = our_noise(metric, task.inputs)
    labels = task.label_fn(task.inputs)
    neighbours = (task.inputs[:, None] + noise).reshape(-1, N_FEATURES)
    all_kept = (task.label_fn(neighbours).reshape(N_INSTANCES, -1) == labels[:, None]).all(1).numpy()
    assert 0 < all_kept.sum() < len(all_kept), "the fixture should have instances of both kinds"
    reference = run_quantus(quantus.RelativeInputStability, model, task, noise)
    assert np.isnan(reference[~all_kept]).all()
    assert_relative(out.values[all_kept], reference[all_kept])
