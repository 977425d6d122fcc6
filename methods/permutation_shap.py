"""Permutation sampling of Shapley values with antithetic (reversed) orders, batched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from xaibench.method import register_method
from xaibench.rng import generator
from xaibench.task import Task

from ._coalitions import SampledGameMethod, antithetic_ranks, chain_attributions, chain_coalitions, with_endpoints


@register_method
@dataclass(frozen=True)
class PermutationShap(SampledGameMethod):
    """Shapley values by antithetic permutation sampling (Castro et al. 2009; Mitchell et al., JMLR 2022).

    For P uniform random orders π of the G players and their reverses, each player's value is its
    mean marginal contribution v(Pre_π(i) ∪ {i}) − v(Pre_π(i)) over the 2P orders, with the game
    v(S) = mean_r f(x_S, r_¬S) of the other Shapley methods. Every order telescopes, so efficiency
    Σφ = v(all) − v(∅) holds exactly; an order with its reverse gives the exact Shapley value of
    any game with interactions of order ≤ 2 (additive plus pairwise terms).

    Parameters:
        n_samples: model-evaluation budget per instance (default 2048, as ``kernel_shap``): each
            antithetic pair of orders costs 2(G−1) interior coalitions, so
            P = max(1, ⌊n_samples / (2(G−1))⌋) pairs; ∅ and the full coalition are evaluated once.
        background, max_elements: as for ``kernel_shap``.

    The orders are drawn once per call from ``xaibench.rng.generator(seed)`` and shared by the
    batch. shap's PermutationExplainer does the same forward-and-backward sweep per order but
    charges 2G + 1 evaluations per order and draws orders per instance; its ``max_evals``
    default is 500 (we use the budget of the other methods). Per-feature output spreads a group's
    value evenly over its features.
    """

    name: ClassVar[str] = "permutation_shap"
    description: ClassVar[str] = "Shapley values by antithetic permutation sampling (each order and its reverse)"

    def n_pairs(self, n_players: int) -> int:
        """Antithetic pairs of orders that the budget buys for ``n_players`` players."""
        return 1 if n_players < 2 else max(1, self.n_samples // (2 * (n_players - 1)))

    def explain(self, task: Task, x: Tensor, *, seed: int = 0) -> Tensor:
        self.check(task)
        g = task.players.n
        ranks = antithetic_ranks(g, self.n_pairs(g), generator(seed))
        v = self.values(task, x, with_endpoints(chain_coalitions(ranks)))
        phi = chain_attributions(v[:, 0], v[:, 2:], v[:, 1], ranks)
        return self.spread(task, phi, x)
