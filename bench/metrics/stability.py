"""Stability metrics: the method is re-run on perturbed inputs and its answers compared.

Every metric here draws K perturbations **shared by all instances** of the batch (common random
numbers, :func:`xaibench.rng.shared_uniform` / :func:`~xaibench.rng.shared_normal`: the same numbers
on every device and in every dtype), re-explains the ``N·K``
perturbed inputs in **one** ``method.explain`` call with the caller's seed — explaining the output
selected at the unperturbed instance (the class predicted at x, as captum's expanded ``target``
and Quantus' ``y_batch`` do) — and reduces over the K samples per instance. An instance's value
therefore depends only on the instance, the seed and the method. captum and Quantus draw fresh
noise per instance instead; the distribution of each instance's estimate is the same, and the
agreement tests pass identical noise to both sides.

The neighbourhood metrics (``max_sensitivity``, ``local_lipschitz``, ``ris``, ``ros``, ``rrs``)
draw their K neighbours from one seed stream (derived from :data:`NEIGHBOURHOOD` and the caller's
seed, never from the method's own randomness), so with the same ``(n_samples, noise, scale)`` they
perturb alike — as Agarwal et al. (2022) compute RIS, ROS and RRS over one perturbation set. Inside
:func:`sharing_reexplanations` (the runner opens it around the metrics of one (task, method, seed)
cell) each distinct neighbourhood is re-explained once and shared: re-explanation is ~80 % of a
cell's cost. With the defaults, ``max_sensitivity``, ``ris``, ``ros`` and ``rrs`` share U[−0.02, 0.02]
noise and ``local_lipschitz`` keeps Quantus' N(0, 0.1²), so five metrics cost two re-explanations. Outside it every call re-explains, so speed benchmarks time the full work.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, ClassVar

import torch
from torch import Tensor

from xaibench.chunking import map_chunks, pass_key
from xaibench.errors import InvalidParameterError
from xaibench.metric import Metric, MetricOutput, check_attributions, register_metric
from xaibench.params import Gt
from xaibench.rng import derived_seed
from xaibench.tensorstats import jaccard, topk_mask
from xaibench.tolerance import snap

from ._perturb import NOISES, flat_norm, input_noise, player_scores, rank_similarity, reexplain, resolve_k
from ._removal import tie_priority

NEIGHBOURHOOD = "stability-neighbourhood"
"""Name the neighbourhood metrics derive their noise seed from (one stream for all of them)."""


@dataclass(frozen=True, eq=False)
class _Reexplained:
    """A neighbourhood and the method's attributions of it, with what they were computed for."""

    method: object
    task: object
    x: Tensor
    x_version: int
    z: Tensor
    phi_z: Tensor

    def serves(self, method, task, x: Tensor) -> bool:
        return self.method is method and self.task is task and self.x is x and self.x_version == x._version


_SHARED: ContextVar[dict | None] = ContextVar("xaibench_shared_reexplanations", default=None)


@contextmanager
def sharing_reexplanations() -> Iterator[None]:
    """Within the block, neighbourhood metrics with equal ``(n_samples, noise, scale)`` and seed
    re-explain the same instances' neighbourhood once (matched by object identity of method, task
    and inputs, and the inputs' version counter, so an in-place edit invalidates it)."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


@dataclass(frozen=True)
class _ReexplainedNeighbourhood(Metric):
    """Shared machinery: K noisy copies of each instance and the method's attributions of them."""

    n_samples: int = 10
    noise: str = "uniform"
    scale: float = 0.02

    def __post_init__(self) -> None:
        if self.n_samples < 1 or self.scale <= 0 or self.noise not in NOISES:
            raise InvalidParameterError(
                f"{self.name} needs n_samples >= 1, scale > 0 and noise in {NOISES}; "
                f"got {self.n_samples}, {self.scale}, {self.noise!r}"
            )

    def neighbourhood_noise(self, x: Tensor, seed: int) -> Tensor:
        """The ``(K, *F)`` perturbations added to every instance of ``x`` (shared by the batch)."""
        return input_noise(x, self.n_samples, kind=self.noise, scale=self.scale, seed=derived_seed(seed, NEIGHBOURHOOD))

    def _neighbourhood(self, task, x: Tensor, attributions: Tensor, method, seed: int) -> tuple[Tensor, Tensor, Tensor]:
        """``z`` ``(N, K, *F)`` perturbed inputs, ``φ(x)`` and ``φ(z)`` ``(N, K, *F)`` (detached)."""
        check_attributions(x, attributions)
        shared, key = _SHARED.get(), (self.n_samples, self.noise, self.scale, seed)
        entry = shared.get(key) if shared is not None else None
        if entry is None or not entry.serves(method, task, x):
            z = x.unsqueeze(1) + self.neighbourhood_noise(x, seed).unsqueeze(0)
            entry = _Reexplained(method, task, x, x._version, z, reexplain(method, task, x, z, seed=seed).detach())
            if shared is not None:
                shared[key] = entry
        return entry.z, attributions.detach(), entry.phi_z


@register_metric
@dataclass(frozen=True)
class MaxSensitivity(_ReexplainedNeighbourhood):
    """Max-sensitivity (Yeh et al. 2019, "On the (In)fidelity and Sensitivity of Explanations").

    ``SENS_max(x) = max_{k ≤ K} ‖φ(x) − φ(x + δ_k)‖₂ / ‖φ(x)‖₂`` with ``δ_k ~ U[−r, r]^d`` (a uniform
    draw in the L∞ ball of radius ``r``), norms over all features flattened (captum's ``"fro"``).
    Lower is better.

    Defaults: ``n_samples = 10`` and ``scale = r = 0.02`` (captum's ``sensitivity_max`` defaults;
    ``noise="gaussian"`` draws N(0, r²) instead). Our tabular features are standardised (unit
    variance) and images lie in [0, 1] (pixel std ≈ 0.3), so r = 0.02 is a small perturbation,
    2–7 % of a feature's spread, on both.

    Zero explanation at ``x`` (``‖φ(x)‖ = 0``): the denominator is replaced by 1, so the value is the
    absolute change ``max ‖φ(x + δ)‖`` (captum's convention; 0 when the explanation stays zero).

    Versus the references: identical to captum ``sensitivity_max(norm_ord="fro")`` given the same
    noise. Quantus ``MaxSensitivity`` uses the same formula but defaults to 200 samples with
    U[−0.2, 0.2] noise and divides by zero for a zero explanation (inf, or NaN when it stays zero).
    """

    name: ClassVar[str] = "max_sensitivity"
    heavy_tailed: ClassVar[bool] = True  # ‖Δφ‖ / ‖φ‖ explodes where ‖φ(x)‖ is small: summarised by the median
    category: ClassVar[str] = "stability"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "max relative change of φ under uniform noise in an L∞ ball (Yeh et al. 2019)"

    def __call__(self, task, x, attributions, method, *, seed=0):
        _, phi, phi_z = self._neighbourhood(task, x, attributions, method, seed)
        change = flat_norm(phi_z - phi.unsqueeze(1), 2)
        size = flat_norm(phi, 1)
        size = torch.where(size > 0, size, torch.ones_like(size))
        return (change / size.unsqueeze(1)).amax(1)


@register_metric
@dataclass(frozen=True)
class LocalLipschitz(_ReexplainedNeighbourhood):
    """Local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018, "On the Robustness of Interpretability Methods").

    ``L(x) = max_{k ≤ K} ‖φ(x) − φ(x_k)‖₂ / ‖x − x_k‖₂`` with ``x_k = x + ε_k``, ``ε_k ~ N(0, σ²)``
    per feature. Lower is better.

    Defaults: ``n_samples = 10``, ``noise = "gaussian"``, ``scale = σ = 0.1`` (Quantus'
    ``LocalLipschitzEstimate`` σ; Quantus samples 200 times, we default to 10 for cost: the
    estimate is a maximum, so it grows with K — compare methods at equal K). The paper maximises
    with an optimiser; sampling is the common (Quantus) estimate.

    Versus Quantus: Quantus adds 1e-10 to the denominator and by default normalises attributions by
    their maximum (``normalise=True``); we use the raw attributions, since the Lipschitz constant of
    the explanation map is a property of the map's scale, and the denominator is never zero for
    Gaussian noise. With ``normalise=False, abs=False`` and the same noise the two agree.
    """

    name: ClassVar[str] = "local_lipschitz"
    heavy_tailed: ClassVar[bool] = True  # a maximum of ratios over neighbours: summarised by the median
    category: ClassVar[str] = "stability"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "max ‖φ(x) − φ(x')‖ / ‖x − x'‖ over Gaussian neighbours (Alvarez-Melis & Jaakkola 2018)"

    noise: str = "gaussian"
    scale: float = 0.1

    def __call__(self, task, x, attributions, method, *, seed=0):
        z, phi, phi_z = self._neighbourhood(task, x, attributions, method, seed)
        change = flat_norm(phi_z - phi.unsqueeze(1), 2)
        step = flat_norm(z - x.unsqueeze(1), 2)
        return (change / step.clamp(min=torch.finfo(step.dtype).tiny)).amax(1)


RELATIVE_TO = ("elementwise", "norm")


@dataclass(frozen=True)
class _RelativeStability(_ReexplainedNeighbourhood):
    """Agarwal et al. 2022 relative stability; subclasses give the denominator's change."""
    heavy_tailed: ClassVar[bool] = True  # ratios with a possibly tiny denominator: summarised by the median

    eps_min: Annotated[float, Gt(0)] = 1e-6
    relative_to: str = "elementwise"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.relative_to not in RELATIVE_TO:
            raise InvalidParameterError(f"relative_to must be one of {RELATIVE_TO}, got {self.relative_to!r}")

    def _relative_change(self, before: Tensor, after: Tensor) -> Tensor:
        """``(N, K)`` relative change from ``before`` ``(N, *R)`` to each of ``after`` ``(N, K, *R)``:
        ``‖(a − a')/a‖₂`` element-wise (zeros of ``a`` replaced by ε_min), or ``‖a − a'‖₂ / max(‖a‖₂, ε_min)``."""
        before = before.unsqueeze(1)
        if self.relative_to == "elementwise":
            safe = torch.where(before == 0, torch.full_like(before, self.eps_min), before)
            return flat_norm((before - after) / safe, 2)
        return flat_norm(before - after, 2) / flat_norm(before, 2).clamp(min=self.eps_min)

    def _denominator_change(self, task, x: Tensor, z: Tensor) -> Tensor:
        """``(N, K)`` change of the input, output or representation between ``x`` and ``z``."""
        raise NotImplementedError

    def __call__(self, task, x, attributions, method, *, seed=0):
        return self.evaluate(task, x, attributions, method, seed=seed).values

    def evaluate(self, task, x, attributions, method, *, seed=0):
        z, phi, phi_z = self._neighbourhood(task, x, attributions, method, seed)
        with torch.no_grad():
            ratio = self._relative_change(phi, phi_z) / self._denominator_change(task, x, z).clamp(min=self.eps_min)
            kept = _chunked(task, task.label_fn, z, "label") == task.label_fn(x).unsqueeze(1)
        any_kept = kept.any(1)
        use = kept | ~any_kept.unsqueeze(1)  # no label-preserving neighbour: fall back to all K
        values = ratio.masked_fill(~use, float("-inf")).amax(1)
        extras = {
            "kept_fraction": float(kept.double().mean()),
            "no_kept_fraction": float((~any_kept).double().mean()),
        }
        return MetricOutput(values, extras)


_RELATIVE_DOC = """

    The maximum runs over **label-preserving** neighbours only (``task.label_fn(x') == task.label_fn(x)``),
    as in the paper. Extras: ``kept_fraction`` (label-preserving share of all N·K neighbours) and
    ``no_kept_fraction`` (share of instances with none). An instance with **no** label-preserving
    neighbour sits on a decision boundary; rather than NaN (OpenXAI returns NaN and drops it from the
    mean, which biases the mean toward stable-looking instances) or 0 (which would flatter), its
    maximum is taken over all K neighbours. Quantus (``return_nan_when_prediction_changes=True``)
    returns NaN for an instance as soon as **any** neighbour changes the label (``np.max`` over the
    samples); where none does, it agrees with us.

    Relative changes (``relative_to``): ``"elementwise"`` (default; the paper's and Quantus' formula)
    is ``‖(a − a')/a‖₂`` with every zero entry of ``a`` replaced by ``ε_min``; ``"norm"`` is
    ``‖a − a'‖₂ / max(‖a‖₂, ε_min)`` (OpenXAI's ``compute_Lp_norm_diff``), which does not explode on
    near-zero entries (black MNIST pixels, zero attributions). Denominators are ``max(·, ε_min)``
    as in the paper (Quantus adds ε_min only where the change is exactly 0; identical otherwise).

    Defaults: ``n_samples = 10`` neighbours from U[−0.02, 0.02]^d (the L∞ ball of
    ``max_sensitivity``; each metric draws its own neighbours from it), ``ε_min = 1e-6``.
    Quantus defaults to 200 samples of **one-sided** noise U[0.02, 0.2] (its ``lower_bound`` 0.02
    and ``upper_bound`` 0.2), which only ever brightens the input; we perturb symmetrically.
    Lower is better.
    """


@register_metric
@dataclass(frozen=True)
class RelativeInputStability(_RelativeStability):
    __doc__ = """Relative input stability, RIS (Agarwal et al. 2022, "Rethinking Stability for Attribution-based Explanations").

    ``RIS(x) = max_{x'} ‖(φ(x) − φ(x'))/φ(x)‖₂ / max(‖(x − x')/x‖₂, ε_min)``.""" + _RELATIVE_DOC

    name: ClassVar[str] = "ris"
    category: ClassVar[str] = "stability"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "relative input stability over label-preserving neighbours (Agarwal et al. 2022)"

    def _denominator_change(self, task, x, z):
        return self._relative_change(x, z)


@register_metric
@dataclass(frozen=True)
class RelativeOutputStability(_RelativeStability):
    __doc__ = """Relative output stability, ROS (Agarwal et al. 2022).

    ``ROS(x) = max_{x'} ‖(φ(x) − φ(x'))/φ(x)‖₂ / max(|f(x) − f(x')|, ε_min)`` where ``f`` is the task's
    explained scalar with the output pinned at ``x`` (the paper and Quantus use the full logit
    vector ``‖h(x) − h(x')‖₂``; a task exposes the explained scalar, which for classifier tasks is
    the explained logit). The output change is absolute, as in the paper.""" + _RELATIVE_DOC

    name: ClassVar[str] = "ros"
    category: ClassVar[str] = "stability"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "relative output stability over label-preserving neighbours (Agarwal et al. 2022)"

    def _denominator_change(self, task, x, z):
        bound = task.bind(x)
        return (bound(z) - bound(x).unsqueeze(1)).abs()


@register_metric
@dataclass(frozen=True)
class RelativeRepresentationStability(_RelativeStability):
    __doc__ = """Relative representation stability, RRS (Agarwal et al. 2022).

    ``RRS(x) = max_{x'} ‖(φ(x) − φ(x'))/φ(x)‖₂ / max(‖(h(x) − h(x'))/h(x)‖₂, ε_min)`` with ``h`` the
    task's ``representation_fn`` (a hidden layer chosen by the model's target; Quantus takes
    ``layer_names``/``layer_indices`` of the network instead).""" + _RELATIVE_DOC

    name: ClassVar[str] = "rrs"
    category: ClassVar[str] = "stability"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "relative representation stability over label-preserving neighbours (Agarwal et al. 2022)"
    requires: ClassVar[frozenset[str]] = frozenset({"representation"})

    def _denominator_change(self, task, x, z):
        h_x = task.representation_fn(x)
        h_z = _chunked(task, task.representation_fn, z, "representation")
        return self._relative_change(h_x, h_z)


def _chunked(task, fn, z: Tensor, kind: str) -> Tensor:
    """``fn`` (the task's ``label_fn`` or ``representation_fn``) applied to the ``(N, K, *F)`` batch ``z``
    → ``(N, K, ...)``, in chunks of at most ``task.max_batch`` rows, halved on out-of-memory and the
    size that fits remembered per ``kind`` (:func:`xaibench.chunking.map_chunks`)."""
    flat = z.reshape(-1, *z.shape[2:])
    out = torch.cat(map_chunks(lambda i, j: fn(flat[i:j]), flat.shape[0], task, pass_key(task, kind, flat)))
    return out.reshape(*z.shape[:2], *out.shape[1:])


@register_metric
@dataclass(frozen=True)
class SeedStability(Metric):
    """Seed stability: agreement of the method with itself across random seeds.

    The method explains ``x`` with ``n_seeds`` seeds: the given attributions (seed ``s``) and
    ``n_seeds − 1`` re-runs with seeds ``s + 1, …, s + n_seeds − 1``. Per instance, over all
    ``n_seeds·(n_seeds − 1)/2`` pairs (i, j) of runs, on player scores Φ (attributions summed within
    the task's groups):

    * value: mean pairwise Spearman ρ(Φ_i, Φ_j) (signed attributions, average ranks for ties);
    * extra ``topk_jaccard``: mean over instances and pairs of the Jaccard index of the top-k
      players by |Φ| (``k = 0.25``: a quarter of the players, rounded up; an integer ≥ 1 is a count).
      Ties in |Φ| (to rounding, :func:`xaibench.tolerance.snap`) are broken at random per instance
      by the metric's seed — the same priorities for every run, so two identical runs have the
      same top-k — never by player index. Spearman gives tied players their average rank.

    Two identical runs score 1 even when constant (a zero attribution repeated is perfectly
    stable; ``tensorstats.spearman`` would give 0 for a constant row). It applies to every method:
    a deterministic method scores exactly 1 by actually being re-run, which checks its contract.
    Defaults: ``n_seeds = 5``. Higher is better. No reference implementation exists (Quantus and
    OpenXAI measure stability under input noise only).
    """

    name: ClassVar[str] = "seed_stability"
    category: ClassVar[str] = "stability"
    higher_is_better: ClassVar[bool] = True
    min_players: ClassVar[int] = 2
    description: ClassVar[str] = "mean pairwise Spearman of φ across method seeds (top-k Jaccard as an extra)"

    n_seeds: int = 5
    k: Annotated[float, Gt(0)] = 0.25

    def __post_init__(self) -> None:
        if self.n_seeds < 2:
            raise InvalidParameterError(f"seed_stability needs n_seeds >= 2, got {self.n_seeds}")

    def __call__(self, task, x, attributions, method, *, seed=0):
        return self.evaluate(task, x, attributions, method, seed=seed).values

    def evaluate(self, task, x, attributions, method, *, seed=0):
        check_attributions(x, attributions)
        reruns = [method.explain(task, x, seed=seed + j).detach() for j in range(1, self.n_seeds)]
        runs = [attributions.detach(), *reruns]
        scores = player_scores(task, torch.stack(runs))  # (S, N, G)
        k = resolve_k(self.k, task.players.n)
        priority = tie_priority(x, task.players.n, seed, self.name)
        tops = topk_mask(snap(scores.abs(), attributions.dtype), k, priority)  # (S, N, G); one priority for all runs
        i, j = torch.triu_indices(self.n_seeds, self.n_seeds, offset=1, device=scores.device)  # every pair, at once
        values = rank_similarity(scores[i], scores[j]).mean(0)
        return MetricOutput(values, {"topk_jaccard": float(jaccard(tops[i], tops[j]).mean())})
