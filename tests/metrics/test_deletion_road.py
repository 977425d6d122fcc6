"""ROAD's noisy linear imputation: our batched solver against ROAD's sparse system, and hand cases.

The reference below transcribes ``NoisyLinearImputer.setup_sparse_system`` and ``__call__`` of
github.com/tleemann/road_evaluation, ``road/imputations.py`` (Rong et al. 2022), with the noise
left out: a removed pixel is the weighted mean of its in-image 8-neighbours (1/6 direct,
1/12 diagonal), solved with ``scipy.sparse.linalg.spsolve``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xaibench.metrics import _road
from xaibench.metrics._removal import Removal
from xaibench.metrics._road import noisy_linear_impute
from xaibench.testing import task_from_function

NEIGHBOURS = [((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12),
              ((0, -1), 1 / 6), ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6)]


def road_reference(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """ROAD's imputation of ``img`` (C, H, W) where ``mask`` (H, W) is 0, without noise."""
    from scipy.sparse import csc_matrix, lil_matrix
    from scipy.sparse.linalg import spsolve

    height, width = mask.shape
    flat_mask, flat_img = mask.flatten(), img.reshape(img.shape[0], -1)
    indices = np.argwhere(flat_mask == 0).flatten()
    to_variable = np.zeros(len(flat_mask), dtype=int)
    to_variable[indices] = np.arange(len(indices))
    n = len(indices)
    a, b, weight_sum = lil_matrix((n, n)), np.zeros((n, img.shape[0])), np.ones(n)
    for (d0, d1), weight in NEIGHBOURS:
        c0, c1 = indices // width + d0, indices % width + d1
        valid = ~((c0 < 0) | (c1 < 0) | (c0 >= height) | (c1 >= width))
        coords, ids = (indices + d0 * width + d1)[valid], np.argwhere(valid).flatten()
        known = flat_mask[coords] > 0.5
        b[ids[known], :] -= weight * flat_img[:, coords[known]].T
        a[ids[~known], to_variable[coords[~known]]] = weight
        weight_sum[np.argwhere(~valid).flatten()] -= weight
    a[np.arange(n), np.arange(n)] = -weight_sum
    out = flat_img.copy()
    out[:, indices] = spsolve(csc_matrix(a), b).reshape(n, -1).T
    return out.reshape(img.shape)


@pytest.mark.reference
@pytest.mark.parametrize("side,removed", [(7, 0.3), (16, 0.7), (16, 0.97)])
def test_matches_road_sparse_solve(side, removed):
    rng = np.random.default_rng(side)
    img = rng.random((2, side, side))
    mask = (rng.random((side, side)) > removed).astype(float)
    mask[0, 0] = 1.0  # at least one kept pixel: ROAD's system is singular otherwise
    ours = noisy_linear_impute(torch.tensor(img)[None], torch.tensor(mask).expand(1, 2, side, side), torch.zeros(1))
    np.testing.assert_allclose(ours[0].numpy(), road_reference(img, mask), rtol=1e-5, atol=1e-7)


def test_hand_cases():
    img = torch.zeros(1, 1, 3, 3)
    img[0, 0, 0, 1] = 6.0  # the centre's direct neighbour above
    keep = torch.ones_like(img)
    keep[0, 0, 1, 1] = 0.0
    out = noisy_linear_impute(img, keep, torch.zeros(1))
    assert out[0, 0, 1, 1].item() == pytest.approx(1.0)  # (1/6 · 6) / (4/6 + 4/12)
    torch.testing.assert_close(out * keep, img * keep)  # kept pixels untouched
    nothing = noisy_linear_impute(torch.rand(2, 1, 5, 5), torch.zeros(2, 1, 5, 5), torch.full((1, 1, 5, 5), 0.25))
    torch.testing.assert_close(nothing, torch.full((2, 1, 5, 5), 0.25))  # no kept pixel: the fallback


def test_noise_is_shared_and_seeded():
    task = task_from_function(lambda x: x.sum((1, 2, 3)), torch.rand(3, 1, 6, 6), kind="image")
    keep = (torch.rand(4, 1, 6, 6, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    a = Removal(task, "noisy_linear", road_noise=0.01, seed=5)(task.inputs, keep)
    b = Removal(task, "noisy_linear", road_noise=0.01, seed=5)(task.inputs[1:2], keep)
    clean = Removal(task, "noisy_linear", road_noise=0.0, seed=5)(task.inputs, keep)
    torch.testing.assert_close(a[1:2], b)
    noise = (a - clean) / 0.01
    torch.testing.assert_close(noise[0], noise[2])  # the same draw for every instance
    assert (noise * keep).abs().max() == 0 and 0.5 < noise[0][keep == 0].std() < 1.5


def test_each_system_stops_on_its_own(monkeypatch):
    """A converged system's updates are masked, so its imputation depends neither on its batch mates nor on
    how often the host checks (every iteration on the CPU; 0, 8, 16, 24, 36, … on an accelerator)."""
    rng = np.random.default_rng(0)
    img = torch.tensor(rng.random((3, 1, 16, 16)))
    keep = torch.tensor(rng.random((3, 1, 16, 16)) > np.array([0.1, 0.5, 0.95])[:, None, None, None]).double()
    keep[:, :, 0, 0] = 1.0
    fallback = torch.zeros(1)
    every = noisy_linear_impute(img, keep, fallback)
    alone = torch.cat([noisy_linear_impute(img[i : i + 1], keep[i : i + 1], fallback) for i in range(3)])
    torch.testing.assert_close(every, alone, rtol=1e-12, atol=1e-12)
    looks = []
    monkeypatch.setattr(_road, "next_look", lambda it, device: looks.append(it) or it + max(8, it // 2))
    sparse = noisy_linear_impute(img, keep, fallback)
    assert looks[:5] == [0, 8, 16, 24, 36]
    assert torch.equal(sparse, every)  # bit for bit: stopping later changes nothing
