"""Exact baseline Shapley values by enumerating every coalition (test reference, d ≤ 14)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def coalition_weights(d: int, dtype=torch.float64) -> tuple[Tensor, Tensor]:
    """``(masks (2^d, d), M (2^d, d))`` with ``φ = v @ M`` for ``v`` the values of all coalitions.

    ``M[S, i] = (|S|-1)!(d-|S|)!/d!`` when ``i ∈ S`` and ``-|S|!(d-|S|-1)!/d!`` when ``i ∉ S``:
    the Shapley formula ``φ_i = Σ_{S ∌ i} w(|S|) (v(S ∪ {i}) - v(S))`` regrouped by coalition.
    """
    codes = torch.arange(2**d)
    masks = ((codes[:, None] >> torch.arange(d)) & 1).to(dtype)
    size = masks.sum(1, keepdim=True)
    w = lambda s: torch.exp(torch.lgamma(s + 1) + torch.lgamma(d - s) - math.lgamma(d + 1))  # noqa: E731
    return masks, torch.where(masks.bool(), w(size - 1), -w(size))


def brute_force_shapley(fn: Callable[[Tensor], Tensor], x: Tensor, baseline: Tensor) -> Tensor:
    """Baseline Shapley values of ``v(S) = fn(x_S, baseline_rest)`` for ``(N, d)`` rows ``x``."""
    masks, weights = coalition_weights(x.shape[1], x.dtype)
    mixed = baseline + masks[None] * (x[:, None] - baseline)  # (N, 2^d, d)
    values = fn(mixed.reshape(-1, x.shape[1])).reshape(len(x), -1)
    return values @ weights
