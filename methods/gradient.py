"""Local gradient methods: saliency, input × gradient, SmoothGrad and VarGrad.

All evaluate ``∂f/∂x`` through :meth:`BoundTarget.value_and_grad` (the output selected at the
explained instance stays pinned on noisy copies), batched over instances × samples on the task's
device. Path methods (integrated gradients, expected gradients) live in
:mod:`xaibench.methods.integrated_gradients`.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from typing import ClassVar

from torch import Tensor

from xaibench import rng
from xaibench.errors import InvalidParameterError
from xaibench.method import register_method
from xaibench.task import Task

from ._batched import BatchedMethod, require_positive


def gradient(task: Task, x: Tensor) -> Tensor:
    """``∂f/∂x`` at the instances ``x`` ``(N, *F)``, with the output selected at ``x``."""
    return task.bind(x).value_and_grad(x)[1]


@register_method
@dataclasses.dataclass(frozen=True)
class Saliency(BatchedMethod):
    """Saliency (Simonyan, Vedaldi & Zisserman 2014, "Deep inside convolutional networks").

    ``φ = |∂f/∂x|`` with ``abs=True`` (the default), ``φ = ∂f/∂x`` with ``abs=False``.

    Defaults: ``abs=True``, as captum's ``Saliency.attribute``; the signed gradient is one switch
    away and is what SmoothGrad/VarGrad average. Differences: Simonyan et al. take the maximum of
    ``|∂f/∂x|`` over colour channels (one value per pixel); we, like captum, keep one value per
    input feature so attributions have the input's shape.
    """

    name: ClassVar[str] = "saliency"
    family: ClassVar[str] = "gradient"
    description: ClassVar[str] = "gradient magnitude |∂f/∂x| (Simonyan et al. 2014); abs=False keeps the sign"

    abs: bool = True

    def points_per_instance(self, task: Task) -> int:
        return 1

    def explain_chunk(self, task: Task, x: Tensor, *, seed: int) -> Tensor:
        g = gradient(task, x)
        return g.abs() if self.abs else g


@register_method
@dataclasses.dataclass(frozen=True)
class InputXGradient(BatchedMethod):
    """Input × gradient (Shrikumar et al. 2016, "Not just a black box"): ``φ = x ⊙ ∂f/∂x``.

    Same as captum's ``InputXGradient``. It is the first-order Taylor term around the zero input,
    so on a linear model ``f = ⟨w, x⟩ + c`` it gives ``w ⊙ x`` whatever the task's baseline (use
    ``integrated_gradients`` for ``w ⊙ (x − b)``).
    """

    name: ClassVar[str] = "input_x_gradient"
    family: ClassVar[str] = "gradient"
    description: ClassVar[str] = "x ⊙ ∂f/∂x (Shrikumar et al. 2016)"

    def points_per_instance(self, task: Task) -> int:
        return 1

    def explain_chunk(self, task: Task, x: Tensor, *, seed: int) -> Tensor:
        return x * gradient(task, x)


@dataclasses.dataclass(frozen=True)
class NoisyGradients(BatchedMethod):
    """Gradients at ``n_samples`` noisy copies ``x + ε_k``, ``ε_k ~ N(0, σ² I)``, then aggregated.

    Noise scale, as in Smilkov et al. (2017, §3): ``σ = noise_level · (max_i x_i − min_i x_i)``,
    the range taken over the features of each instance (the paper's "noise level" is
    ``σ / (x_max − x_min)``; it recommends 10–20 %). ``stdev`` set to a number overrides this with
    an absolute ``σ``, which is captum's ``NoiseTunnel(stdevs=...)`` convention (captum's defaults
    are ``stdevs=1.0``, ``nt_samples=5``; ours ``noise_level=0.15``, ``n_samples=50``).

    The noise is private to each instance (:func:`xaibench.rng.instance_normal`, stream 0), so an
    instance's result does not depend on its batch. :meth:`noise` returns the draws, laid out as
    captum lays out its noisy copies (instance-major), for side-by-side checks.
    """

    family: ClassVar[str] = "gradient"
    stochastic: ClassVar[bool] = True

    noise_level: float = 0.15
    n_samples: int = 50
    stdev: float | None = None

    def __post_init__(self) -> None:
        require_positive(self.name, "n_samples", self.n_samples)
        if self.noise_level < 0 or (self.stdev is not None and self.stdev < 0):
            raise InvalidParameterError(f"{self.name}: noise_level and stdev must be non-negative")

    def points_per_instance(self, task: Task) -> int:
        return self.n_samples

    def noise(self, x: Tensor, *, seed: int) -> Tensor:
        """The noise ``ε`` ``(N, n_samples, *F)`` added to the instances ``x``."""
        flat = x.reshape(x.shape[0], -1)
        if self.stdev is None:
            sigma = self.noise_level * (flat.amax(1) - flat.amin(1))
        else:
            sigma = flat.new_full((x.shape[0],), self.stdev)
        eps = rng.instance_normal(x, seed, (self.n_samples, *x.shape[1:]))
        return eps.mul_(sigma.reshape(-1, *[1] * (eps.dim() - 1)))

    def explain_chunk(self, task: Task, x: Tensor, *, seed: int) -> Tensor:
        noisy = self.noise(x, seed=seed).add_(x.unsqueeze(1))
        _, grads = task.bind(x).value_and_grad(noisy)
        return self.aggregate(grads)

    @abstractmethod
    def aggregate(self, grads: Tensor) -> Tensor:
        """``(N, K, *F)`` noisy gradients → ``(N, *F)`` attributions."""


@register_method
@dataclasses.dataclass(frozen=True)
class SmoothGrad(NoisyGradients):
    """SmoothGrad (Smilkov et al. 2017): ``φ = (1/K) Σ_k ∂f/∂x (x + ε_k)`` (see :class:`NoisyGradients`).

    Averages the signed gradient, as the paper. captum's ``NoiseTunnel(Saliency(f))`` averages
    ``|∂f/∂x|`` unless ``abs=False`` is passed: with ``abs=False`` and the same noise the two agree.
    """

    name: ClassVar[str] = "smoothgrad"
    description: ClassVar[str] = "mean gradient over Gaussian-noised copies (Smilkov et al. 2017)"

    def aggregate(self, grads: Tensor) -> Tensor:
        return grads.mean(1)


@register_method
@dataclasses.dataclass(frozen=True)
class VarGrad(NoisyGradients):
    """VarGrad (Adebayo et al. 2018): ``φ = (1/K) Σ_k (g_k − ḡ)²`` with ``g_k = ∂f/∂x (x + ε_k)``.

    The population variance (divisor ``K``), as captum's ``NoiseTunnel(nt_type="vargrad")`` which
    computes ``E[g²] − E[g]²``; we compute the same quantity as a centred sum (no cancellation).
    Noise as :class:`NoisyGradients`. On a linear model the gradient is constant, so ``φ = 0``.
    """

    name: ClassVar[str] = "vargrad"
    description: ClassVar[str] = "variance of gradients over Gaussian-noised copies (Adebayo et al. 2018)"

    def aggregate(self, grads: Tensor) -> Tensor:
        return grads.var(1, correction=0)
