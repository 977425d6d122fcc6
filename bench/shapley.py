"""Exact Shapley values by enumerating every coalition of a few players, batched.

The core of three things that must agree: the ``exact_shapley`` method, the ground-truth metrics'
``truth="model"`` reference (the explained model's own Shapley values), and the data-generating
truth of the synthetic ``prob`` targets (the Shapley values of the Bayes-optimal probability).

The game of an instance ``x`` against one reference row ``b`` is "baseline Shapley"
(Sundararajan & Najmi 2020): ``v(S) = value(x_S, b_¬S)``, players in ``S`` keep their value from
``x``, the others take it from ``b`` (features, or groups of features switched together), and

    φ_i = Σ_{S ⊆ N∖{i}} |S|! (G − |S| − 1)! / G! · (v(S ∪ {i}) − v(S))       (Shapley 1953)

computed for all instances at once in float64 (:func:`shapley_from_values`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from .players import Players, mix

MAX_PLAYERS = 14
"""Default most players enumerated: 2^14 = 16,384 evaluations per instance."""

ENUMERATION_LIMIT = 20
"""Hard limit of :func:`baseline_shapley` and ``exact_shapley(max_players=...)``: 2^20 ≈ 10^6
evaluations per instance (the synthetic_patch oracle's 16 players take 65,536)."""


def all_coalitions(n_players: int, device: torch.device | str | None = None) -> Tensor:
    """Every subset of G players, ``(2^G, G)`` bool, row b is the binary expansion of b (built on ``device``)."""
    bits = torch.arange(2**n_players, device=device)[:, None] >> torch.arange(n_players, device=device)[None, :]
    return (bits & 1).bool()


def shapley_from_values(values: Tensor) -> Tensor:
    """``(N, G)`` float64 Shapley values from the game values of every coalition, ``(N, 2^G)``.

    Column ``b`` of ``values`` is ``v(S)`` for the coalition whose members are the set bits of ``b``
    (the rows of :func:`all_coalitions`). Summed as marginal contributions,
    ``φ_i = Σ_{S ∌ i} w(|S|) (v(S ∪ i) − v(S))`` with ``w(s) = s! (G−1−s)! / G!`` (Shapley 1953), so
    a player whose marginal contributions are all exactly 0 (an irrelevant feature) gets exactly 0
    — not the ±1e-16 a signed sum over all coalitions leaves.
    """
    n, k = values.shape
    g = k.bit_length() - 1
    values = values.to(torch.float64)
    coalitions = torch.arange(k, device=values.device)
    size = sum(((coalitions >> i) & 1 for i in range(g)), torch.zeros_like(coalitions)).to(torch.float64)
    weight = torch.exp(torch.lgamma(size + 1) + torch.lgamma(g - size) - math.lgamma(g + 1))  # w(|S|), S ∌ i
    phi = values.new_zeros(n, g)
    half = torch.arange(k // 2, device=values.device)
    for i in range(g):  # a loop over at most MAX_PLAYERS players; every instance at once
        without = ((half >> i) << (i + 1)) | (half & ((1 << i) - 1))  # the coalitions without i, in order (no sync)
        gain = values.index_select(1, without | (1 << i)) - values.index_select(1, without)
        phi[:, i] = gain @ weight.index_select(0, without)
    return phi


def baseline_shapley(value: Callable[[Tensor, slice], Tensor], x: Tensor, reference: Tensor, players: Players,
                     max_rows: int = 1 << 16) -> Tensor:
    """``(N, G)`` float64 exact Shapley values of ``v(S) = value(x_S, b_¬S)`` for every instance.

    Args:
        value: ``value(z, part)`` → ``(n, K)`` for masked inputs ``z`` ``(n, K, *F)`` of the instances
            ``x[part]`` (the callable keeps whatever it pins per instance, e.g. the explained class).
        x: ``(N, *F)`` instances; reference: ``(*F)`` the row absent players take.
        players: the task's features or groups (at most :data:`ENUMERATION_LIMIT`).
        max_rows: most masked inputs built and evaluated at once (memory only, not results).
    """
    g = players.n
    if g > ENUMERATION_LIMIT:
        raise ValueError(f"exact enumeration allows at most {ENUMERATION_LIMIT} players, got {g}")
    coalitions = all_coalitions(g, x.device)
    masks = players.expand(coalitions.to(x.dtype))  # (2^G, *F)
    k = masks.shape[0]
    n_step = max(1, max_rows // k)
    k_step = min(k, max_rows)
    values = torch.empty(x.shape[0], k, dtype=torch.float64, device=x.device)
    with torch.no_grad():
        for i in range(0, x.shape[0], n_step):
            part = slice(i, i + n_step)
            xi = x[part]
            for j in range(0, k, k_step):
                keep = masks[j : j + k_step].unsqueeze(0).expand(xi.shape[0], -1, *masks.shape[1:])
                z = mix(xi, reference.to(xi), keep)
                values[part, j : j + k_step] = value(z, part).to(torch.float64)
    return shapley_from_values(values)
