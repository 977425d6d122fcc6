"""Batched statistics over the last dimension, on the tensors' device (no NumPy round trips).

Every function treats the last dimension as the sample and the leading dimensions as a batch,
so ``pearson(a, b)`` for ``a, b`` of shape ``(N, d)`` gives ``(N,)`` correlations.
Degenerate inputs (a constant row) give 0 correlation rather than NaN, and say so here:
a constant attribution carries no ranking information, which is the same as no agreement.
"""

from __future__ import annotations

import torch
from torch import Tensor


def rankdata(x: Tensor) -> Tensor:
    """Ranks 1..d along the last dimension, ties given their average rank (as scipy's default)."""
    d = x.shape[-1]
    order = x.argsort(dim=-1, stable=True)
    sorted_x = x.gather(-1, order)
    ordinal = torch.arange(1, d + 1, device=x.device, dtype=torch.float64).expand_as(sorted_x)
    # average over runs of equal values: a run starts where the value changes
    new_run = torch.ones_like(sorted_x, dtype=torch.bool)
    new_run[..., 1:] = sorted_x[..., 1:] != sorted_x[..., :-1]
    run_id = new_run.long().cumsum(-1) - 1
    run_sum = torch.zeros_like(ordinal).scatter_add_(-1, run_id, ordinal)
    run_len = torch.zeros_like(ordinal).scatter_add_(-1, run_id, torch.ones_like(ordinal))
    averaged = (run_sum / run_len.clamp(min=1)).gather(-1, run_id)
    ranks = torch.empty_like(averaged).scatter_(-1, order, averaged)
    return ranks.to(x.dtype if x.is_floating_point() else torch.float64)


def pearson(a: Tensor, b: Tensor, eps: float = 0.0) -> Tensor:
    """Pearson correlation along the last dimension; 0 where either side is constant."""
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    denom = (a.square().sum(-1) * b.square().sum(-1)).sqrt()
    num = (a * b).sum(-1)
    return torch.where(denom > eps, num / denom.clamp(min=torch.finfo(denom.dtype).tiny), torch.zeros_like(num))


def spearman(a: Tensor, b: Tensor) -> Tensor:
    """Spearman rank correlation along the last dimension (average ranks for ties)."""
    return pearson(rankdata(a), rankdata(b))


def r_squared(target: Tensor, prediction: Tensor) -> Tensor:
    """Coefficient of determination 1 − SS_res / SS_tot along the last dimension.

    A constant target gives 1 if predicted exactly, else 0 (instead of −∞/NaN).
    """
    ss_res = (target - prediction).square().sum(-1)
    ss_tot = (target - target.mean(-1, keepdim=True)).square().sum(-1)
    safe = ss_tot > 0
    r2 = 1 - ss_res / ss_tot.clamp(min=torch.finfo(ss_tot.dtype).tiny)
    return torch.where(safe, r2, (ss_res <= 0).to(r2.dtype))


def topk_mask(scores: Tensor, k: int) -> Tensor:
    """Boolean mask of the ``k`` largest entries along the last dimension (ties by position)."""
    idx = scores.topk(k, dim=-1, sorted=False).indices
    return torch.zeros_like(scores, dtype=torch.bool).scatter_(-1, idx, True)


def jaccard(a: Tensor, b: Tensor) -> Tensor:
    """Jaccard index of boolean masks along the last dimension (1 when both are empty)."""
    inter = (a & b).sum(-1).to(torch.float64)
    union = (a | b).sum(-1).to(torch.float64)
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter))


def trapezoid(y: Tensor, dx: float | None = None) -> Tensor:
    """Trapezoid area under ``y`` sampled at equal steps on [0, 1] along the last dimension."""
    steps = y.shape[-1] - 1
    dx = 1.0 / steps if dx is None else dx
    return dx * (y[..., 1:] + y[..., :-1]).sum(-1) / 2
