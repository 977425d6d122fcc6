"""LIME (Ribeiro, Singh & Guestrin 2016, "Why should I trust you?", KDD), batched on the task's device.

For every explained instance ``x``, LIME draws ``K = n_samples`` points around it (the first is
``x`` itself), maps each to interpretable binary (or standardised) features ``z``, weights it by
``π(z) = sqrt(exp(−D(z, z₀)² / w²))`` and fits a weighted ridge regression ``f ≈ α + βᵀz``
(intercept unpenalised), minimising ``Σₖ πₖ (f(pₖ) − α − βᵀzₖ)² + λ‖β‖²``. The attribution of
a feature is its coefficient ``β`` (for groups, ``Players.spread``: the group's coefficient
divided evenly over its features). We follow the lime package (0.2.0.1) conventions so that
``lime`` and ``lime_ref`` agree; every default below is lime's unless marked *ours*.

**Tabular mode** (``LimeTabularExplainer``; tasks without groups, kind tabular or latent):

* ``discretizer="quartile"`` (lime's ``discretize_continuous=True``): per feature the bin edges
  are the 25/50/75th percentiles of ``task.background`` (linear interpolation, as
  ``np.percentile``); bin of ``v`` = number of edges ``< v`` (``np.searchsorted``, left).
  A sample draws each feature's bin from the background's bin frequencies and its value from a
  normal with that bin's background mean and (population) std, truncated to the bin
  ``[min, edge₁], (edge₁, edge₂], …, (edge₃, max]``. ``z_j = 1`` when the sampled bin equals
  ``x``'s bin ("same bin as x"), ``D`` is the Euclidean distance between ``z`` and ``z₀ = 1``,
  kernel width ``w = 0.75·√d``. ``"decile"`` uses the 10/20/…/90th percentiles.
* ``discretizer="none"`` (``discretize_continuous=False``): ``p = ε·σ + μ`` with ``ε ~ N(0, I)``,
  μ, σ the background mean and population std (a zero std counts as 1, as ``StandardScaler``),
  centred on ``x`` instead of μ when ``sample_around_instance``; ``z = (p − μ)/σ``, Euclidean ``D``.

**Segments mode** (``LimeImageExplainer`` with the task's groups as the segmentation; tasks with
groups, images and sequences): ``z ~ Bernoulli(½)`` per group, a switched-off group takes
``task.baseline`` (*ours*: lime_image fills it with the segment's mean colour by default; the
benchmark's notion of "absent" is the task baseline, and ``lime_ref`` is given the same
``hide_color``), ``D`` the cosine distance between ``z`` and ``1`` (``1 − √(|z|/G)``, and 1 for
the empty coalition, as sklearn), width ``w = 0.25``.

Differences from the lime package, and why:

* All features enter the regression by default (``num_features=None``). lime reports 10 features
  by default (``num_features=10``, ``feature_selection="auto"``); a benchmark needs a full
  attribution. With ``num_features=k`` we keep the ``k`` features of largest ``|β·z₀|`` under a
  ridge with λ = 0.01 and refit on them (lime's ``"highest_weights"``, which its ``"auto"`` uses
  for ``k > 6``; for ``k ≤ 6`` lime's ``"auto"`` runs forward selection, which we do not).
* Randomness is drawn once per call and **shared by every instance of the batch** (common random
  numbers, :func:`xaibench.rng.generator`): each instance's neighbourhood has exactly lime's
  distribution, and no instance depends on its batch-mates. In tabular mode the sampled points
  then do not depend on ``x`` (only ``z₀``, the binary encoding and the weights do), so ``f`` is
  evaluated once per *distinct output selector* (class) rather than once per instance — the
  same numbers with up to N× fewer forward passes.
* lime's undiscretizer returns the *standardised* lower bound ``(min − mean)/std`` (≈ 0) instead of
  a value when a bin's min equals its max (a bin holding one repeated value); we return the value.
* The neighbourhood weights and the ridge normal equations are formed in float64 and all ``N``
  systems are solved with one batched ``torch.linalg.solve`` (sklearn's Ridge solves the same
  system per instance, also in float64).

Defaults: ``n_samples=5000`` (LimeTabularExplainer's; lime_image's is 1000, we keep one budget),
``alpha=1`` (lime's ``Ridge(alpha=1)``), ``kernel_width=None`` (0.75·√d tabular, 0.25 segments).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError, NotApplicableError
from xaibench.method import Method, register_method
from xaibench.players import mix
from xaibench.rng import generator
from xaibench.task import BoundTarget, Task
from xaibench.tensorstats import topk_mask

MODES = ("auto", "tabular", "segments")
DISCRETIZERS = {"quartile": (25.0, 50.0, 75.0), "decile": tuple(10.0 * i for i in range(1, 10)), "none": ()}
TABULAR_WIDTH_FACTOR = 0.75  # lime_tabular: kernel_width = 0.75 * sqrt(n_columns)
SEGMENTS_WIDTH = 0.25  # lime_image: kernel_width = 0.25
SELECTION_ALPHA = 0.01  # lime_base "highest_weights": Ridge(alpha=0.01) on all features


@register_method
@dataclass(frozen=True)
class Lime(Method):
    """LIME with lime's sampling, kernel and ridge conventions, batched (see the module docstring).

    Args:
        n_samples: neighbourhood size K per instance, the instance itself included.
        mode: ``"auto"`` (tabular for ungrouped tabular/latent tasks, else segments),
            ``"tabular"`` or ``"segments"``.
        discretizer: tabular mode: ``"quartile"``, ``"decile"`` or ``"none"`` (continuous).
        sample_around_instance: tabular mode with ``discretizer="none"``: centre samples on ``x``.
        kernel_width: ``w``; ``None`` for lime's default of the mode.
        alpha: ridge penalty λ.
        num_features: keep only this many features (lime's ``"highest_weights"``); ``None``: all.
    """

    name: ClassVar[str] = "lime"
    family: ClassVar[str] = "perturbation"
    description: ClassVar[str] = "LIME (Ribeiro et al. 2016): kernel-weighted ridge on lime's neighbourhood, batched"
    stochastic: ClassVar[bool] = True

    n_samples: int = 5000
    mode: str = "auto"
    discretizer: str = "quartile"
    sample_around_instance: bool = False
    kernel_width: float | None = None
    alpha: float = 1.0
    num_features: int | None = None

    def __post_init__(self) -> None:
        if self.n_samples < 2:
            raise InvalidParameterError(f"{self.name}: n_samples must be at least 2 (the instance and one sample), got {self.n_samples}")
        if self.mode not in MODES:
            raise InvalidParameterError(f"{self.name}: mode must be one of {MODES}, got {self.mode!r}")
        if self.discretizer not in DISCRETIZERS:
            raise InvalidParameterError(f"{self.name}: discretizer must be one of {tuple(DISCRETIZERS)}, got {self.discretizer!r}")
        if self.kernel_width is not None and not self.kernel_width > 0:
            raise InvalidParameterError(f"{self.name}: kernel_width must be positive (or None for lime's default)")
        if not self.alpha > 0:
            raise InvalidParameterError(f"{self.name}: alpha must be positive (the ridge system is singular otherwise)")
        if self.num_features is not None and self.num_features < 1:
            raise InvalidParameterError(f"{self.name}: num_features must be at least 1, or None for all features")

    # -- conventions shared with lime_ref ---------------------------------------------------
    def resolved_mode(self, task: Task) -> str:
        if self.mode != "auto":
            return self.mode
        return "tabular" if task.groups is None and task.kind in ("tabular", "latent") else "segments"

    def resolved_kernel_width(self, task: Task) -> float:
        if self.kernel_width is not None:
            return float(self.kernel_width)
        if self.resolved_mode(task) == "tabular":
            return TABULAR_WIDTH_FACTOR * math.sqrt(task.n_features)
        return SEGMENTS_WIDTH

    def check(self, task: Task) -> None:
        super().check(task)
        if self.resolved_mode(task) == "tabular" and task.groups is not None:
            raise NotApplicableError(
                f"{self.name}: mode='tabular' perturbs single features but {task.name} groups its features; "
                "use mode='segments' (or 'auto') to switch groups on and off together"
            )

    # -- explanation ------------------------------------------------------------------------
    def explain(self, task: Task, x: Tensor, *, seed: int = 0) -> Tensor:
        self.check(task)
        with torch.no_grad():
            bound = task.bind(x)
            if self.resolved_mode(task) == "tabular":
                z, weights, y = self._tabular_neighbourhood(task, bound, seed)
            else:
                z, weights, y = self._segments_neighbourhood(task, bound, seed)
            coef, _ = self._fit(z, y, weights)
            coef = coef.to(x.dtype)
            if self.resolved_mode(task) == "tabular":
                return coef.reshape(x.shape)
            return task.players.spread(coef)

    def _fit(self, z: Tensor, y: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
        """Ridge on all interpretable features, or on the ``num_features`` lime would keep."""
        if self.num_features is not None and self.num_features < z.shape[-1]:
            coef, _ = weighted_ridge(z, y, weights, SELECTION_ALPHA)
            keep = topk_mask((coef * z[:, 0]).abs(), self.num_features)
            z = z * keep.unsqueeze(1).to(z.dtype)  # a zeroed column gets coefficient exactly 0
        return weighted_ridge(z, y, weights, self.alpha)

    def _tabular_neighbourhood(self, task: Task, bound: BoundTarget, seed: int) -> tuple[Tensor, Tensor, Tensor]:
        x = bound.x.reshape(bound.n, -1).double()
        g = generator(seed, task.device)
        k = self.n_samples - 1
        if self.discretizer == "none":
            background = task.background.reshape(task.background.shape[0], -1).double()
            mean = background.mean(0)
            scale = background.std(0, unbiased=False)
            scale = torch.where(scale < 10 * torch.finfo(scale.dtype).eps, torch.ones_like(scale), scale)
            noise = torch.randn(k, x.shape[1], generator=g, device=x.device, dtype=x.dtype)
            points = noise * scale + (x.unsqueeze(1) if self.sample_around_instance else mean)
            z = ((torch.cat([x.unsqueeze(1), points.expand(bound.n, k, -1)], 1) - mean) / scale).to(task.dtype)
            distance = (z - z[:, :1]).norm(dim=-1)
        else:
            bins = QuantileBins.fit(task.background.reshape(task.background.shape[0], -1), DISCRETIZERS[self.discretizer])
            sampled = bins.sample(k, g)
            points = bins.undiscretize(sampled, torch.rand(sampled.shape, generator=g, device=x.device, dtype=x.dtype))
            z = torch.ones(bound.n, self.n_samples, x.shape[1], dtype=task.dtype, device=task.device)
            z[:, 1:] = sampled.unsqueeze(0) == bins.digitize(x).unsqueeze(1)  # 1 where the sampled bin is x's bin
            distance = (z.shape[-1] - z.sum(-1)).sqrt()  # Euclidean distance to z0 = 1
        weights = lime_kernel(distance, self.resolved_kernel_width(task))
        points = points.to(task.dtype).reshape(*points.shape[:-1], *task.feature_shape)
        rest = evaluate_shared(bound, points) if points.dim() == 1 + len(task.feature_shape) else bound(points)
        return z, weights, torch.cat([bound(bound.x).unsqueeze(1), rest], 1)

    def _segments_neighbourhood(self, task: Task, bound: BoundTarget, seed: int) -> tuple[Tensor, Tensor, Tensor]:
        players = task.players
        g = generator(seed, task.device)
        on = torch.randint(0, 2, (self.n_samples - 1, players.n), generator=g, device=task.device).to(task.dtype)
        masks = players.expand(on).unsqueeze(0)  # (1, K-1, *F), broadcast over instances
        y_rest = evaluate_chunked(bound, lambda rows: mix(bound.x, task.baseline, masks[:, rows]), on.shape[0])
        z = torch.cat([torch.ones_like(on[:1]), on]).unsqueeze(0)  # (1, K, G): one design shared by every instance
        distance = 1 - (z.sum(-1) / players.n).sqrt()  # cosine distance to z0 = 1 (1 for the empty coalition)
        weights = lime_kernel(distance, self.resolved_kernel_width(task))
        return z, weights, torch.cat([bound(bound.x).unsqueeze(1), y_rest], 1)


def lime_kernel(distance: Tensor, width: float) -> Tensor:
    """lime's default kernel ``sqrt(exp(−D² / w²))``."""
    return torch.exp(-distance.square() / (2 * width**2))


def weighted_ridge(z: Tensor, y: Tensor, weights: Tensor, alpha: float) -> tuple[Tensor, Tensor]:
    """Weighted ridge with unpenalised intercept (sklearn ``Ridge(alpha).fit(z, y, sample_weight)``), batched.

    ``z`` is ``(B, K, p)`` and ``weights`` ``(B, K)`` with ``B`` either ``N`` or 1 (one design shared
    by every instance), ``y`` is ``(N, K)``. Solves ``(Z̃ᵀWZ̃ + λI) β = Z̃ᵀW ỹ`` where ``Z̃, ỹ`` are
    centred on their weighted means (the intercept ``ȳ − z̄ᵀβ`` is then unpenalised, as sklearn).
    The weighted moments ``ZᵀWZ``, ``ZᵀWy`` are one batched matmul in ``z``'s dtype (``y`` shifted
    by its row mean first, so no digits are lost to a large offset); centring and the solve are in
    float64, one batched ``torch.linalg.solve``, a shared design factorised once for all instances.
    Returns ``(coef (N, p), intercept (N,))`` in float64.
    """
    shift = y.mean(-1, keepdim=True)
    y = y - shift
    p = z.shape[-1]
    total = weights.sum(-1).double()  # (B,)
    if z.shape[0] == 1:  # one design: (p, p) moments once, (N, p) right-hand sides by one matmul
        zw = z[0] * weights[0].unsqueeze(-1)
        z_sum, zz, zy, y_sum = zw.sum(0, keepdim=True), (zw.T @ z[0]).unsqueeze(0), y @ zw, y @ weights[0]
    else:  # [z, y]ᵀ W [z, y] in one batched matmul
        zy_cols = torch.cat([z, y.unsqueeze(-1)], -1)
        zw = zy_cols * weights.unsqueeze(-1)
        moments = zw.transpose(-1, -2) @ zy_cols  # (N, p + 1, p + 1)
        sums = zw.sum(-2)
        z_sum, zz, zy, y_sum = sums[:, :p], moments[:, :p, :p], moments[:, :p, p], sums[:, p]
    z_mean = z_sum.double() / total.unsqueeze(-1)  # (B, p)
    y_mean = y_sum.double() / total  # (N,)
    eye = torch.eye(z.shape[-1], dtype=torch.float64, device=z.device)
    gram = zz.double() - total[:, None, None] * z_mean.unsqueeze(-1) * z_mean.unsqueeze(-2) + alpha * eye
    rhs = zy.double() - total.unsqueeze(-1) * z_mean * y_mean.unsqueeze(-1)  # Σ w (z − z̄)(y − ȳ)
    coef = torch.linalg.solve(gram[0], rhs.T).T if z.shape[0] == 1 else torch.linalg.solve(gram, rhs)
    return coef, shift.squeeze(-1).double() + y_mean - (z_mean * coef).sum(-1)


def evaluate_shared(bound: BoundTarget, points: Tensor) -> Tensor:
    """``f`` at the same points ``(K, *F)`` for every instance of ``bound`` → ``(N, K)``.

    Evaluates once per distinct selector (output class) among the instances, not once per
    instance: ``f(p, s)`` depends on the instance only through ``s``.
    """
    selectors, which = torch.unique(bound.selector, return_inverse=True)
    first = torch.full_like(selectors, bound.n).scatter_reduce(0, which, torch.arange(bound.n, device=which.device), "amin")
    representatives = bound.task.bind(bound.x[first])
    values = representatives(points.unsqueeze(0).expand(len(first), *points.shape))
    return values[which]


def evaluate_chunked(bound: BoundTarget, make_points: Callable[[slice], Tensor], n_points: int) -> Tensor:
    """``f`` at ``(N, K, *F)`` perturbations built ``max_batch`` rows at a time (bounded memory) → ``(N, K)``."""
    step = max(1, bound.task.max_batch // bound.n)
    return torch.cat([bound(make_points(slice(i, i + step))) for i in range(0, n_points, step)], 1)


@dataclass(frozen=True)
class QuantileBins:
    """lime's percentile discretizer (``QuartileDiscretizer``/``DecileDiscretizer``) fitted on data.

    ``edges`` ``(d, q)`` are the inner bin edges; per bin ``(d, q + 1)``: ``low``/``high`` bounds
    (data min, edges, data max), ``mean``/``std`` of the data in the bin (population std + 1e-11,
    mean 0 for an empty bin, as lime) and ``freq`` (fraction of the data in the bin).
    """

    edges: Tensor
    low: Tensor
    high: Tensor
    mean: Tensor
    std: Tensor
    freq: Tensor

    @classmethod
    def fit(cls, data: Tensor, percentiles: tuple[float, ...]) -> QuantileBins:
        data = data.double()
        q = torch.tensor(percentiles, dtype=data.dtype, device=data.device) / 100
        edges = torch.quantile(data, q, dim=0).T.contiguous()  # (d, q), linear interpolation as np.percentile
        member = torch.nn.functional.one_hot(cls.digitize_with(edges, data), len(percentiles) + 1).to(data.dtype)
        count = member.sum(0)  # (d, q + 1)
        mean = (member * data.unsqueeze(-1)).sum(0) / count.clamp(min=1)
        var = (member * (data.unsqueeze(-1) - mean).square()).sum(0) / count.clamp(min=1)
        return cls(
            edges=edges,
            low=torch.cat([data.min(0).values.unsqueeze(1), edges], 1),
            high=torch.cat([edges, data.max(0).values.unsqueeze(1)], 1),
            mean=mean,
            std=var.sqrt() + 1e-11,
            freq=count / data.shape[0],
        )

    @staticmethod
    def digitize_with(edges: Tensor, x: Tensor) -> Tensor:
        """Bin index of ``x`` ``(..., d)``: the number of edges strictly below (``np.searchsorted``, left)."""
        return (x.unsqueeze(-1) > edges).sum(-1)

    def digitize(self, x: Tensor) -> Tensor:
        return self.digitize_with(self.edges, x.double())

    def sample(self, k: int, g: torch.Generator) -> Tensor:
        """``(k, d)`` bins drawn independently per feature from the data's bin frequencies."""
        return torch.multinomial(self.freq, k, replacement=True, generator=g).T

    def undiscretize(self, bins: Tensor, u: Tensor) -> Tensor:
        """Values in the given bins: the bin's normal truncated to the bin, by inverse CDF of uniforms ``u``."""
        pick = lambda t: t.gather(1, bins.T).T  # noqa: E731 - (d, q+1) per-bin table -> (k, d)
        low, high, mean, std = pick(self.low), pick(self.high), pick(self.mean), pick(self.std)
        a, b = (low - mean) / std, (high - mean) / std
        value = mean + std * truncated_standard_normal(a, b, u.double())
        return torch.where(a < b, value.clamp(low, high), low)


def truncated_standard_normal(a: Tensor, b: Tensor, u: Tensor) -> Tensor:
    """Inverse-CDF draw from N(0, 1) truncated to ``[a, b]``, computed in the tail nearer 0 for precision."""
    upper = a > 0  # mirror an upper-tail interval to the lower tail, where Φ keeps its digits
    lo, hi = torch.where(upper, -b, a), torch.where(upper, -a, b)
    p_lo, p_hi = torch.special.ndtr(lo), torch.special.ndtr(hi)
    t = torch.special.ndtri(p_lo + u * (p_hi - p_lo))
    return torch.where(upper, -t, t)
