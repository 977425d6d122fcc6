"""``infidelity`` (Yeh et al. 2019, as ``captum.metrics.infidelity``), batched over instances × samples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError, NotApplicableError
from xaibench.metric import Metric, check_attributions, register_metric
from xaibench.params import Gt, OneOf
from xaibench.rng import derived_seed, shared_normal

from ._removal import STRATEGIES, Removal, check_strategy, evaluate_chunked

if TYPE_CHECKING:
    from xaibench.method import Method
    from xaibench.task import Task

NOISES = ("relative", "absolute")


@register_metric
@dataclass(frozen=True)
class Infidelity(Metric):
    """Expected squared error of the attribution's prediction of random output changes; lower is better.

    Yeh, Hsieh, Suggala, Inouye & Ravikumar 2019, "On the (In)fidelity and Sensitivity of
    Explanations" (NeurIPS), Eq. (1), as ``captum.metrics.infidelity``::

        INFD(φ, f, x) = E_u [ ( Σ_g u_g Φ_g − (f(x) − f(x − I(u))) )² ]

    with ``u ~ N(0, σ²)`` i.i.d. per player (features, or the task's groups; ``Φ_g`` the
    attribution summed within player ``g``), estimated over ``n_samples`` draws, and

    * ``noise="relative"`` (default): ``I(u) = u ⊙ (x − b)``, ``b`` the removal ``baseline``: each
      player moves the fraction ``u_g`` of the way towards the baseline. This is captum's
      ``infidelity_perturb_func_decorator(multiply_by_inputs=True)`` convention for attributions
      that sum to ``f(x) − f(b)`` (Integrated Gradients, Shapley values, Input × Gradient with
      b = 0), the scale every method of this benchmark reports: for ``f(x) = ⟨w, x⟩`` the exact
      ``φ = w ⊙ (x − b)`` has infidelity 0. It avoids captum's division by ``x − b``, which
      blows up where a feature sits at its baseline.
    * ``noise="absolute"``: ``I(u) = u`` in input units, Yeh et al.'s Gaussian perturbation, for
      gradient-scale attributions (its optimum is the smoothed gradient).

    ``normalize=True`` rescales φ by captum's optimal ``β = E[a·d] / E[a²]`` (``a = Σ u_g Φ_g``,
    ``d`` the output change; β = 0 when ``E[a²] = 0``) before the error, i.e. reports
    ``E[d²] − E[a·d]² / E[a²]``: infidelity of the best multiple of φ, so the attribution's scale
    does not matter.

    Defaults: ``sigma=0.1``, ``n_samples=100``, ``normalize=False`` (captum's), ``noise="relative"``,
    ``baseline="task"`` (static strategies only: task, zero, mean, min, blur).

    Differences from captum (equal on identical perturbations, tested): captum takes a
    user-written perturbation function and draws fresh noise per instance; we draw ``u`` once per
    call from the seed and share it across instances (batch-independent, common random numbers
    for comparing methods), and perturb players rather than features. Quantus' ``Infidelity``
    instead subtracts a baseline from square patches and has another default loss; we follow
    the paper and captum.
    """

    name: ClassVar[str] = "infidelity"
    category: ClassVar[str] = "faithfulness"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "expected squared error of φ predicting output changes under noise (Yeh et al. 2019)"

    sigma: float = 0.1
    n_samples: int = 100
    normalize: bool = False
    noise: str = "relative"
    baseline: Annotated[str, OneOf(STRATEGIES)] = "task"
    blur_sigma: Annotated[float, Gt(0)] = 0.1

    def __post_init__(self) -> None:
        if self.noise not in NOISES:
            raise InvalidParameterError(f"{self.name}: noise must be one of {NOISES}, got {self.noise!r}")
        if not self.sigma > 0 or self.n_samples < 1:
            raise InvalidParameterError(
                f"{self.name}: need sigma > 0 and n_samples >= 1, got {self.sigma}, {self.n_samples}")

    def check(self, task: "Task", method: "Method") -> None:
        super().check(task, method)
        self._check_baseline(task)

    def _check_baseline(self, task: "Task") -> None:
        if self.noise == "relative":
            check_strategy(task, self.baseline, self.name)
            if self.baseline == "noisy_linear":
                raise NotApplicableError(f"{self.name}: relative noise needs a fixed baseline, not noisy_linear imputation")

    def draws(self, task: "Task", seed: int) -> Tensor:
        """The ``(n_samples, G)`` player noise ``u`` this call uses (shared by every instance)."""
        u = shared_normal(derived_seed(seed, self.name), (self.n_samples, task.players.n), device=task.device)
        return self.sigma * u.to(task.dtype)

    def __call__(self, task, x, attributions, method, *, seed=0) -> Tensor:
        check_attributions(x, attributions)
        return self.score(task, x, attributions, self.draws(task, seed))

    def score(self, task: "Task", x: Tensor, attributions: Tensor, u: Tensor) -> Tensor:
        """The metric for given player noise ``u`` ``(K, G)`` (the agreement tests pass captum the same)."""
        self._check_baseline(task)
        players = task.players
        u = torch.cat([torch.zeros_like(u[:1]), u]).to(x.dtype)  # row 0: x itself
        shift = players.expand(u)  # (K+1, *F)
        if self.noise == "relative":
            removal = Removal(task, self.baseline, blur_sigma=self.blur_sigma, who=self.name)
            build = lambda xs, _: removal(xs, 1 - shift)  # noqa: E731  x − u ⊙ (x − b)
        else:
            build = lambda xs, _: xs.unsqueeze(1) - shift  # noqa: E731
        values = evaluate_chunked(task, x, shift.shape[0], build)
        work = torch.float64
        d = (values[:, :1] - values[:, 1:]).to(work)  # f(x) − f(x − I), (N, K)
        a = players.total(attributions).to(work) @ u[1:].to(work).T  # Σ_g u_g Φ_g, (N, K)
        if not self.normalize:
            return (a - d).square().mean(-1).to(x.dtype)
        aa, ad, dd = (a * a).mean(-1), (a * d).mean(-1), (d * d).mean(-1)
        beta = torch.where(aa > 0, ad / aa.clamp(min=torch.finfo(work).tiny), torch.zeros_like(aa))
        return (beta * beta * aa - 2 * beta * ad + dd).to(x.dtype)

