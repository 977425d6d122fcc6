"""Path methods: integrated gradients and expected gradients (GradientSHAP).

Both average ``(x − b) ⊙ ∂f/∂x`` at points ``b + α (x − b)`` on straight paths from a reference
``b`` to the instance ``x``; every point of every instance goes through one batched, chunked
forward/backward pass (:meth:`BoundTarget.value_and_grad`), and the path is built in one op.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import ClassVar

import torch
from torch import Tensor

from xaibench import rng
from xaibench.method import register_method
from xaibench.task import Task

from ._batched import BASELINES, BatchedMethod, reference_point, require_choice, require_positive

RULES = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")


@lru_cache(maxsize=64)
def quadrature(rule: str, n: int) -> tuple[Tensor, Tensor]:
    """Nodes ``α`` in [0, 1] and weights ``w`` (``Σ w = 1``) of an ``n``-point rule, float64 on CPU.

    * ``riemann_left``: ``α_k = k/n``, ``riemann_right``: ``(k+1)/n``, ``riemann_middle``:
      ``(k+½)/n``, each with ``w_k = 1/n`` (k = 0..n−1) — captum's nodes and weights.
    * ``riemann_trapezoid``: ``α_k = k/(n−1)`` and the composite trapezoid weights ``1/(n−1)``,
      halved at both ends. **Departs from captum**, which pairs these nodes with weights ``1/n``
      (halved at the ends), so its weights sum to ``1 − 1/n`` and its attributions are ours
      times ``(n−1)/n`` — completeness fails by ``1/n`` even on a linear model. Ours is exact
      on linear models.
    * ``gausslegendre``: the Gauss–Legendre rule mapped to [0, 1], computed by Golub–Welsch
      (eigen-decomposition of the Jacobi matrix) — the same nodes and weights as captum's
      ``numpy.polynomial.legendre.leggauss`` to rounding, without leaving torch.
    """
    require_choice("integrated_gradients", "method", rule, RULES)
    require_positive("integrated_gradients", "n_steps", n, minimum=1 if rule == "gausslegendre" else 2)
    k = torch.arange(n, dtype=torch.float64)
    if rule == "gausslegendre":
        beta = k[1:] / torch.sqrt(4 * k[1:] ** 2 - 1)
        nodes, vectors = torch.linalg.eigh(torch.diag(beta, 1) + torch.diag(beta, -1))
        return (nodes + 1) / 2, vectors[0] ** 2
    if rule == "riemann_trapezoid":
        weights = torch.full((n,), 1 / (n - 1), dtype=torch.float64)
        weights[[0, -1]] /= 2
        return k / (n - 1), weights
    offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[rule]
    return (k + offset) / n, torch.full((n,), 1 / n, dtype=torch.float64)


@lru_cache(maxsize=64)
def quadrature_on(rule: str, n: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """:func:`quadrature` cast to ``dtype`` and moved to ``device`` once (cached: no copy per chunk)."""
    return tuple(t.to(dtype).to(device) for t in quadrature(rule, n))


def path_points(x: Tensor, reference: Tensor, alphas: Tensor) -> tuple[Tensor, Tensor]:
    """``x − b`` and the points ``b + α (x − b)`` ``(N, K, *F)``, built in one op.

    ``reference`` is ``(*F)`` (one baseline), or ``(N, K, *F)`` (one per point); ``alphas`` is
    ``(K,)`` (shared) or ``(N, K)`` (one per point).
    """
    tail = [1] * (x.dim() - 1)
    start = reference.unsqueeze(0).unsqueeze(0) if reference.dim() == x.dim() - 1 else reference
    diff = x.unsqueeze(1) - start
    scale = alphas.reshape(*([1] if alphas.dim() == 1 else []), *alphas.shape, *tail)
    return diff, torch.addcmul(start, scale, diff)


@register_method
@dataclasses.dataclass(frozen=True)
class IntegratedGradients(BatchedMethod):
    """Integrated gradients (Sundararajan, Taly & Yan 2017, "Axiomatic attribution for deep networks").

    ``φ = (x − b) ⊙ ∫₀¹ ∂f/∂x (b + α (x − b)) dα ≈ (x − b) ⊙ Σ_k w_k ∂f/∂x (b + α_k (x − b))``
    with the ``n_steps``-point quadrature ``method`` (:func:`quadrature`). Completeness:
    ``Σ φ = f(x) − f(b)`` up to the quadrature error.

    Defaults: ``n_steps=50``, ``method="gausslegendre"`` (captum's defaults), ``baseline="task"``
    (the task's "absent" value; ``"zero"`` for the all-zero input, captum's default baseline).
    Agrees with captum's ``IntegratedGradients`` for every rule (for ``riemann_trapezoid`` after
    captum's ``(n−1)/n`` weight error, see :func:`quadrature`). Unlike captum, the N × n_steps
    points go through the model in chunks of ``task.max_batch`` rows (captum's
    ``internal_batch_size``) without being concatenated step by step.
    """

    name: ClassVar[str] = "integrated_gradients"
    family: ClassVar[str] = "gradient"
    description: ClassVar[str] = "path integral of gradients from the baseline (Sundararajan et al. 2017)"

    n_steps: int = 50
    method: str = "gausslegendre"
    baseline: str = "task"

    def __post_init__(self) -> None:
        require_choice(self.name, "baseline", self.baseline, BASELINES)
        quadrature(self.method, self.n_steps)  # validates method and n_steps

    def points_per_instance(self, task: Task) -> int:
        return self.n_steps

    def explain_chunk(self, task: Task, x: Tensor, *, seed: int) -> Tensor:
        alphas, weights = quadrature_on(self.method, self.n_steps, x.device, x.dtype)
        diff, points = path_points(x, reference_point(task, self.baseline, x), alphas)
        _, grads = task.bind(x).value_and_grad(points)
        integral = torch.einsum("k,nkf->nf", weights, grads.flatten(2))
        return diff.squeeze(1) * integral.reshape(x.shape)


@register_method
@dataclasses.dataclass(frozen=True)
class ExpectedGradients(BatchedMethod):
    """Expected gradients (Erion et al. 2021; captum's GradientShap, Lundberg & Lee 2017).

    ``φ = E_{b ~ background, α ~ U(0,1)} [(x − b) ⊙ ∂f/∂x (b + α (x − b))]``, estimated with
    ``n_samples`` pairs ``(b_k, α_k)`` per instance: ``b_k`` a uniformly drawn row of
    ``task.background`` (with replacement), ``α_k`` uniform. In expectation ``Σ φ = f(x) − E f(b)``;
    on a linear model ``φ = w ⊙ (x − mean_k b_k)`` exactly.

    Defaults: ``n_samples=50`` (captum's GradientShap: 5). Draws are private to each instance
    (:func:`xaibench.rng.instance_uniform`, streams 0 and 1; :meth:`draws` returns them). captum's
    GradientShap additionally adds Gaussian noise to ``x`` (``stdevs``, default 0); we add none.
    """

    name: ClassVar[str] = "expected_gradients"
    family: ClassVar[str] = "gradient"
    description: ClassVar[str] = "integrated gradients averaged over background baselines (GradientSHAP, Erion et al. 2021)"
    stochastic: ClassVar[bool] = True

    n_samples: int = 50

    def __post_init__(self) -> None:
        require_positive(self.name, "n_samples", self.n_samples)

    def points_per_instance(self, task: Task) -> int:
        return self.n_samples

    def draws(self, task: Task, x: Tensor, *, seed: int) -> tuple[Tensor, Tensor]:
        """Background row indices ``(N, n_samples)`` long and interpolation points ``α`` ``(N, n_samples)``."""
        m = task.background.shape[0]
        u = rng.instance_uniform(x, seed, (self.n_samples,), stream=0, dtype=torch.float64)
        index = (u * m).long().clamp_(max=m - 1)
        alphas = rng.instance_uniform(x, seed, (self.n_samples,), stream=1)
        return index, alphas

    def explain_chunk(self, task: Task, x: Tensor, *, seed: int) -> Tensor:
        index, alphas = self.draws(task, x, seed=seed)
        references = task.background.to(device=x.device, dtype=x.dtype)[index]
        diff, points = path_points(x, references, alphas)
        _, grads = task.bind(x).value_and_grad(points)
        return (diff * grads).mean(1)
