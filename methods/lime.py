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
  μ, σ the background mean and population std (a std that is zero to rounding counts as 1, as
  ``StandardScaler``'s; "to rounding" relative to the feature's magnitude, :mod:`xaibench.tolerance`),
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
  for ``k > 6``; for ``k ≤ 6`` lime's ``"auto"`` runs forward selection, which we do not). Weights
  equal to rounding tie, and ties are broken at random per instance by the seed (lime's
  ``np.argsort`` breaks them by column index).
* Randomness is drawn once per call and **shared by every instance of the batch** (common random
  numbers, :mod:`xaibench.rng`'s shared draws: the same numbers on every device and in every
  dtype): each instance's neighbourhood has exactly lime's
  distribution, and no instance depends on its batch-mates. In tabular mode the sampled points
  then do not depend on ``x`` (only ``z₀``, the binary encoding and the weights do), so ``f`` is
  evaluated once per *distinct output selector* (class) rather than once per instance — the
  same numbers with up to N× fewer forward passes.
* lime's undiscretizer returns the *standardised* lower bound ``(min − mean)/std`` (≈ 0) instead of
  a value when a bin's min equals its max (a bin holding one repeated value); we return the value.
* The ridge is solved from weighted moments: every instance's ``[z, 1, y]ᵀ W [z, 1, y]`` is one
  batched matmul in the task's dtype (at least float32; ``y`` shifted by its mean first, ``z`` is
  0/1 or standardised, so no digits are lost), centred and solved in float64 with one batched
  ``torch.linalg.solve`` — the normal equations sklearn's ``Ridge`` solves per instance. A design
  shared by every instance (segments mode) is factorised once for all right-hand sides.

Defaults: ``n_samples=5000`` (LimeTabularExplainer's; lime_image's is 1000, we keep one budget),
``alpha=1`` (lime's ``Ridge(alpha=1)``), ``kernel_width=None`` (0.75·√d tabular, 0.25 segments).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError, NotApplicableError
from xaibench.method import Method, register_method
from xaibench.players import mix
from xaibench.rng import instance_uniform, shared_bernoulli, shared_categorical, shared_normal, shared_uniform
from xaibench.task import BoundTarget, Task
from xaibench.tensorstats import topk_mask
from xaibench.tolerance import is_constant, snap

MODES = ("auto", "tabular", "segments")
DISCRETIZERS = {"quartile": (25.0, 50.0, 75.0), "decile": tuple(10.0 * i for i in range(1, 10)), "none": ()}
TABULAR_WIDTH_FACTOR = 0.75  # lime_tabular: kernel_width = 0.75 * sqrt(n_columns)
SEGMENTS_WIDTH = 0.25  # lime_image: kernel_width = 0.25
SELECTION_ALPHA = 0.01  # lime_base "highest_weights": Ridge(alpha=0.01) on all features
TIE_STREAM = 0x71E5  # stream of the per-instance priorities that break ties in the num_features selection
BIN_STREAM, VALUE_STREAM = 1, 2  # streams of the sampled bins and of the values drawn within them (tabular)


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
            tabular = self.resolved_mode(task) == "tabular"
            moments = self._tabular_moments(task, bound, seed) if tabular else self._segments_moments(task, bound, seed)
            if self.num_features is not None and self.num_features < moments.n_features:
                coef, _ = moments.solve(SELECTION_ALPHA)  # lime's "highest_weights": top-k of |β·z₀|
                weight = snap((coef * moments.first).abs(), task.dtype)
                priority = instance_uniform(x, seed, (weight.shape[-1],), stream=TIE_STREAM, dtype=torch.float64)
                moments = moments.restrict(topk_mask(weight, self.num_features, priority))
            coef, _ = moments.solve(self.alpha)
            coef = coef.to(x.dtype)
            return coef.reshape(x.shape) if tabular else task.players.spread(coef)

    def _tabular_moments(self, task: Task, bound: BoundTarget, seed: int) -> RidgeMoments:
        """lime_tabular's neighbourhood of every instance, encoded features-major in one buffer."""
        x = bound.x.reshape(bound.n, -1).double()
        n, d, k = bound.n, x.shape[1], self.n_samples - 1
        work = torch.promote_types(task.dtype, torch.float32)  # dtype of the moments' matmul
        if self.discretizer == "none":
            design = torch.empty(n, d + 2, self.n_samples, dtype=work, device=task.device)  # rows: z, 1, y
            background = task.background.reshape(task.background.shape[0], -1).double()
            mean, scale = background.mean(0), background.std(0, unbiased=False)
            constant = is_constant(background.T, dtype=task.dtype)  # to rounding, relative to |values|
            scale = torch.where(constant | (scale == 0), torch.ones_like(scale), scale)
            noise = shared_normal(seed, (k, d), device=x.device).to(x.dtype)  # z of a sample, ε ~ N(0, I)
            first = (x - mean) / scale
            design[:, :d, 0] = first
            if self.sample_around_instance:
                points = (noise * scale).unsqueeze(0) + x.unsqueeze(1)
                design[:, :d, 1:] = noise.T.unsqueeze(0) + first.unsqueeze(-1)
                distance = noise.norm(dim=-1).expand(n, k)
            else:
                points = noise * scale + mean
                design[:, :d, 1:] = noise.T
                distance = torch.cdist(first, noise)
        else:
            bins = QuantileBins.fit(task.background.reshape(task.background.shape[0], -1), DISCRETIZERS[self.discretizer])
            sampled = bins.sample(k, seed)
            u = shared_uniform(seed, sampled.shape, device=x.device, stream=VALUE_STREAM)
            points = bins.undiscretize(sampled, u)
            own = bins.digitize(x)
            first = torch.ones_like(x)
            design = bins.same_bin_design(own, sampled, work)  # rows: z = 1{sampled bin = x's bin}, 1, (y)
            distance = (d - bins.matches(own, sampled)).sqrt()  # Euclidean distance to z₀ = 1
        weights = lime_kernel(torch.cat([torch.zeros_like(distance[:, :1]), distance], 1), self.resolved_kernel_width(task))
        points = points.to(task.dtype).reshape(*points.shape[:-1], *task.feature_shape)
        if points.dim() == 1 + len(task.feature_shape):  # the same points for every instance
            values, which = evaluate_per_selector(bound, points)
            rest = values[which]
        else:
            rest = bound(points)
        y = torch.cat([bound(bound.x).unsqueeze(1), rest], 1)
        shift = y.mean(-1)  # y enters the moments shifted, so a large offset costs no digits
        design[:, d] = 1
        design[:, d + 1] = y - shift.unsqueeze(-1)
        return RidgeMoments.from_design(design, weights.to(work), shift, first)

    def _segments_moments(self, task: Task, bound: BoundTarget, seed: int) -> RidgeMoments:
        """lime_image's neighbourhood over the task's groups; one binary design shared by every instance."""
        players = task.players
        on = shared_bernoulli(seed, (self.n_samples - 1, players.n), device=task.device).to(task.dtype)
        masks = players.expand(on).unsqueeze(0)  # (1, K-1, *F), broadcast over instances
        y_rest = evaluate_chunked(bound, lambda rows: mix(bound.x, task.baseline, masks[:, rows]), on.shape[0])
        work = torch.promote_types(task.dtype, torch.float32)  # dtype of the moments' matmuls
        z = torch.cat([torch.ones_like(on[:1]), on]).to(work)  # (K, G)
        distance = 1 - (z.sum(-1) / players.n).sqrt()  # cosine distance to z₀ = 1 (1 for the empty coalition)
        weights = lime_kernel(distance, self.resolved_kernel_width(task))
        return RidgeMoments.shared(z, weights, torch.cat([bound(bound.x).unsqueeze(1), y_rest], 1).to(work))


def lime_kernel(distance: Tensor, width: float) -> Tensor:
    """lime's default kernel ``sqrt(exp(−D² / w²))``."""
    return torch.exp(-distance.square() / (2 * width**2))


@dataclass(frozen=True)
class RidgeMoments:
    """Weighted sums behind ``Ridge(alpha).fit(z, y, sample_weight=w)`` for a batch of instances (float64).

    ``total = Σw`` ``(B,)``, ``z_sum = Σwz`` ``(B, p)``, ``zz = ΣwzzᵀΣ`` ``(B, p, p)`` with ``B`` either
    ``N`` or 1 (one design shared by every instance); ``y_sum = Σwỹ`` ``(N,)``, ``zy = Σwzỹ`` ``(N, p)``
    with ``ỹ = y − shift``; ``first`` ``(B, p)`` is the instance's own encoding ``z₀``.
    """

    total: Tensor
    z_sum: Tensor
    zz: Tensor
    y_sum: Tensor
    zy: Tensor
    shift: Tensor
    first: Tensor

    @property
    def n_features(self) -> int:
        return self.zz.shape[-1]

    @classmethod
    def from_design(cls, design: Tensor, weights: Tensor, shift: Tensor, first: Tensor) -> RidgeMoments:
        """Per-instance designs ``(N, p + 2, K)`` whose rows are ``z``, ones, ``y − shift``: one batched matmul.

        ``design`` is scaled by ``√w`` in place (it is a scratch buffer), so the moments are ``D Dᵀ``.
        """
        p = design.shape[1] - 2
        design *= weights.sqrt().unsqueeze(1)
        m = (design @ design.transpose(1, 2)).double()
        return cls(m[:, p, p], m[:, :p, p], m[:, :p, :p], m[:, p, p + 1], m[:, :p, p + 1], shift.double(), first.double())

    @classmethod
    def shared(cls, z: Tensor, weights: Tensor, y: Tensor) -> RidgeMoments:
        """One design ``z`` ``(K, p)`` with weights ``(K,)`` for every instance's responses ``y`` ``(N, K)``."""
        shift = y.mean(-1, keepdim=True)
        y = y - shift
        zw = z * weights.unsqueeze(-1)
        return cls(weights.sum().double().reshape(1), zw.sum(0).double().unsqueeze(0), (zw.T @ z).double().unsqueeze(0),
                   (y @ weights).double(), (y @ zw).double(), shift.squeeze(-1).double(), z[:1].double())

    def restrict(self, keep: Tensor) -> RidgeMoments:
        """The moments with only the features ``keep`` ``(N, p)`` (bool): a dropped feature's coefficient solves to 0."""
        m = keep.to(torch.float64)
        return dataclasses.replace(self, z_sum=self.z_sum * m, zz=self.zz * m.unsqueeze(-1) * m.unsqueeze(-2), zy=self.zy * m)

    def solve(self, alpha: float) -> tuple[Tensor, Tensor]:
        """``(coef (N, p), intercept (N,))``: ``(Z̃ᵀWZ̃ + αI) β = Z̃ᵀWỹ`` with ``Z̃, ỹ`` centred on their weighted
        means (the intercept ``ȳ − z̄ᵀβ`` is unpenalised, as sklearn's); one batched ``torch.linalg.solve``,
        a shared design factorised once for every right-hand side."""
        z_mean = self.z_sum / self.total.unsqueeze(-1)
        y_mean = self.y_sum / self.total
        eye = torch.eye(self.n_features, dtype=torch.float64, device=self.zz.device)
        gram = self.zz - self.total[:, None, None] * z_mean.unsqueeze(-1) * z_mean.unsqueeze(-2) + alpha * eye
        rhs = self.zy - self.total.unsqueeze(-1) * z_mean * y_mean.unsqueeze(-1)  # Σ w (z − z̄)(ỹ − ȳ)
        coef = torch.linalg.solve(gram[0], rhs.T).T if gram.shape[0] == 1 else torch.linalg.solve(gram, rhs)
        return coef, self.shift + y_mean - (z_mean * coef).sum(-1)


def weighted_ridge(z: Tensor, y: Tensor, weights: Tensor, alpha: float) -> tuple[Tensor, Tensor]:
    """sklearn ``Ridge(alpha).fit(z[n], y[n], sample_weight=weights[n])`` for every ``n`` at once.

    ``z`` ``(B, K, p)`` and ``weights`` ``(B, K)`` with ``B`` either ``N`` or 1 (shared design), ``y`` ``(N, K)``.
    Returns ``(coef (N, p), intercept (N,))`` in float64.
    """
    if z.shape[0] == 1:
        return RidgeMoments.shared(z[0], weights[0], y).solve(alpha)
    shift = y.mean(-1)
    ones = torch.ones_like(y).unsqueeze(1)
    design = torch.cat([z.transpose(1, 2), ones, (y - shift.unsqueeze(-1)).unsqueeze(1)], 1)
    return RidgeMoments.from_design(design, weights, shift, z[:, 0]).solve(alpha)


def evaluate_per_selector(bound: BoundTarget, points: Tensor) -> tuple[Tensor, Tensor]:
    """``f`` at the same points ``(K, *F)`` for every instance of ``bound``, once per distinct selector.

    ``f(p, s)`` depends on the instance only through its selector ``s`` (output class), so the
    points are evaluated for each distinct selector, not for each instance. Returns the values
    ``(U, K)`` and, per instance, the row holding its values ``(N,)``.
    """
    selectors, which = torch.unique(bound.selector, return_inverse=True)
    first = torch.full_like(selectors, bound.n).scatter_reduce(0, which, torch.arange(bound.n, device=which.device), "amin")
    representatives = bound.task.bind(bound.x[first])
    return representatives(points.unsqueeze(0).expand(len(first), *points.shape)), which


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

    def matches(self, own: Tensor, sampled: Tensor) -> Tensor:
        """``(N, k)``: how many features of each sample ``(k, d)`` fall in the instance's bin ``(N, d)``.

        One matmul of one-hot bin codes (exact: 0/1 products, integer sums), instead of a pass over ``N × k × d``.
        """
        code = lambda b: torch.nn.functional.one_hot(b, self.freq.shape[1]).reshape(b.shape[0], -1).float()  # noqa: E731
        return code(own) @ code(sampled).T

    def same_bin_design(self, own: Tensor, sampled: Tensor, dtype: torch.dtype) -> Tensor:
        """``(N, d + 2, k + 1)``: per instance, rows ``z_j = 1{bin of sample = x's bin of feature j}`` (the
        instance itself first, all ones), then a row of ones and a spare row; gathered in one pass
        from a ``(d·bins + 1, k + 1)`` table of all bin indicators."""
        d, n_bins = sampled.shape[1], self.freq.shape[1]
        indicator = torch.nn.functional.one_hot(sampled.T, n_bins).permute(0, 2, 1).reshape(d * n_bins, -1).to(dtype)
        table = torch.cat([torch.ones(d * n_bins, 1, dtype=dtype, device=sampled.device), indicator], 1)
        table = torch.cat([table, torch.ones_like(table[:1])])  # the ones row, index d·bins
        rows = own + n_bins * torch.arange(d, device=own.device)
        index = torch.cat([rows, rows.new_full((rows.shape[0], 2), d * n_bins)], 1).reshape(-1)  # (any d >= 1)
        return table.index_select(0, index).reshape(own.shape[0], d + 2, -1)

    def sample(self, k: int, seed: int) -> Tensor:
        """``(k, d)`` bins drawn independently per feature from the data's bin frequencies (shared draws)."""
        return shared_categorical(seed, self.freq, k, stream=BIN_STREAM)

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
