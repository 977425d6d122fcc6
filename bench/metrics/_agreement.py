"""Top-k and position agreement between an attribution's ranking and the truth's, with ties.

Both sides are rankings of players by magnitude, snapped first (:func:`xaibench.tolerance.snap`),
so each is a sequence of **tie blocks**: player ``i`` occupies the positions ``[lo_i, hi_i)``
shared with the players tied with it (:func:`xaibench.tensorstats.tie_blocks`). A tie means
something different on each side, and each side is treated by what it means — never by index:

* **attribution ties carry no information**: the value is the *expectation over the orders of
  the tied players* (every order equally likely), i.e. what a uniformly random tie-break scores
  on average. An all-tied (constant, all-zero) attribution scores the chance level, exactly the
  expectation of a uniformly random ranking (the ``random`` control's).
* **truth ties are indifference**: the truth does not prefer one of its tied players to another,
  so an attribution is credited with the *best order consistent with the truth* (any completion
  of the truth's ties is equally true). An explanation whose ties are the truth's (exact Shapley
  values of a mask truth) scores 1.

Both closed forms below are exact (no sampling), so the metrics built on them are deterministic.
"""

from __future__ import annotations

import torch
from torch import Tensor


def positions_covered(lo: Tensor, hi: Tensor, k: int) -> Tensor:
    """``(N, k, G)`` bool: player ``i``'s tie block covers position ``j`` (``lo_i ≤ j < hi_i``), ``j < k``."""
    j = torch.arange(k, device=lo.device).reshape(1, k, 1)
    return (lo.unsqueeze(1) <= j) & (j < hi.unsqueeze(1))


def expected_position_agreement(phi_blocks: tuple[Tensor, Tensor], truth_blocks: tuple[Tensor, Tensor], k: int,
                                agree: Tensor) -> Tensor:
    """``(N,)`` expected share of the first ``k`` positions holding the same (agreeing) player.

    ``(1/k) Σ_{j<k} P[π_j(φ) ∈ B*(j) and agree_{π_j(φ)}]`` with ``π_j(φ)`` the player at position
    ``j`` under a uniformly random order of φ's ties — uniform over φ's block ``B(j)`` covering ``j``
    — and ``B*(j)`` the truth's block covering ``j`` (the best truth completion places any of its
    block's players at ``j``; distinct positions hold distinct players, so the best is per
    position). ``agree`` ``(N, G)`` weights (bool or in [0, 1]) say how much a player counts (all
    fully, or by its sign agreement).
    """
    phi = positions_covered(*phi_blocks, k)
    truth = positions_covered(*truth_blocks, k)
    hits = ((phi & truth) * agree.unsqueeze(1).to(torch.float64)).sum(-1)
    size = phi.sum(-1).to(torch.float64)
    return (hits / size.clamp(min=1)).sum(-1) / k


def expected_topk_overlap(phi_blocks: tuple[Tensor, Tensor], truth_blocks: tuple[Tensor, Tensor], k: int,
                          agree: Tensor) -> Tensor:
    """``(N,)`` expected ``|T_k(φ) ∩ T*_k ∩ agree| / k``, φ's ties in random order, the truth's completed best.

    Each side's top-k is its *sure* players (blocks ending by position k: ``A``, ``A'``) plus
    ``m = k − |A|`` players of the block straddling position k (``B``, ``B'``). φ's ``m'`` come
    uniformly from ``B'``; the truth's are then chosen to overlap φ's as much as possible, so

        overlap = |A'∩A∩S| + |C∩A∩S| + min(|A'∩B∩S| + |C∩B∩S|, m)

    with ``C`` the random ``m'``-subset of ``B'`` and ``S = agree``. The expectation is exact:
    ``E|C∩A∩S| = m'·|B'∩A∩S|/|B'|`` and ``|C∩B∩S|`` is hypergeometric (population ``|B'|``,
    ``|B'∩B∩S|`` successes, ``m'`` draws).
    """
    (lo, hi), (t_lo, t_hi) = phi_blocks, truth_blocks
    count = lambda m: m.sum(-1).to(torch.float64)  # noqa: E731
    sure, edge = hi <= k, (lo < k) & (hi > k)
    t_sure, t_edge = t_hi <= k, (t_lo < k) & (t_hi > k)
    draws = k - count(sure)  # m'
    population = count(edge)  # |B'|
    t_free = k - count(t_sure)  # m
    direct = count(sure & t_sure & agree)
    from_edge = draws * count(edge & t_sure & agree) / population.clamp(min=1)
    base = count(sure & t_edge & agree)
    successes = count(edge & t_edge & agree)
    h = torch.arange(lo.shape[-1] + 1, device=lo.device, dtype=torch.float64)
    pmf = hypergeometric_pmf(h, population.unsqueeze(-1), successes.unsqueeze(-1), draws.unsqueeze(-1))
    capped = (pmf * torch.minimum(base.unsqueeze(-1) + h, t_free.unsqueeze(-1))).sum(-1)
    return (direct + from_edge + capped) / k


def hypergeometric_pmf(h: Tensor, population: Tensor, successes: Tensor, draws: Tensor) -> Tensor:
    """``P[H = h]`` for ``H`` the successes among ``draws`` taken without replacement (broadcast, float64)."""
    def log_choose(n: Tensor, r: Tensor) -> Tensor:
        valid = (r >= 0) & (r <= n)
        value = torch.lgamma(n + 1) - torch.lgamma(r.clamp(min=0) + 1) - torch.lgamma((n - r).clamp(min=0) + 1)
        return torch.where(valid, value, torch.full_like(value, float("-inf")))

    log_p = log_choose(successes, h) + log_choose(population - successes, draws - h) - log_choose(population, draws)
    return torch.exp(log_p)
