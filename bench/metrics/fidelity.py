"""Distillation fidelity: how well the explanation, used as a model, reproduces ``f``.

No existing benchmark defines these; the definitions below are ours and complete.

* ``local_fidelity`` treats φ as a linear surrogate over coalitions of players around one instance
  and reports its held-out R² (per instance).
* ``global_distillation@k`` keeps only the k players the method ranks highest over the explained
  set, trains a student on them, and reports the student's held-out R² (per held-out point).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError
from xaibench.metric import Metric, check_attributions, register_metric
from xaibench.players import mix
from xaibench.rng import derived_seed, shared_bernoulli, shared_permutation, shared_uniform
from xaibench.tensorstats import r_squared, tiebreak_ranks
from xaibench.tolerance import is_constant, snap

from ._perturb import player_scores


def _least_squares_line(s: Tensor, y: Tensor, dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
    """Per-row 1-D least squares ``y ≈ α + β s`` along the last dimension; ``β = 0`` when ``s`` is
    constant to rounding (:func:`xaibench.tolerance.is_constant`; ``dtype``: the one ``s`` was computed in)."""
    s_mean, y_mean = s.mean(-1, keepdim=True), y.mean(-1, keepdim=True)
    var = (s - s_mean).square().sum(-1, keepdim=True)
    cov = ((s - s_mean) * (y - y_mean)).sum(-1, keepdim=True)
    flat = is_constant(s, dtype=dtype).unsqueeze(-1) | (var == 0)
    beta = torch.where(flat, torch.zeros_like(var), cov / var.clamp(min=torch.finfo(var.dtype).tiny))
    return y_mean - beta * s_mean, beta


@register_metric
@dataclass(frozen=True)
class LocalFidelity(Metric):
    """Local fidelity: held-out R² of the explanation used as a linear surrogate over coalitions.

    For an instance x with player attributions Φ (φ summed within the task's groups) draw ``n``
    coalitions ``m ∈ {0, 1}^G`` with independent inclusion probability ``p`` and evaluate
    ``y_m = f(x_m)``, ``x_m = m ⊙ x + (1 − m) ⊙ b`` (b the task's baseline; the output pinned at x).
    The surrogate is ``g(m) = α + β Σ_i m_i Φ_i``: α, β are fitted per instance by closed-form 1-D
    least squares on the first ``n/2`` coalitions, and the value is R² of g on the other ``n/2``
    (``1 − SS_res/SS_tot``; may be negative; a constant held-out ``f`` gives 1 if predicted exactly
    else 0). Fitting β makes it scale-free, so gradients (whose scale is not f's) and Shapley values
    (which sum to f(x) − f(b)) compete fairly; for the exact attributions of a linear model R² = 1.
    A constant surrogate score (φ = 0, or φ constant over the coalitions' sums to rounding,
    :mod:`xaibench.tolerance`) gets β = 0, i.e. R² ≤ 0 on held-out data. Scale-free: ``c·f`` and
    ``c·φ`` give the same value for any ``c > 0``.

    Defaults: ``n_coalitions = 256``, ``p = 0.5``. Coalitions are shared by every instance
    (common random numbers, seeded from ``seed``). Higher is better.
    """

    name: ClassVar[str] = "local_fidelity"
    category: ClassVar[str] = "fidelity"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "held-out R² of Σ m_i φ_i as a linear surrogate of f over random coalitions"

    n_coalitions: int = 256
    p: float = 0.5

    def __post_init__(self) -> None:
        if self.n_coalitions < 4 or not 0 < self.p < 1:
            raise InvalidParameterError(f"local_fidelity needs n_coalitions >= 4 and 0 < p < 1, got {self.n_coalitions}, {self.p}")

    def __call__(self, task, x, attributions, method, *, seed=0):
        check_attributions(x, attributions)
        players = task.players
        coalitions = shared_bernoulli(derived_seed(seed, self.name), (self.n_coalitions, players.n), self.p,
                                      device=x.device).to(x.dtype)
        masks = players.expand(coalitions).unsqueeze(0)  # (1, n, *F)
        rows = max(1, task.max_batch // self.n_coalitions)  # instances per block: memory stays at max_batch inputs
        with torch.no_grad():
            y = torch.cat([task.bind(x[i : i + rows])(mix(x[i : i + rows], task.baseline, masks))
                           for i in range(0, x.shape[0], rows)])  # (N, n)
        score = player_scores(task, attributions.detach()) @ coalitions.T  # (N, n)
        half = self.n_coalitions // 2
        alpha, beta = _least_squares_line(score[:, :half], y[:, :half], attributions.dtype)
        return r_squared(y[:, half:], alpha + beta * score[:, half:], x.dtype)


@register_metric
@dataclass(frozen=True)
class GlobalDistillation(Metric):
    """Global distillation at k: can a student using only the method's top-k players reproduce f?

    1. Rank players by mean ``|Φ_i|`` over the explained set (Φ: attributions summed within
       groups); keep the top ``k``, i.e. all features of those players. Ties (equal to rounding,
       :func:`xaibench.tolerance.snap`) are broken at random by the metric's seed, never by player
       index, so a constant or all-zero attribution keeps a uniformly random set (chance level).
    2. Samples: the task's background rows and the explained instances, each scored with its own
       selected output, ``y = f(s, select(s))`` (for "logit of the predicted class" targets: the
       predicted-class logit of every sample; for selector-free targets simply ``f``).
    3. A seeded random split puts ``train_fraction`` of the samples in training; a student
       ``sklearn.ensemble.HistGradientBoostingRegressor(max_iter=100, early_stopping=False,
       random_state=0)`` is fitted on the kept features only.
    4. Values, one per **held-out sample** (``per_instance = False``): ``1 − (y − ŷ)² / Var(y)``,
       Var over the held-out targets, whose mean is the held-out R² — so the runner's bootstrap CI
       is over held-out points. A constant held-out y gives 1 where predicted exactly, else 0.

    Methods that found the features f really uses score high; the random control scores low.
    The student is trained on the CPU through NumPy, single-threaded (a set-level fit of a few
    hundred rows, not a hot path).
    Defaults: ``k = 5`` (capped at the number of players), ``train_fraction = 0.7``. Higher is better.
    """

    name: ClassVar[str] = "global_distillation"
    category: ClassVar[str] = "fidelity"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "held-out R² of a boosted-tree student of f trained on the top-k players by mean |φ|"
    per_instance: ClassVar[bool] = False

    k: int = 5
    train_fraction: float = 0.7

    def __post_init__(self) -> None:
        if self.k < 1 or not 0 < self.train_fraction < 1:
            raise InvalidParameterError(f"global_distillation needs k >= 1 and 0 < train_fraction < 1, got {self.k}, {self.train_fraction}")

    @property
    def label(self) -> str:
        return f"{self.name}@{self.k}"

    def __call__(self, task, x, attributions, method, *, seed=0):
        from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: PLC0415 - heavy import, used here only
        from threadpoolctl import threadpool_limits  # noqa: PLC0415 - sklearn's dependency

        check_attributions(x, attributions)
        importance = snap(player_scores(task, attributions.detach()).abs().mean(0), attributions.dtype)
        priority = shared_uniform(derived_seed(seed, "ties/" + self.name), importance.shape, device=x.device,
                                  dtype=torch.float64)
        top = tiebreak_ranks(importance, priority) < min(self.k, importance.numel())
        features = top[task.players.index]
        samples = torch.cat([task.background, x])
        with torch.no_grad():
            y = task.bind(samples)(samples).double()
        order = shared_permutation(derived_seed(seed, self.name), len(samples), device=x.device)
        n_train = min(max(2, round(self.train_fraction * len(samples))), len(samples) - 2)
        train, held = order[:n_train], order[n_train:]
        inputs = samples.reshape(len(samples), -1)[:, features].double().cpu().numpy()
        student = HistGradientBoostingRegressor(max_iter=100, early_stopping=False, random_state=0)
        with threadpool_limits(1):  # a few hundred rows: OpenMP start-up and contention cost more than they save
            student.fit(inputs[train.cpu().numpy()], y[train].cpu().numpy())
            predicted = torch.as_tensor(student.predict(inputs[held.cpu().numpy()]), device=x.device)
        target = y[held]
        residual = (target - predicted).square()
        var = (target - target.mean()).square().mean()
        if var > 0 and not is_constant(target, dtype=x.dtype):
            terms = 1 - residual / var
        else:  # a constant held-out target: 1 where predicted to rounding, else 0
            terms = is_constant(torch.stack([target, predicted], -1), dtype=x.dtype).double()
        return terms.to(x.dtype)
