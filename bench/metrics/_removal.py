"""Helpers shared by the faithfulness metrics: removal strategies, player rankings, chunked evaluation.

A faithfulness metric perturbs the explained instances ``x`` ``(N, *F)`` into ``K`` variants each,
``(N, K, *F)``, and scores them with the task's target pinned at ``x``. Three pieces recur:

* :class:`Removal` — what a *removed* feature becomes. Static strategies fill removed features
  with a reference ``r`` (``mix(x, r, keep)``); ``"noisy_linear"`` imputes them from their
  neighbours (ROAD), so its values depend on which pixels are kept.
* :func:`player_ranks` — each player's position when players are sorted by their summed
  attribution (``Players.total``), with rounding-level differences tied
  (:func:`xaibench.tolerance.snap`) and ties broken at random by per-instance priorities drawn
  from the metric's seed (:func:`tie_priority`): never by player index, so a tied or all-zero
  attribution scores a uniformly random order (the chance level), whatever column a feature
  sits in, and an instance's order does not depend on its batch mates.
* :func:`evaluate_chunked` — builds and evaluates the perturbations a slice of instances at a
  time (forward passes of ``task.max_batch`` rows), so few perturbed rows exist in memory at once.

Randomness: metrics draw **shared** perturbations (the same K draws for every instance, from
:mod:`xaibench.rng`'s shared draws: the same numbers on every device and in every dtype), so an
instance's value never depends on its batch mates, under a seed derived from the caller's seed
and the metric's name (:func:`xaibench.rng.derived_seed`): a method that draws under ``seed``
(the ``random`` control) must not see its own numbers again in the metric that scores it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from xaibench.chunking import map_chunks, pass_key
from xaibench.errors import InvalidParameterError, NotApplicableError, ShapeError
from xaibench.players import mix
from xaibench.rng import derived_seed, instance_uniform, shared_normal
from xaibench.tensorstats import tiebreak_ranks
from xaibench.tolerance import negligible, snap

from ._road import noisy_linear_impute

if TYPE_CHECKING:
    from xaibench.task import BoundTarget, Task

STRATEGIES = ("task", "zero", "mean", "min", "blur", "noisy_linear")
"""Removal strategies (the metrics' ``baseline`` parameter):

* ``"task"`` — the task's own baseline ``task.baseline`` (zeros for images and one-hot data, the
  training mean for tabular data): the same "absent" value the attribution methods use.
* ``"zero"`` — zeros.
* ``"mean"`` — the per-feature mean of ``task.background``.
* ``"min"`` — the instance's smallest feature value (Quantus' ``perturb_baseline="black"``).
* ``"blur"`` — images only: ``x`` blurred by a Gaussian of standard deviation
  ``blur_sigma × max(H, W)`` pixels, per channel, kernel radius ``ceil(3σ)`` (at most ``side − 1``),
  reflect padding.
* ``"noisy_linear"`` — images only: ROAD's noisy linear imputation (Rong et al. 2022), see
  :mod:`xaibench.metrics._road`.
"""

IMAGE_ONLY = frozenset({"blur", "noisy_linear"})

def check_strategy(task: "Task", strategy: str, who: str) -> None:
    """Typed errors for an unknown strategy or an image-only strategy on a non-image task."""
    if strategy not in STRATEGIES:
        raise InvalidParameterError(f"{who}: baseline must be one of {STRATEGIES}, got {strategy!r}")
    if strategy in IMAGE_ONLY and task.kind != "image":
        raise NotApplicableError(
            f"{who}: baseline={strategy!r} needs a spatial neighbourhood and applies to image tasks only; "
            f"{task.name} is {task.kind}. Use baseline='task', 'mean' or 'zero'"
        )
    if task.kind == "image" and len(task.feature_shape) != 3:
        raise ShapeError(f"{who}: image tasks must have (C, H, W) features, got {task.feature_shape}")


class Removal:
    """What removed features become, for one task: ``removal(x, keep)`` → perturbed inputs.

    ``keep`` is a feature mask, ``(K, *F)`` shared by every instance or ``(n, K, *F)``: 1 (True)
    keeps a feature, 0 (False) removes it. Static strategies also accept values in [0, 1] (a
    partial move towards the reference, as infidelity uses); ``"noisy_linear"`` needs 0/1.
    """

    def __init__(self, task: "Task", strategy: str = "task", *, blur_sigma: float = 0.1,
                 road_noise: float = 0.01, seed: int = 0, who: str = "metric"):
        check_strategy(task, strategy, who)
        if strategy == "blur" and not blur_sigma > 0:
            raise InvalidParameterError(f"{who}: blur_sigma must be positive, got {blur_sigma}")
        if strategy == "noisy_linear" and road_noise < 0:
            raise InvalidParameterError(f"{who}: road_noise must be non-negative, got {road_noise}")
        self.task, self.strategy, self.blur_sigma, self.road_noise, self.seed = task, strategy, blur_sigma, road_noise, seed

    @property
    def static(self) -> bool:
        return self.strategy != "noisy_linear"

    def reference(self, x: Tensor) -> Tensor:
        """``(n, *F)`` values a removed feature takes (static strategies only)."""
        task, s = self.task, self.strategy
        if s == "task":
            ref = task.baseline.to(x.dtype)
        elif s == "zero":
            ref = torch.zeros_like(x[0])
        elif s == "mean":
            ref = task.background.to(x.dtype).mean(0)
        elif s == "min":
            return x.reshape(x.shape[0], -1).amin(1).reshape(-1, *[1] * (x.dim() - 1)).expand_as(x)
        elif s == "blur":
            return gaussian_blur(x, self.blur_sigma * max(x.shape[-2:]))
        else:
            raise InvalidParameterError(f"baseline={s!r} has no fixed reference value; it imputes from the kept pixels")
        return ref.expand_as(x)

    def __call__(self, x: Tensor, keep: Tensor) -> Tensor:
        if keep.dim() == x.dim():  # (K, *F) shared by every instance
            keep = keep.unsqueeze(0).expand(x.shape[0], *keep.shape)
        if self.static:
            if keep.dtype == torch.bool:  # one pass: pick x or the reference
                return torch.where(keep, x.unsqueeze(1), self.reference(x).unsqueeze(1))
            return mix(x, self.reference(x), keep)
        n, k = keep.shape[:2]
        noise = shared_normal(self.seed, keep.shape[1:], device=x.device).to(x.dtype)
        fallback = self.task.baseline.to(x.dtype).expand(n * k, *x.shape[1:])
        flat = noisy_linear_impute(
            x.unsqueeze(1).expand(n, k, *x.shape[1:]).reshape(n * k, *x.shape[1:]),
            keep.reshape(n * k, *x.shape[1:]).to(x.dtype),
            fallback,
            noise=(self.road_noise * noise).expand(n, *noise.shape).reshape(n * k, *x.shape[1:]),
        )
        return flat.reshape(n, k, *x.shape[1:])


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Per-channel Gaussian blur of ``(N, C, H, W)`` images (reflect padding, radius ``ceil(3σ)``)."""
    n, c, h, w = x.shape
    radius = max(1, min(math.ceil(3 * sigma), h - 1, w - 1)) if min(h, w) > 1 else 0
    if radius == 0:
        return x.clone()
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.sum()
    flat = F.pad(x.reshape(n * c, 1, h, w), (radius,) * 4, mode="reflect")
    flat = F.conv2d(flat, kernel.reshape(1, 1, 1, -1))
    flat = F.conv2d(flat, kernel.reshape(1, 1, -1, 1))
    return flat.reshape(n, c, h, w)


def tie_priority(x: Tensor, n_players: int, seed: int, name: str) -> Tensor:
    """``(N, G)`` float64 priorities in (0, 1) that break ties in the rankings of metric ``name``.

    Private to each instance (:func:`xaibench.rng.instance_uniform`, a function of the instance's
    content and the seed only), under a seed derived from the caller's seed and ``"ties/" + name``:
    reproducible, independent across instances and of batch composition, and independent of the
    draws of the method being scored.
    """
    return instance_uniform(x, derived_seed(seed, "ties/" + name), (n_players,), dtype=torch.float64)


def player_ranks(task: "Task", attributions: Tensor, priority: Tensor, *, descending: bool = True,
                 magnitude: bool = False) -> Tensor:
    """``(N, G)`` position of each player (0 = first) when sorted by its summed attribution.

    Sorted by ``Players.total(φ)`` (or its absolute value), largest first when ``descending``,
    after :func:`xaibench.tolerance.snap` (values equal to rounding are tied, rounding-level ones
    are 0). Ties are broken by ``priority`` ``(N, G)`` (:func:`tie_priority`): higher first when
    descending, and the ascending order is the exact reverse of the descending one.
    """
    scores = task.players.total(attributions)
    scores = snap(scores.abs() if magnitude else scores, attributions.dtype)
    return tiebreak_ranks(scores, priority, descending=descending)


def step_counts(n_players: int, n_steps: int, device=None) -> Tensor:
    """``(S + 1,)`` players removed after each step: ``round(t · G / S)``, S = min(n_steps, G)."""
    steps = min(int(n_steps), n_players)
    return torch.round(torch.arange(steps + 1, device=device, dtype=torch.float64) * n_players / steps).long()


def evaluate_chunked(task: "Task", x: Tensor, k: int, build: Callable[[Tensor, slice], Tensor],
                     bound: "BoundTarget | None" = None) -> Tensor:
    """``(N, K)`` target values of the perturbations ``build(x[s], s)`` ``(n, K, *F)``, a slice at a time.

    Slices hold ``max(1, task.max_batch // K)`` instances, so few perturbed rows exist in memory at
    once. The target is pinned at ``x`` once (``bound``, from ``task.bind(x)`` when not given; pass
    it to reuse the selection across calls) and each slice reuses its instances' selectors.
    """
    bound = task.bind(x) if bound is None else bound
    per_slice = max(1, task.max_batch // max(k, 1))
    out = []
    with torch.no_grad():
        for lo in range(0, x.shape[0], per_slice):
            part = slice(lo, lo + per_slice)
            out.append(bound.rows(part)(build(x[part], part)))
    return torch.cat(out) if out else x.new_zeros(0, k)


def explained_change(start: Tensor, end: Tensor) -> tuple[Tensor, Tensor]:
    """``f(x) − f(x_removed)`` per instance, and whether it is too small to normalise by.

    Degenerate when the change is rounding-level next to the outputs it is the difference of,
    ``|Δ| ≤ rtol · max(|f(x)|, |f(x_removed)|)`` (:func:`xaibench.tolerance.negligible`; exactly 0
    when both are 0): the instance has no change to explain. Relative, so ``c·f`` has the same
    degenerate instances as ``f`` for any ``c > 0``.
    """
    delta = start - end
    return delta, negligible(delta, torch.maximum(start.abs(), end.abs()))


def output_spread(task: "Task", bound: "BoundTarget") -> Tensor:
    """``(N,)`` standard deviation of ``f`` over the task's background, for each instance's pinned output.

    The natural scale of the explained output: ``f(r, s_i)`` over background rows ``r`` with the
    selector ``s_i`` chosen at instance ``i`` (evaluated once per distinct selector, so the value
    of an instance does not depend on its batch mates). Population standard deviation; 0 for a
    single background row or an output constant to rounding over the background
    (:func:`xaibench.tolerance.negligible` next to ``max |f|``).
    """
    classes, inverse = bound.selector.unique(return_inverse=True)
    background = task.background.to(bound.x.dtype)
    m = background.shape[0]
    rows = background.repeat(len(classes), *[1] * (background.dim() - 1))
    selectors = classes.repeat_interleave(m)
    with torch.no_grad():  # chunked like every pass of f, halved on out-of-memory (xaibench.chunking)
        values = torch.cat(map_chunks(lambda i, j: task.f(rows[i:j], selectors[i:j]), len(rows), task,
                                      pass_key(task, "forward", rows)))
    values = values.reshape(len(classes), m)
    spread = values.std(1, correction=0)
    spread = torch.where(negligible(spread, values.abs().amax(1)), torch.zeros_like(spread), spread)
    return spread[inverse]


def normalise_curve(curve: Tensor, start: Tensor, end: Tensor, sign: Tensor, floor: Tensor) -> tuple[Tensor, Tensor]:
    """Scale ``(N, T)`` curves of ``f`` into ``(f − f(x_removed)) / D`` with a floored denominator.

    ``D = f(x) − f(x_removed)`` when ``|D| ≥ floor``; otherwise ``sign · floor`` (``sign`` the
    curve's orientation, ±1). ``floor`` ``(N,)`` is ``min_change`` times the output's background
    spread (:func:`output_spread`): an instance whose whole change is small next to the natural
    variation of ``f`` would otherwise get unbounded normalised values and dominate every mean
    across instances. When the floor is 0 too (``f`` constant on the background) and the change is
    degenerate (:func:`explained_change`), the curve is left unnormalised, ``f − f(x_removed)``.
    Never NaN. Returns the curves and the ``(N,)`` mask of floored or degenerate instances.
    """
    delta, degenerate = explained_change(start, end)
    floored = delta.abs() < floor
    denom = torch.where(floored, sign * floor, delta)
    unnormalised = degenerate & ~(floor > 0)
    denom = torch.where(unnormalised, torch.ones_like(delta), denom)
    return (curve - end.unsqueeze(-1)) / denom.unsqueeze(-1), floored | unnormalised
