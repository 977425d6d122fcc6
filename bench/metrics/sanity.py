"""Sanity checks: does the explanation depend on what the model learned?"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from xaibench.metric import Metric, check_attributions, register_metric

from ._perturb import player_scores, rank_similarity


@register_metric
@dataclass(frozen=True)
class Randomization(Metric):
    """Model-parameter randomisation (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

    ``ρ(|Φ(x; θ)|, |Φ(x; θ_rand)|)``: Spearman rank correlation (average ranks) between the
    attribution on the trained model and the method's attribution of the same instance, same seed,
    on ``task.randomized()`` — the same architecture with freshly initialised weights — explaining
    the **same output** (the selector chosen by the trained model at x, as Quantus explains the
    same ``y_batch`` on both models). Over players (attributions summed within groups), average
    ranks for ties after snapping rounding noise (:mod:`xaibench.tolerance`). Lower is better: an
    explanation that survives weight randomisation does not explain the model. An unchanged attribution scores 1 even when constant; the ``input`` control (φ = x − b) scores 1.

    Defaults: ``absolute = True`` (rank |φ|, Quantus MPRT's default ``abs=True`` with its default
    ``similarity_func=correlation_spearman``). Versus Quantus MPRT: MPRT randomises layers one by
    one ("cascading", top-down) and reports a curve; we randomise all weights at once (Adebayo's
    "full" randomisation, the curve's end point), which is a single number per instance and what
    a leaderboard column needs. Quantus also normalises φ by its maximum, which ranks ignore.
    """

    name: ClassVar[str] = "randomization"
    category: ClassVar[str] = "sanity"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "Spearman of |φ| on the trained vs a weight-randomised model (Adebayo et al. 2018)"
    requires: ClassVar[frozenset[str]] = frozenset({"randomized"})
    min_players: ClassVar[int] = 2

    absolute: bool = True

    def __call__(self, task, x, attributions, method, *, seed=0):
        check_attributions(x, attributions)
        randomized = dataclasses.replace(task.randomized(), select=task.select)
        before = player_scores(task, attributions.detach())
        after = player_scores(task, method.explain(randomized, x, seed=seed).detach())
        if self.absolute:
            before, after = before.abs(), after.abs()
        return rank_similarity(before, after).to(attributions.dtype)
