"""Removal curves: ``deletion_auc`` (MoRF), ``insertion_auc`` and ``abpc`` (LeRF − MoRF).

Players (features, or the task's groups) are ranked by their summed attribution
``Φ_g = Σ_{i∈g} φ_i`` (signed: positive evidence first; ties by player index) and removed, or
inserted, ``c_t = round(t·G/S)`` at a time for ``t = 0..S``, ``S = min(n_steps, G)``. With
``x^(t)`` the instance whose first ``c_t`` players are removed (their values replaced as the
``baseline`` strategy says, :mod:`xaibench.metrics._removal`) and ``x^(S)`` the fully removed
instance, every curve point is normalised by the change it has to explain::

    y_t = (f(x^(t)) − f(x^(S))) / (f(x) − f(x^(S)))          (1 at t = 0, 0 at t = S)

and the score is the trapezoid area under ``y`` against the removed fraction ``c_t / G`` on [0, 1].
Instances with ``|f(x) − f(x^(S))| ≤ 1e-5 · max(1, |f(x)|, |f(x^(S))|)`` have nothing to explain:
their curve is left unnormalised (``f(x^(t)) − f(x^(S))``, never NaN), and ``evaluate`` reports
their share as ``degenerate_fraction``. A negative denominator (the removed input scores higher)
flips the curve so that it still runs from 1 to 0: the score is the fraction of the change that
remains, whichever its sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError
from xaibench.metric import Metric, MetricOutput, check_attributions, register_metric

from ._removal import Removal, check_strategy, draw_seed, evaluate_chunked, normalise_curve, player_ranks, step_counts

if TYPE_CHECKING:
    from xaibench.method import Method
    from xaibench.task import Task


def removal_curve(task: "Task", x: Tensor, attributions: Tensor, *, order: str = "morf", insertion: bool = False,
                  baseline: str = "task", n_steps: int = 20, blur_sigma: float = 0.1, road_noise: float = 0.01,
                  seed: int = 0) -> tuple[Tensor, Tensor]:
    """Unnormalised removal (or insertion) curve ``(N, S+1)`` and the removed fractions ``(S+1,)``.

    ``curve[:, t]`` is ``f`` with the first ``c_t`` players of the ranking removed (deletion) or
    with only them kept (insertion); ``order="morf"`` ranks by decreasing ``Φ``, ``"lerf"`` by
    increasing. Deletion's column 0 is ``f(x)``; insertion's is the fully removed input.
    """
    if order not in ("morf", "lerf"):
        raise InvalidParameterError(f"order must be 'morf' or 'lerf', got {order!r}")
    if n_steps < 1:
        raise InvalidParameterError(f"n_steps must be at least 1, got {n_steps}")
    check_attributions(x, attributions)
    players = task.players
    removal = Removal(task, baseline, blur_sigma=blur_sigma, road_noise=road_noise,
                      seed=draw_seed(seed, "removal_curve"), who="removal curve")
    ranks = player_ranks(task, attributions, descending=order == "morf")
    counts = step_counts(players.n, n_steps, device=x.device)

    def build(xs: Tensor, part: slice) -> Tensor:
        first = ranks[part].unsqueeze(1) < counts.reshape(1, -1, 1)  # (n, S+1, G): among the first c_t
        keep = first if insertion else ~first
        return removal(xs, players.expand(keep.to(xs.dtype)))

    curve = evaluate_chunked(task, x, counts.numel(), build)
    return curve, counts.to(x.dtype) / players.n


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
    """

    category: ClassVar[str] = "faithfulness"
    baseline: str = "task"
    n_steps: int = 20
    blur_sigma: float = 0.1
    road_noise: float = 0.01

    def check(self, task: "Task", method: "Method") -> None:
        super().check(task, method)
        check_strategy(task, self.baseline, self.name)

    def _curve(self, task, x, attributions, seed, *, order="morf", insertion=False) -> tuple[Tensor, Tensor, Tensor]:
        curve, fractions = removal_curve(
            task, x, attributions, order=order, insertion=insertion, baseline=self.baseline, n_steps=self.n_steps,
            blur_sigma=self.blur_sigma, road_noise=self.road_noise, seed=seed)
        if insertion:  # normalise from f(x) (last) to the fully removed input (first)
            normalised, degenerate = normalise_curve(curve.flip(-1))
            return normalised.flip(-1), fractions, degenerate
        normalised, degenerate = normalise_curve(curve)
        return normalised, fractions, degenerate

    def _score(self, task, x, attributions, seed) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def __call__(self, task, x, attributions, method, *, seed=0) -> Tensor:
        return self._score(task, x, attributions, seed)[0]

    def evaluate(self, task, x, attributions, method, *, seed=0) -> MetricOutput:
        values, degenerate = self._score(task, x, attributions, seed)
        share = float(degenerate.to(torch.float64).mean()) if degenerate.numel() else 0.0
        return MetricOutput(values, {"degenerate_fraction": share})


@register_metric
@dataclass(frozen=True)
class DeletionAUC(_RemovalCurveMetric):
    """Deletion (MoRF) area: remove the most relevant players first; lower is better.

    Samek et al. 2017 "Evaluating the visualization of what a deep neural network has learned"
    (MoRF / pixel flipping, Bach et al. 2015); Petsiuk et al. 2018 "RISE" (deletion metric).
    Score: ``∫ y_t`` over the removed fraction, ``y_t = (f(x^(t)) − f(x^(S))) / (f(x) − f(x^(S)))``
    with players removed in decreasing order of their summed attribution; S = min(20, G) steps,
    baseline = the task's (see the module docstring and :class:`_RemovalCurveMetric`).

    Differences from Quantus ``PixelFlipping`` (same curve points on identical settings, tested):
    Quantus returns the raw curve of the model output after each of ``⌈d / features_in_step⌉``
    steps (without the unperturbed point, softmax probabilities by default) and, when asked,
    its area with ``dx = 1``; we prepend ``f(x)``, normalise by ``f(x) − f(x^(S))`` so that
    instances and tasks are comparable, integrate over the removed fraction on [0, 1], act on the
    task's players (patches, one-hot blocks) and explain the target pinned at ``x`` (its logit by
    default). Quantus' default baseline is "black" (the instance's minimum, our ``min``); ours is the
    task's baseline, the value attribution methods treat as absent.
    """

    name: ClassVar[str] = "deletion_auc"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "area under the normalised MoRF deletion curve (Samek et al. 2017)"

    def _score(self, task, x, attributions, seed):
        curve, fractions, degenerate = self._curve(task, x, attributions, seed)
        return _auc(curve, fractions), degenerate


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
        curve, fractions, degenerate = self._curve(task, x, attributions, seed, insertion=True)
        return _auc(curve, fractions), degenerate


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
        morf, fractions, degenerate = self._curve(task, x, attributions, seed)
        lerf, _, _ = self._curve(task, x, attributions, seed, order="lerf")
        return _auc(lerf, fractions) - _auc(morf, fractions), degenerate
