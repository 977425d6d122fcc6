"""Removal curves: ``deletion_auc`` (MoRF), ``insertion_auc`` and ``abpc`` (LeRF − MoRF).

Definition shared by the three metrics. Players (features, or the task's groups) are ranked by
their summed attribution ``Φ_g = Σ_{i∈g} φ_i`` oriented by the change being explained, i.e. by
``s · Φ_g`` with ``s = sign(f(x) − f(x^(S)))``: "most relevant" means "carrying most of the
change", whichever its sign, so that for a linear model the exact attributions give the steepest
deletion and insertion of all orderings.

Ties are broken at random, independently per instance, by the metric's seed (never by player
index): players whose ``Φ_g`` are equal up to rounding (:func:`xaibench.tolerance.snap`, relative
to ``max |Φ|``) are ordered by priorities private to the instance
(:func:`~xaibench.metrics._removal.tie_priority`). A constant or all-zero attribution therefore
scores a uniformly random order — the chance level, the same distribution as the ``random``
control — and relabelling the features changes the value only in distribution. They are removed (or
inserted) ``c_t = round(t·G/S)`` at a time, ``t = 0..S``, ``S = min(n_steps, G)``. With ``x^(t)``
the instance whose first ``c_t`` players are removed (replaced as the ``baseline`` strategy says,
:mod:`xaibench.metrics._removal`) and ``x^(S)`` the fully removed instance, each point is
normalised by the change to explain::

    y_t = (f(x^(t)) − f(x^(S))) / (f(x) − f(x^(S)))          (1 at t = 0, 0 at t = S)

and the score is the trapezoid area under ``y`` against the removed fraction ``c_t / G`` on [0, 1].

Small and zero denominators, explicitly. The denominator does not depend on the method (every
method of an instance is scaled alike), but an instance whose change ``Δ = f(x) − f(x^(S))`` is
tiny would get unbounded normalised values and dominate every mean across instances (seen on
``synthetic_linear``: instances near the decision boundary gave −9.3 ± 8.6). So the denominator is
floored: ``D = s · max(|Δ|, min_change · σ)``, with ``σ`` the standard deviation of the pinned
output over the task's background (``min_change`` = 0.1 by default): the change to explain is
never taken smaller than a tenth of the output's natural spread. The change is *degenerate* when
it is rounding-level next to the outputs it is the difference of,
``|Δ| ≤ rtol · max(|f(x)|, |f(x^(S))|)`` (:mod:`xaibench.tolerance`; the same relative rule decides
the orientation ``s``, which is +1 for a degenerate change); when ``σ`` is 0 as well (to rounding)
the curve is left unnormalised, ``f(x^(t)) − f(x^(S))``. Every threshold is relative, so the
value is unchanged when ``f`` and ``φ`` are multiplied by a common ``c > 0`` (e.g.
``f = c·(x₀ − 3x₁)`` at ``x = (1, 1)``, ``b = 0``, exact ``φ``: deletion 0, insertion 1, ABPC 1 for
every ``c``). Never NaN; ``evaluate`` reports the share of floored or unnormalised instances as
``degenerate_fraction``, and the mean normalised curve over the instances (for plots) as
``curve_fraction`` (the ``c_t / G`` points) with ``curve`` (deletion, insertion) or ``curve_lerf``
and ``curve_morf`` (ABPC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError
from xaibench.metric import Metric, MetricOutput, check_attributions, register_metric
from xaibench.params import Ge, Gt, OneOf
from xaibench.rng import derived_seed

from ._removal import (
    STRATEGIES,
    Removal,
    check_strategy,
    evaluate_chunked,
    explained_change,
    normalise_curve,
    output_spread,
    player_ranks,
    step_counts,
    tie_priority,
)

OPPOSITE = {"morf": "lerf", "lerf": "morf"}

if TYPE_CHECKING:
    from xaibench.method import Method
    from xaibench.task import Task


@dataclass(frozen=True)
class RemovalCurves:
    """Unnormalised removal curves of a batch, as :func:`removal_curves` returns them.

    Attributes:
        values: ``(N, len(orders), S+1)`` ``f`` along each curve: column ``t`` removes the first
            ``c_t`` players of the ranking (deletion) or keeps only them (insertion).
        fractions: ``(S+1,)`` the fraction of players removed (inserted), ``c_t / G``.
        start, end: ``(N,)`` ``f(x)`` and ``f(x^(S))`` (fully removed).
        sign: ``(N,)`` the orientation ±1 the ranking used (see :func:`removal_curves`).
        spread: ``(N,)`` standard deviation of the pinned output over the background.
    """

    values: Tensor
    fractions: Tensor
    start: Tensor
    end: Tensor
    sign: Tensor
    spread: Tensor

    def normalised(self, min_change: float = 0.1) -> tuple[Tensor, Tensor]:
        """Curves scaled to ``(f − f(x^(S))) / D`` (module docstring) and the floored/degenerate mask."""
        curves, degenerate = normalise_curve(
            self.values, self.start[:, None], self.end[:, None], self.sign[:, None], (min_change * self.spread)[:, None])
        return curves, degenerate[:, 0]


def removal_curves(task: "Task", x: Tensor, attributions: Tensor, *, orders: tuple[str, ...] = ("morf",),
                   insertion: bool = False, baseline: str = "task", n_steps: int = 20, blur_sigma: float = 0.1,
                   road_noise: float = 0.01, seed: int = 0, orient: bool = True) -> RemovalCurves:
    """Removal (or insertion) curves of ``f`` along the attribution ranking, one per order.

    ``"morf"`` ranks players by decreasing ``s · Φ_g``, ``"lerf"`` by increasing (its exact
    reverse, ties included), where ``s = sign(f(x) − f(x^(S)))`` when ``orient`` (+1 for
    degenerate instances) and ``s = 1`` otherwise; ties are broken at random per instance by
    ``seed`` (module docstring): the most relevant players are those that carry the change being explained, so
    that for a linear model the exact attributions give the steepest deletion whichever the sign
    of the change.

    Cost: one chunked pass over ``N · (2 + len(orders) · (S − 1))`` rows (the endpoints and every
    order's inner points, ranked with ``s = +1``). An instance with ``s = −1`` needs the opposite
    order, which is reused when it was requested too (ABPC) and otherwise evaluated for those
    instances only in a second pass.
    """
    if any(o not in OPPOSITE for o in orders) or not orders:
        raise InvalidParameterError(f"orders must be a non-empty tuple of 'morf' / 'lerf', got {orders!r}")
    if n_steps < 1:
        raise InvalidParameterError(f"n_steps must be at least 1, got {n_steps}")
    check_attributions(x, attributions)
    players = task.players
    removal = Removal(task, baseline, blur_sigma=blur_sigma, road_noise=road_noise,
                      seed=derived_seed(seed, "removal_curve"), who="removal curve")
    counts = step_counts(players.n, n_steps, device=x.device)
    inner = counts[1:-1]
    ends = torch.tensor([[True], [False]], device=x.device).expand(2, players.n)  # keep all (f(x)), none (f(x^(S)))

    def curves(xs: Tensor, ranks: Tensor, with_ends: bool) -> Tensor:
        first = ranks.unsqueeze(2) < inner.reshape(1, 1, -1, 1)  # (n, O, S-1, G): among the first c_t
        keep = (first if insertion else ~first).flatten(1, 2)
        if with_ends:
            keep = torch.cat([ends.expand(len(xs), 2, players.n), keep], 1)
        return removal(xs, players.expand(keep))

    bound = task.bind(x)
    priority = tie_priority(x, players.n, seed, "removal_curve")
    ranks = torch.stack([player_ranks(task, attributions, priority, descending=o == "morf")
                         for o in orders], 1)  # (N, O, G)
    out = evaluate_chunked(task, x, 2 + len(orders) * inner.numel(), lambda xs, part: curves(xs, ranks[part], True), bound)
    start, end, mid = out[:, 0], out[:, 1], out[:, 2:].reshape(len(x), len(orders), inner.numel())
    delta, degenerate = explained_change(start, end)
    flip = ~degenerate & (delta < 0) & orient
    if flip.any() and inner.numel():  # s = −1: each order's curve is the opposite order's under s = +1
        rows = flip.nonzero().squeeze(1)
        missing = [o for o in orders if OPPOSITE[o] not in orders]
        if missing:
            extra_ranks = torch.stack([player_ranks(task, attributions[rows], priority[rows], descending=o != "morf")
                                       for o in missing], 1)
            extra = evaluate_chunked(task, x[rows], len(missing) * inner.numel(),
                                     lambda xs, part: curves(xs, extra_ranks[part], False), bound.rows(rows))
            extra = extra.reshape(len(rows), len(missing), inner.numel())
        flipped = mid.clone()
        for j, o in enumerate(orders):
            flipped[rows, j] = extra[:, missing.index(o)] if o in missing else mid[rows, orders.index(OPPOSITE[o])]
        mid = flipped
    first, last = (end, start) if insertion else (start, end)
    column = lambda v: v[:, None, None].expand(-1, len(orders), 1)  # noqa: E731
    sign = torch.where(flip, -1.0, 1.0).to(x.dtype)
    return RemovalCurves(torch.cat([column(first), mid, column(last)], -1), counts.to(x.dtype) / players.n,
                         start, end, sign, output_spread(task, bound))


def _auc(curve: Tensor, fractions: Tensor) -> Tensor:
    return torch.trapezoid(curve, fractions, dim=-1)


@dataclass(frozen=True)
class _RemovalCurveMetric(Metric):
    """Shared parameters and plumbing of the removal-curve metrics (see the module docstring).

    Parameters:
        baseline: removal strategy, one of ``task`` (default: the task's baseline), ``zero``,
            ``mean`` (background mean), ``min`` (Quantus' "black"), ``blur`` and
            ``noisy_linear`` (images only).
        n_steps: number of steps S (default 20; every player once when there are fewer).
        blur_sigma: Gaussian σ of ``blur`` as a fraction of the image side (default 0.1).
        road_noise: standard deviation of the noise ``noisy_linear`` adds (default 0.01, ROAD's).
        min_change: floor of the normalising change, as a fraction of the output's background
            standard deviation (default 0.1; 0 restores the plain ``f(x) − f(x^(S))``).

    Ties between players' attributions are broken at random, independently per instance, by the
    metric's seed (module docstring): a constant or all-zero attribution scores the chance level.
    Needs at least 2 players. Scale-free: ``c·f`` and ``c·φ`` score alike for any ``c > 0``.
    """

    category: ClassVar[str] = "faithfulness"
    min_players: ClassVar[int] = 2
    baseline: Annotated[str, OneOf(STRATEGIES)] = "task"
    n_steps: Annotated[int, Ge(1)] = 20
    blur_sigma: Annotated[float, Gt(0)] = 0.1
    road_noise: Annotated[float, Ge(0)] = 0.01
    min_change: float = 0.1

    def __post_init__(self) -> None:
        if not self.min_change >= 0:
            raise InvalidParameterError(f"{self.name}: min_change must be >= 0, got {self.min_change}")

    def check(self, task: "Task", method: "Method") -> None:
        super().check(task, method)
        check_strategy(task, self.baseline, self.name)

    def _areas(self, task, x, attributions, seed, *, orders=("morf",), insertion=False
               ) -> tuple[Tensor, Tensor, dict[str, list[float]]]:
        """``(N, len(orders))`` areas under the normalised curves, the degenerate mask, and the
        mean curves (``curve_fraction`` and one ``curve_<order>`` per order)."""
        curves = removal_curves(
            task, x, attributions, orders=orders, insertion=insertion, baseline=self.baseline, n_steps=self.n_steps,
            blur_sigma=self.blur_sigma, road_noise=self.road_noise, seed=seed)
        normalised, degenerate = curves.normalised(self.min_change)
        means = {"curve_fraction": curves.fractions.tolist()}
        if len(x):
            means |= {f"curve_{o}": normalised[:, j].mean(0).tolist() for j, o in enumerate(orders)}
        return _auc(normalised, curves.fractions), degenerate, means

    def _score(self, task, x, attributions, seed) -> tuple[Tensor, Tensor, dict[str, list[float]]]:
        raise NotImplementedError

    def __call__(self, task, x, attributions, method, *, seed=0) -> Tensor:
        return self._score(task, x, attributions, seed)[0]

    def evaluate(self, task, x, attributions, method, *, seed=0) -> MetricOutput:
        values, degenerate, curves = self._score(task, x, attributions, seed)
        share = float(degenerate.to(torch.float64).mean()) if degenerate.numel() else 0.0
        return MetricOutput(values, {"degenerate_fraction": share, **curves})


@register_metric
@dataclass(frozen=True)
class DeletionAUC(_RemovalCurveMetric):
    """Deletion (MoRF) area: remove the most relevant players first; lower is better.

    Samek et al. 2017 "Evaluating the visualization of what a deep neural network has learned"
    (MoRF, after the pixel flipping of Bach et al. 2015); Petsiuk et al. 2018 "RISE" (deletion).
    Score: ``∫ y_t`` over the removed fraction, ``y_t = (f(x^(t)) − f(x^(S))) / (f(x) − f(x^(S)))``,
    players removed in decreasing order of ``s · Φ_g`` (module docstring). Defaults:
    ``baseline="task"``, ``n_steps=20`` (S = min(20, G)), ``blur_sigma=0.1``, ``road_noise=0.01``.

    Differences from Quantus ``PixelFlipping`` (the same curve points on identical settings,
    tested): Quantus ranks by φ whatever the sign of the change (the same ranking as ours when
    removal lowers the output, as it usually does for a predicted class); it returns the raw
    model output after each of ``⌈d / features_in_step⌉`` steps, without the unperturbed point
    and as softmax probabilities by default, and, when asked, its area with ``dx = 1`` through
    ``np.trapz`` (removed in NumPy 2). We prepend ``f(x)``, normalise by ``f(x) − f(x^(S))`` so
    that instances and tasks compare, integrate over the removed fraction on [0, 1], act on the
    task's players (patches, one-hot blocks) and score the target pinned at ``x`` (a logit, not
    a probability). Quantus' default baseline is "black" (the instance's minimum, our ``min``);
    ours is the task's baseline, the value the attribution methods treat as absent.
    """

    name: ClassVar[str] = "deletion_auc"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "area under the normalised MoRF deletion curve (Samek et al. 2017)"

    def _score(self, task, x, attributions, seed):
        areas, degenerate, curves = self._areas(task, x, attributions, seed)
        return areas[:, 0], degenerate, _renamed(curves, morf="curve")


@register_metric
@dataclass(frozen=True)
class InsertionAUC(_RemovalCurveMetric):
    """Insertion area: start from the fully removed input and restore the most relevant players first.

    Petsiuk et al. 2018 "RISE: Randomized Input Sampling for Explanation of Black-box Models"
    (insertion metric; their default removal is blur). Score: ``∫ y_t`` over the inserted
    fraction, ``y_t = (f(x_(t)) − f(x^(S))) / (f(x) − f(x^(S)))`` where ``x_(t)`` keeps only the
    first ``c_t`` players (decreasing summed attribution) and removes the rest, so the curve
    runs from 0 to 1; higher is better. Defaults as :class:`DeletionAUC` (baseline = the task's,
    S = min(20, G)). RISE integrates the raw class probability; we normalise by the change to
    explain, as for deletion, so that instances and targets (logits, reconstruction errors) compare.
    """

    name: ClassVar[str] = "insertion_auc"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "area under the normalised insertion curve (Petsiuk et al. 2018)"

    def _score(self, task, x, attributions, seed):
        areas, degenerate, curves = self._areas(task, x, attributions, seed, insertion=True)
        return areas[:, 0], degenerate, _renamed(curves, morf="curve")


@register_metric
@dataclass(frozen=True)
class ABPC(_RemovalCurveMetric):
    """Area between the perturbation curves: ``AUC(LeRF) − AUC(MoRF)``; higher is better.

    Samek et al. 2017 (ABPC); used with ROAD's imputation by Rong et al. 2022. Both curves are
    deletion curves normalised as in :class:`DeletionAUC` (the same endpoints ``f(x)`` and
    ``f(x^(S))``), MoRF removing the players in decreasing and LeRF in increasing order of their
    summed attribution. A faithful explanation keeps ``f`` while its least relevant players go
    (LeRF area near 1) and loses it when the most relevant go (MoRF area near 0). Defaults as
    :class:`DeletionAUC`. Quantus has no ABPC; its ``ROAD`` metric reports the two curves instead.
    """

    name: ClassVar[str] = "abpc"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "area between the LeRF and MoRF deletion curves (Samek et al. 2017)"

    def _score(self, task, x, attributions, seed):
        areas, degenerate, curves = self._areas(task, x, attributions, seed, orders=("lerf", "morf"))
        return areas[:, 0] - areas[:, 1], degenerate, curves


def _renamed(curves: dict[str, list[float]], morf: str) -> dict[str, list[float]]:
    """``curve_morf`` named ``curve`` (a deletion or insertion metric has one curve)."""
    return {(morf if k == "curve_morf" else k): v for k, v in curves.items()}
