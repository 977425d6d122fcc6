"""``pgi`` / ``pgu``: closed forms on linear models and OpenXAI's formulas, transcribed.

OpenXAI is not on the package index. The reference below transcribes, with its noise replaced
by ours (continuous features only), AI4LIFE-GROUP/OpenXAI at commit
56f05c480d1c3777bfc1953b2ecf34400627a8bf: ``openxai/metrics.py`` (``eval_pred_faithfulness``
with ``AUC=True``, ``_single_idx_pred_faith``), ``generate_mask`` from
``openxai/experiment_utils.py`` (the version that marks the top-k by |φ| False, i.e. perturbed)
and ``NormalPerturbation.get_perturbed_inputs`` from
``openxai/explainers/catalog/perturbation_methods.py`` (mask True = feature kept static).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import auc

from xaibench.errors import InvalidParameterError
from xaibench.metric import get_metric
from xaibench.metrics.pgi import k_grid
from xaibench.testing import linear_task, task_from_function


def openxai_generate_mask(explanation, top_k):
    mask_indices = torch.topk(explanation.abs(), top_k).indices
    mask = torch.ones(explanation.shape, dtype=bool)
    for i in mask_indices:
        mask[i] = False
    return mask


def openxai_generate_mask_early(explanation, top_k):
    """``generate_mask`` at commit 0afe4af97fcc52edc636655df5832db1f0d709f8: True (static) on the top-k by signed φ."""
    mask_indices = torch.topk(explanation, top_k).indices
    mask = torch.zeros(explanation.shape) > 10
    for i in mask_indices:
        mask[i] = True
    return mask


def openxai_normal_perturbation(original_sample, feature_mask, noise):
    perturbations = noise + original_sample  # torch.normal(mean, std_dev, [num_samples, d]) * continuous + x
    return original_sample * feature_mask + perturbations * (~feature_mask)


def openxai_single_idx_pred_faith(input, explanation, k, invert, model, noise, generate_mask=openxai_generate_mask):
    top_k_mask = generate_mask(explanation, k)
    top_k_mask = torch.logical_not(top_k_mask) if invert else top_k_mask
    x_perturbed = openxai_normal_perturbation(input, top_k_mask, noise)
    y = model(input.reshape(1, -1).float()).detach().numpy()
    y_perturbed = model(x_perturbed.float()).detach().numpy()
    return np.mean(np.abs(y_perturbed - y)[:, 0])


def openxai_eval_pred_faithfulness(explanations, inputs, model, max_k, invert, noise, generate_mask=openxai_generate_mask):
    per_k = np.array([[openxai_single_idx_pred_faith(x, e, k, invert, model, noise, generate_mask)
                       for x, e in zip(inputs, explanations)]
                      for k in range(1, max_k + 1)])
    return np.array([auc(np.arange(max_k) / (max_k - 1), per_k[:, i]) for i in range(len(inputs))])


@pytest.fixture(scope="module")
def mlp():
    g = torch.Generator().manual_seed(0)
    w1, w2 = torch.randn(8, 16, generator=g), torch.randn(16, 2, generator=g)

    def model(x):  # OpenXAI scores column 0 of the model output
        return torch.softmax(torch.tanh(x @ w1) @ w2, dim=1)

    return model, task_from_function(lambda x: model(x)[:, 0], torch.randn(5, 8, generator=g))


@pytest.mark.reference
@pytest.mark.parametrize("name,invert", [("pgi", False), ("pgu", True)])
def test_matches_openxai_transcription(mlp, name, invert):
    model, task = mlp
    x = task.inputs
    phi = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    metric = get_metric(name, k_fraction=0.5)  # K = 4 top-k sizes, all evaluated
    noise = metric.noise(task, seed=0)
    theirs = openxai_eval_pred_faithfulness(phi, x, model, 4, invert, noise)
    np.testing.assert_allclose(metric(task, x, phi, None, seed=0).numpy(), theirs, rtol=1e-4, atol=1e-7)


def test_closed_form_on_a_linear_model():
    w = torch.tensor([0.0, 0.0, 3.0, 0.0, -1.0, 0.0], dtype=torch.float64)
    task = linear_task(w, torch.randn(3, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64) + 2)
    x = task.inputs
    exact = task.ground_truth(x)  # |φ| ranks feature 2 or 4 first, then the other, then zeros
    pgi, pgu = get_metric("pgi", k_fraction=1.0), get_metric("pgu", k_fraction=1.0)
    eps = pgi.noise(task, seed=0)  # (100, 6)
    order = (-exact.abs()).argsort(dim=1, stable=True)
    expected = []
    for n in range(3):
        gaps = [(eps[:, order[n, :k]] @ w[order[n, :k]]).abs().mean() for k in range(1, 7)]
        expected.append(torch.trapezoid(torch.stack(gaps), torch.linspace(0, 1, 6, dtype=torch.float64)))
    torch.testing.assert_close(pgi(task, x, exact, None, seed=0), torch.stack(expected))
    # only two features carry weight: the complement of the top k is inert for k >= 2, and for k = 1 it holds
    # the second one; the area over k = 1..6 (steps of 1/5) is then 0.2 · PGU_1 / 2
    second = order[:, 1]
    pgu_1 = torch.stack([(eps[:, second[n]] * w[second[n]]).abs().mean() for n in range(3)])
    torch.testing.assert_close(pgu(task, x, exact, None, seed=0), 0.1 * pgu_1)


def test_pgu_is_zero_when_the_complement_has_no_weight():
    w = torch.tensor([0.0, 0.0, 3.0, 0.0], dtype=torch.float64)
    task = linear_task(w, torch.ones(2, 4, dtype=torch.float64))
    exact = task.ground_truth(task.inputs)
    assert torch.equal(get_metric("pgu")(task, task.inputs, exact, None), torch.zeros(2, dtype=torch.float64))
    assert (get_metric("pgi")(task, task.inputs, exact, None) > 0).all()



@pytest.mark.reference
def test_early_openxai_masks_were_swapped(mlp):
    model, task = mlp
    x = task.inputs
    phi = torch.rand(x.shape, generator=torch.Generator().manual_seed(4))  # φ >= 0: signed and |φ| top-k agree
    metric = get_metric("pgu", k_fraction=0.5)
    noise = metric.noise(task, seed=0)
    early_pgi = openxai_eval_pred_faithfulness(phi, x, model, 4, False, noise, openxai_generate_mask_early)
    np.testing.assert_allclose(metric(task, x, phi, None, seed=0).numpy(), early_pgi, rtol=1e-4, atol=1e-7)


def test_k_grid():
    torch.testing.assert_close(k_grid(10, 0.4, 20), torch.arange(1, 5))
    assert k_grid(784, 0.25, 20).tolist() == [round(1 + i * 195 / 19) for i in range(20)]
    assert k_grid(3, 0.1, 20).tolist() == [1]
    with pytest.raises(InvalidParameterError):
        get_metric("pgi", k_fraction=0.0)


def test_values_do_not_depend_on_batch_mates(mlp):
    _, task = mlp
    x = task.inputs
    phi = x.flip(0)
    metric = get_metric("pgi", n_samples=20)
    whole = metric(task, x, phi, None, seed=3)
    torch.testing.assert_close(metric(task, x[1:3], phi[1:3], None, seed=3), whole[1:3])
