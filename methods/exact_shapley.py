"""Exact Shapley values by enumerating every coalition of at most 14 players, batched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from xaibench.errors import NotApplicableError
from xaibench.method import register_method
from xaibench.shapley import MAX_PLAYERS, all_coalitions, shapley_from_values
from xaibench.task import Task

from ._coalitions import GameMethod


@register_method
@dataclass(frozen=True)
class ExactShapley(GameMethod):
    """Exact Shapley values (Shapley 1953) of the game v(S) = mean_r f(x_S, r_¬S), by enumeration.

        φ_i = Σ_{S ⊆ N∖{i}} |S|! (G − |S| − 1)! / G! · (v(S ∪ {i}) − v(S))

    All 2^G coalitions are evaluated for every instance in chunked batches and combined as
    marginal contributions in float64 (:func:`xaibench.shapley.shapley_from_values`), so a feature
    the function ignores gets exactly 0. This is the reference the sampling methods
    (``kernel_shap``, ``permutation_shap``) converge to, and with ``background="baseline"`` it is
    the "baseline Shapley" value of the synthetic datasets' oracles.

    Parameters:
        background, max_elements: as for ``kernel_shap`` (default one baseline row).

    Applies to tasks with at most :attr:`max_players` = 14 players (features, or groups when the
    task defines them): 2^14 = 16,384 evaluations per instance (× B with the background). Beyond
    that :meth:`check` raises :class:`~xaibench.errors.NotApplicableError`. Deterministic.
    Per-feature output spreads a group's value evenly over its features.
    """

    name: ClassVar[str] = "exact_shapley"
    description: ClassVar[str] = "Exact Shapley values by enumerating all 2^G coalitions (G <= 14 players)"
    max_players: ClassVar[int] = MAX_PLAYERS

    def check(self, task: Task) -> None:
        super().check(task)
        g = task.players.n
        if g > self.max_players:
            raise NotApplicableError(
                f"{self.name} enumerates 2^G coalitions and allows at most {self.max_players} players; "
                f"{task.name} has {g}. Use kernel_shap or permutation_shap, or give the task feature groups."
            )

    def explain(self, task: Task, x: Tensor, *, seed: int = 0) -> Tensor:
        self.check(task)
        v = self.values(task, x, all_coalitions(task.players.n))
        return self.spread(task, shapley_from_values(v), x)
