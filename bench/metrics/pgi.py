"""``pgi`` / ``pgu``: prediction gaps on (un)important players (OpenXAI; Agarwal et al. 2022)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError
from xaibench.metric import Metric, check_attributions, register_metric
from xaibench.rng import derived_seed, shared_normal

from ._removal import evaluate_chunked, player_ranks, tie_priority

if TYPE_CHECKING:
    from xaibench.task import Task


def k_grid(n_players: int, k_fraction: float, max_points: int, device=None) -> Tensor:
    """The top-k sizes evaluated: every k in 1..K when K ≤ ``max_points``, else ``max_points`` evenly spaced.

    ``K = ceil(k_fraction · G)`` (OpenXAI's ``convert_k_to_int`` for a fractional k).
    """
    top = max(1, math.ceil(k_fraction * n_players))
    if top <= max_points:
        return torch.arange(1, top + 1, device=device)
    return torch.unique(torch.round(torch.linspace(1, top, max_points, device=device, dtype=torch.float64)).long())


@dataclass(frozen=True)
class _PredictionGap(Metric):
    """Shared definition of PGI and PGU (see :class:`PGI`)."""

    category: ClassVar[str] = "faithfulness"
    perturb_important: ClassVar[bool]
    min_players: ClassVar[int] = 2

    sigma: float = 0.05
    n_samples: int = 100
    k_fraction: float = 0.25
    max_points: int = 20

    def __post_init__(self) -> None:
        if not self.sigma > 0 or self.n_samples < 1 or self.max_points < 2:
            raise InvalidParameterError(f"{self.name}: need sigma > 0, n_samples >= 1, max_points >= 2; "
                                        f"got {self.sigma}, {self.n_samples}, {self.max_points}")
        if not 0 < self.k_fraction <= 1:
            raise InvalidParameterError(f"{self.name}: k_fraction must be in (0, 1], got {self.k_fraction}")

    def noise(self, task: "Task", seed: int) -> Tensor:
        """The ``(n_samples, *F)`` Gaussian noise this call adds (shared by every instance)."""
        shape = (self.n_samples, *task.feature_shape)
        eps = shared_normal(derived_seed(seed, "prediction_gap"), shape, device=task.device)
        return self.sigma * eps.to(task.dtype)

    def __call__(self, task, x, attributions, method, *, seed=0) -> Tensor:
        check_attributions(x, attributions)
        return self.score(task, x, attributions, self.noise(task, seed), seed=seed)

    def gaps(self, task: "Task", x: Tensor, attributions: Tensor, eps: Tensor, ks: Tensor, *, seed: int = 0) -> Tensor:
        """``(N, len(ks))`` mean absolute prediction gap for each top-k size in ``ks``."""
        players = task.players
        ranks = player_ranks(task, attributions, tie_priority(x, players.n, seed, "prediction_gap"), magnitude=True)
        n_k, n_s = ks.numel(), eps.shape[0]

        def build(xs: Tensor, part: slice) -> Tensor:
            top = ranks[part].unsqueeze(1) < ks.reshape(1, -1, 1)  # (n, n_k, G): among the top k
            moved = players.expand((top if self.perturb_important else ~top).to(xs.dtype))  # (n, n_k, *F)
            z = xs[:, None, None] + moved.unsqueeze(2) * eps.to(xs.dtype)  # (n, n_k, S, *F)
            return torch.cat([xs.unsqueeze(1), z.reshape(xs.shape[0], n_k * n_s, *xs.shape[1:])], 1)

        values = evaluate_chunked(task, x, 1 + n_k * n_s, build)
        return (values[:, 1:] - values[:, :1]).abs().reshape(-1, n_k, n_s).mean(-1)

    def score(self, task: "Task", x: Tensor, attributions: Tensor, eps: Tensor, *, seed: int = 0) -> Tensor:
        """The metric for given noise ``eps`` ``(S, *F)`` (the agreement test passes OpenXAI the same);
        ``seed`` breaks ties in the top-k."""
        ks = k_grid(task.players.n, self.k_fraction, self.max_points, device=x.device)
        gaps = self.gaps(task, x, attributions, eps, ks, seed=seed)
        if ks.numel() == 1:
            return gaps[:, 0]
        axis = (ks - 1).to(gaps.dtype) / (ks[-1] - 1)
        return torch.trapezoid(gaps, axis, dim=-1)


@register_metric
@dataclass(frozen=True)
class PGI(_PredictionGap):
    """Prediction Gap on Important features: noise on the top-k players changes f a lot; higher is better.

    Agarwal et al. 2022, "OpenXAI: Towards a Transparent Evaluation of Model Explanations"
    (NeurIPS Datasets & Benchmarks), §3::

        PGI_k(x) = E_ε | f(x) − f(x + ε ⊙ 1[T_k]) |,        ε ~ N(0, σ²) per feature,

    ``T_k`` the top-k players by ``|Φ_g|`` (attribution magnitude summed within the player). Ties
    (equal ``|Φ_g|`` up to rounding, :func:`xaibench.tolerance.snap`) are broken at random,
    independently per instance, by the metric's seed — never by player index — so a constant or
    all-zero attribution scores the chance level (a uniformly random top-k). Reported as the area
    under ``PGI_k`` for ``k = 1..K``, ``K = ⌈k_fraction · G⌉``, against ``(k − 1)/(K − 1)`` on [0, 1] (OpenXAI's ``AUC=True``; a single k when K = 1).
    ``pgu`` perturbs the complement of ``T_k`` instead (lower is better).

    Defaults: ``sigma=0.05`` and ``n_samples=100`` (OpenXAI's ``NormalPerturbation`` and
    ``n_samples``), ``k_fraction=0.25``, ``max_points=20``: when K exceeds it the area is taken
    over 20 evenly spaced k (non-uniform trapezoid) instead of every k, to bound the cost on images.

    Source and its history (AI4LIFE-GROUP/OpenXAI, ``openxai/metrics.py``, ``eval_pred_faithfulness``
    and ``_single_idx_pred_faith`` at commit 56f05c480d1c3777bfc1953b2ecf34400627a8bf): the mask
    from ``generate_mask`` marks the features a ``NormalPerturbation`` keeps *static*. Early
    versions (``openxai/experiment_utils.py`` at 0afe4af97fcc52edc636655df5832db1f0d709f8) set it
    True on the top-k (by signed φ), so "PGI" perturbed the unimportant features and "PGU" the
    important ones — the masks were swapped; later ``generate_mask`` sets it False on the top-k by
    ``|φ|``, which is the paper's definition and ours.

    Other differences: OpenXAI scores column 0 of the model's probability output; we score the
    task's target pinned at x (on a binary task |Δp₀| = |Δp₁|, so with the ``prob`` target the
    two agree). OpenXAI seeds its noise with the instance's index in the batch (a value depends
    on its position) and flips discrete features with a probability instead; we draw one
    Gaussian ``ε`` per call from the seed, shared by every instance and every k
    (batch-independent, smoother in k), on every feature, one-hot columns included.
    """

    name: ClassVar[str] = "pgi"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "prediction gap under noise on the top-k players, AUC over k (OpenXAI)"
    perturb_important: ClassVar[bool] = True


@register_metric
@dataclass(frozen=True)
class PGU(_PredictionGap):
    """Prediction Gap on Unimportant features: noise off the top-k players leaves f unchanged; lower is better.

    Agarwal et al. 2022 (OpenXAI), §3: ``PGU_k(x) = E_ε | f(x) − f(x + ε ⊙ 1[not T_k]) |`` with
    ``T_k`` the top-k players by ``|Φ_g|``, reported as the area over ``k = 1..K`` exactly as
    :class:`PGI` (same defaults, the same noise, the same source and mask history: here the
    *complement* of the top-k is perturbed). For a model that ignores every player outside
    ``T_k``, PGU_k is 0.
    """

    name: ClassVar[str] = "pgu"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "prediction gap under noise off the top-k players, AUC over k (OpenXAI)"
    perturb_important: ClassVar[bool] = False
