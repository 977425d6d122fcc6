"""Batched statistics over the last dimension, on the tensors' device (no NumPy round trips).

Every function treats the last dimension as the sample and the leading dimensions as a batch,
so ``pearson(a, b)`` for ``a, b`` of shape ``(N, d)`` gives ``(N,)`` correlations.
Degenerate inputs (a constant row) give 0 correlation rather than NaN, and say so here:
a constant attribution carries no ranking information, which is the same as no agreement.
"Constant" and "tied" follow the one tolerance rule of :mod:`xaibench.tolerance` (relative to the
row's own scale), never an absolute cut-off.

Ties never favour a position. :func:`rankdata` gives tied entries their average rank (the
expectation of their rank over the orders of the tie); :func:`tiebreak_ranks` and
:func:`topk_mask` break ties by caller-supplied random priorities (draw them from
:mod:`xaibench.rng` with the caller's seed), never by index.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .tolerance import is_constant, snap


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


def pearson(a: Tensor, b: Tensor, *, scale_a: Tensor | None = None, scale_b: Tensor | None = None,
            dtype: torch.dtype | None = None) -> Tensor:
    """Pearson correlation along the last dimension; 0 where either side is constant.

    "Constant" is :func:`xaibench.tolerance.is_constant`: a side whose spread is rounding-level
    next to ``scale_a`` / ``scale_b`` (default: its own largest magnitude; pass the magnitude of
    the numbers it was computed from, such as ``|f|`` for differences of outputs). ``dtype`` is
    the dtype the sides were computed in, if they have since been promoted.
    """
    constant = is_constant(a, scale_a, dtype) | is_constant(b, scale_b, dtype)
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    denom = (a.square().sum(-1) * b.square().sum(-1)).sqrt()
    num = (a * b).sum(-1)
    rho = num / denom.clamp(min=torch.finfo(denom.dtype).tiny)
    return torch.where(constant | (denom == 0), torch.zeros_like(num), rho.clamp(-1.0, 1.0))


def spearman(a: Tensor, b: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """Spearman rank correlation along the last dimension, average ranks for ties.

    Both sides are first :func:`~xaibench.tolerance.snap`-ped (``dtype``: the dtype they were
    computed in, default their own), so rounding noise ties as it should instead of being ranked.
    """
    return pearson(rankdata(snap(a, dtype)), rankdata(snap(b, dtype)))


def r_squared(target: Tensor, prediction: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """Coefficient of determination 1 − SS_res / SS_tot along the last dimension.

    A constant target (:func:`xaibench.tolerance.is_constant`, relative to its magnitude) gives
    1 if predicted to rounding, else 0 (instead of −∞/NaN or a ratio of rounding errors).
    """
    ss_res = (target - prediction).square().sum(-1)
    ss_tot = (target - target.mean(-1, keepdim=True)).square().sum(-1)
    constant = is_constant(target, dtype=dtype) | (ss_tot == 0)
    r2 = 1 - ss_res / ss_tot.clamp(min=torch.finfo(ss_tot.dtype).tiny)
    hit = is_constant(torch.cat([target, prediction], -1), dtype=dtype)  # the constant, predicted to rounding
    return torch.where(constant, hit.to(r2.dtype), r2)


def tie_blocks(scores: Tensor, descending: bool = True) -> tuple[Tensor, Tensor]:
    """``(lo, hi)`` long, each shaped like ``scores``: the positions ``[lo, hi)`` (0 = first) that an
    entry's group of exactly equal entries spans when the last dimension is sorted.

    ``lo`` counts the entries strictly ahead, ``hi − lo`` the entries tied with it (itself included).
    Snap the scores (:func:`xaibench.tolerance.snap`) first to tie rounding noise.
    """
    key = -scores if descending else scores
    ordered, order = key.sort(-1)
    new_run = torch.ones_like(ordered, dtype=torch.bool)
    new_run[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    run = new_run.long().cumsum(-1) - 1
    count = torch.zeros_like(run).scatter_add_(-1, run, torch.ones_like(run))
    start = (count.cumsum(-1) - count).gather(-1, run)  # runs are contiguous in sorted order
    lo = torch.empty_like(run).scatter_(-1, order, start)
    hi = torch.empty_like(run).scatter_(-1, order, start + count.gather(-1, run))
    return lo, hi


def tiebreak_ranks(scores: Tensor, priority: Tensor, descending: bool = True) -> Tensor:
    """``(…, d)`` long position of each entry (0 = first) in sorted order, ties broken by ``priority``.

    ``priority`` ``(…, d)`` in [0, 1), typically seeded uniform draws
    (:func:`xaibench.rng.instance_uniform`): within a tie the higher priority comes first when
    ``descending``. The ascending order is the exact reverse of the descending one (ties included).
    Snap the scores first (:func:`xaibench.tolerance.snap`) so that rounding noise ties.
    """
    lo, _ = tie_blocks(scores, descending=True)
    key = lo.to(torch.float64) + (1.0 - priority.to(torch.float64))
    order = key.argsort(-1)
    d = scores.shape[-1]
    ranks = torch.empty_like(order).scatter_(-1, order, torch.arange(d, device=order.device).expand_as(order))
    return ranks if descending else d - 1 - ranks


def topk_mask(scores: Tensor, k: int, priority: Tensor) -> Tensor:
    """Boolean mask of the ``k`` largest entries along the last dimension, ties broken by ``priority``
    (see :func:`tiebreak_ranks`); never by position."""
    return tiebreak_ranks(scores, priority) < k


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
