"""``faithfulness_correlation`` (Bhatt, Weller & Moura 2020), batched over instances × subsets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError, NotApplicableError
from xaibench.metric import Metric, MetricOutput, check_attributions, register_metric
from xaibench.params import Ge, Gt, OneOf
from xaibench.rng import derived_seed, shared_uniform
from xaibench.tensorstats import pearson
from xaibench.tolerance import is_constant

from ._removal import STRATEGIES, Removal, check_strategy, evaluate_chunked

if TYPE_CHECKING:
    from xaibench.method import Method
    from xaibench.task import Task


def random_subsets(n_players: int, size: int, n_runs: int, seed: int, device=None) -> Tensor:
    """``(R, G)`` 0/1 rows, each with ``size`` players drawn uniformly without replacement (the players
    of the ``size`` largest of ``G`` float64 uniforms per row: ties have probability ~G²/2⁵³)."""
    keys = shared_uniform(seed, (n_runs, n_players), device=device, dtype=torch.float64)
    chosen = keys.topk(size, dim=-1).indices
    return torch.zeros(n_runs, n_players, device=device).scatter_(-1, chosen, 1.0)


@register_metric
@dataclass(frozen=True)
class FaithfulnessCorrelation(Metric):
    """Correlation between the attribution of random subsets and the output drop they cause.

    Bhatt, Weller & Moura 2020, "Evaluating and Aggregating Feature-based Model Explanations"
    (IJCAI), Eq. (2)::

        μ_F(x) = Pearson_{S ∈ 𝒮} ( Σ_{g∈S} Φ_g ,  f(x) − f(x_{S←b}) )

    over ``R = nr_runs`` random subsets ``S`` of ``|S| = subset_size`` players (features or the
    task's groups, ``Φ_g`` the attribution summed within player ``g``), ``x_{S←b}`` replacing the
    players of ``S`` as the ``baseline`` strategy says. Higher is better, in [−1, 1].

    Defaults: ``nr_runs=100`` (Quantus'), ``subset_size=None`` → ``subset_fraction=0.25`` of the
    players, rounded, at least 1 (Quantus' 224 is sized for 224×224 images and exceeds most
    tabular tasks), ``baseline="task"``, ``absolute=False`` (Quantus' ``abs=False``).

    Differences from Quantus ``FaithfulnessCorrelation`` (equal on identical subsets, tested):

    * Subsets are drawn once per call from the seed and shared by every instance (common random
      numbers: an instance's value does not depend on its batch mates, and methods are compared
      on the same subsets); Quantus draws fresh subsets per instance from NumPy's global state.
    * Quantus' default ``perturb_baseline="black"`` is the instance's minimum (``baseline="min"``
      here); ours is the task's baseline, the value attribution methods treat as absent.
    * Quantus normalises attributions by their maximum magnitude first; Pearson's correlation is
      invariant to that positive scaling, so we skip it.
    * Where either side is constant over the subsets (a zero attribution, an output no subset
      moves) the correlation is undefined: we report 0 (no linear association), Quantus NaN.
      "Constant" is judged relative to the scale (:mod:`xaibench.tolerance`): drops whose spread
      is rounding-level next to ``|f|`` are constant, so rounding noise is never correlated;
      ``evaluate`` reports the share of such instances as ``degenerate_fraction``.
      Scale-free: ``c·f`` and ``c·φ`` give the same value for any ``c > 0``. Needs 2 players.
    * Subsets act on the task's players (image patches, one-hot blocks), Quantus' on features.
    """

    name: ClassVar[str] = "faithfulness_correlation"
    category: ClassVar[str] = "faithfulness"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "Pearson correlation of subset attribution and output drop (Bhatt et al. 2020)"
    min_players: ClassVar[int] = 2

    nr_runs: int = 100
    subset_size: int | None = None
    subset_fraction: float = 0.25
    baseline: Annotated[str, OneOf(STRATEGIES)] = "task"
    absolute: bool = False
    blur_sigma: Annotated[float, Gt(0)] = 0.1
    road_noise: Annotated[float, Ge(0)] = 0.01

    def __post_init__(self) -> None:
        if self.nr_runs < 2:
            raise InvalidParameterError(f"{self.name}: nr_runs must be at least 2 for a correlation, got {self.nr_runs}")
        if self.subset_size is not None and self.subset_size < 1:
            raise InvalidParameterError(f"{self.name}: subset_size must be at least 1, got {self.subset_size}")
        if self.subset_size is None and not 0 < self.subset_fraction <= 1:
            raise InvalidParameterError(f"{self.name}: subset_fraction must be in (0, 1], got {self.subset_fraction}")

    def check(self, task: "Task", method: "Method") -> None:
        super().check(task, method)
        check_strategy(task, self.baseline, self.name)
        self.size(task.players.n)

    def size(self, n_players: int) -> int:
        """``|S|`` for a task with ``n_players`` players."""
        size = self.subset_size if self.subset_size is not None else max(1, round(self.subset_fraction * n_players))
        if size > n_players:
            raise NotApplicableError(
                f"{self.name}: subset_size={size} exceeds the task's {n_players} players; use subset_fraction instead")
        return size

    def subsets(self, task: "Task", seed: int) -> Tensor:
        """The ``(R, G)`` 0/1 subsets this call draws (shared by every instance)."""
        n = task.players.n
        return random_subsets(n, self.size(n), self.nr_runs, derived_seed(seed, self.name), task.device)

    def __call__(self, task, x, attributions, method, *, seed=0) -> Tensor:
        return self.evaluate(task, x, attributions, method, seed=seed).values

    def evaluate(self, task, x, attributions, method, *, seed=0) -> MetricOutput:
        """Values and the extra ``degenerate_fraction``: the share of instances whose correlation is
        undefined (attribution sums or output drops constant to rounding) and reported as 0."""
        check_attributions(x, attributions)
        subsets = self.subsets(task, seed).to(x.dtype)
        values, degenerate = self._score(task, x, attributions, subsets, seed=seed)
        return MetricOutput(values, {"degenerate_fraction": float(degenerate.double().mean())})

    def score(self, task: "Task", x: Tensor, attributions: Tensor, subsets: Tensor, *, seed: int = 0) -> Tensor:
        """The metric on given ``(R, G)`` subsets (the reference-agreement tests pass Quantus' draws)."""
        return self._score(task, x, attributions, subsets, seed=seed)[0]

    def _score(self, task, x, attributions, subsets, *, seed):
        players = task.players
        removal = Removal(task, self.baseline, blur_sigma=self.blur_sigma, road_noise=self.road_noise,
                          seed=derived_seed(seed, self.name + "/removal"), who=self.name)
        phi = players.total(attributions.abs() if self.absolute else attributions)  # (N, G)
        keep = players.expand(torch.cat([torch.ones_like(subsets[:1]), subsets == 0]).bool())  # row 0: x itself
        values = evaluate_chunked(task, x, keep.shape[0], lambda xs, _: removal(xs, keep))
        drops = (values[:, :1] - values[:, 1:]).to(torch.float64)  # f(x) − f(x_{S←b}), (N, R)
        sums = (phi @ subsets.to(phi.dtype).T).to(torch.float64)  # Σ_{g∈S} Φ_g, (N, R)
        # the drops are differences of outputs: constant when their spread is rounding next to |f|
        scale = values.abs().amax(-1).to(torch.float64)
        degenerate = is_constant(sums, dtype=x.dtype) | is_constant(drops, scale, dtype=x.dtype)
        return pearson(sums, drops, scale_b=scale, dtype=x.dtype).to(x.dtype), degenerate
