"""Exact Shapley values by enumerating every coalition of a few players (14 by default), batched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from annotated_types import Interval

from torch import Tensor

from xaibench.errors import NotApplicableError
from xaibench.method import register_method
from xaibench.shapley import ENUMERATION_LIMIT, MAX_PLAYERS, all_coalitions, shapley_from_values
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
        max_players: most players enumerated (default 14, at most 20). Cost is 2^G evaluations
            per instance (× B with the background): 16,384 at G = 14, 65,536 at G = 16 (the
            synthetic_patch oracle), about 10^6 at G = 20.

    Applies to tasks with at most ``max_players`` players (features, or groups when the task
    defines them); beyond that :meth:`check` raises
    :class:`~xaibench.errors.NotApplicableError`. Deterministic.
    Per-feature output spreads a group's value evenly over its features.
    """

    name: ClassVar[str] = "exact_shapley"
    description: ClassVar[str] = "Exact Shapley values by enumerating all 2^G coalitions (G <= 14 players by default)"
    max_players: Annotated[int, Interval(ge=1, le=ENUMERATION_LIMIT)] = MAX_PLAYERS

    def check(self, task: Task) -> None:
        super().check(task)
        g = task.players.n
        if g > self.max_players:
            raise NotApplicableError(
                f"{self.name} enumerates 2^G coalitions and allows at most {self.max_players} players; "
                f"{task.name} has {g}. Pass max_players={g} (up to {ENUMERATION_LIMIT}; 2^{g} evaluations per "
                f"instance), use kernel_shap or permutation_shap, or give the task feature groups."
            )

    def explain(self, task: Task, x: Tensor, *, seed: int = 0) -> Tensor:
        self.check(task)
        v = self.values(task, x, all_coalitions(task.players.n, x.device))  # built where it is used
        return self.spread(task, shapley_from_values(v), x)
