"""Floors: the bare forward (and backward) passes an explanation must spend, as callables to time.

A method that evaluates the task's ``f`` on ``P`` rows per explained instance (path points, noisy
copies, coalitions, occluded copies) cannot be faster than the model's own passes over those
``N × P`` rows; its time divided by the floor's is its overhead (1.00: none). Two kinds of floor:

* :func:`prepared_pass` — the passes over given points, built beforehand (the side-by-side tables
  of ``python -m xaibench.perf`` use each method's real points: IG's path, KernelSHAP's masks).
* :func:`bare_passes` — ``N × P`` rows streamed through one prepared buffer, for any method and
  batch size without holding ``N × P`` rows in memory (``xaibench throughput``). The values do not
  matter for the time of a dense network's pass, only the number of rows and the chunking.

Both go through :class:`~xaibench.task.BoundTarget`, so they are chunked exactly as the methods'
own passes: ``task.max_batch`` rows a pass, halved where memory runs out (:mod:`xaibench.chunking`).
:func:`floor_spec` says how many rows a registered method needs per instance, and whether it
needs gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from xaibench.method import Method
    from xaibench.task import Task


@dataclass(frozen=True)
class FloorSpec:
    """``rows_per_instance`` model evaluations per explained instance, with gradients when ``backward``.

    The rows are copies of the instances, with Gaussian noise of standard deviation ``noise_level``
    times each instance's range (``noise_stdev`` when given) for methods that evaluate noisy copies:
    on the CPU a network's pass can depend on the values (the MNIST CNN takes ~20 % longer on
    noisy digits than on clean ones), so the floor sees the kind of inputs the method does.
    """

    rows_per_instance: int
    backward: bool
    noise_level: float = 0.0
    noise_stdev: float | None = None

    def describe(self) -> str:
        noisy = "" if not (self.noise_level or self.noise_stdev) else ", noisy copies"
        return f"{self.rows_per_instance} rows, {'forward+backward' if self.backward else 'forward'}{noisy}"


def floor_spec(method: "Method", task: "Task") -> FloorSpec | None:
    """The rows of ``f`` that ``method`` needs per instance of ``task``, or ``None`` (no floor defined).

    * gradient methods (``points_per_instance``: 1 for saliency, ``n_steps`` for integrated
      gradients, ``n_samples`` for SmoothGrad, VarGrad, expected gradients): forward + backward,
      on noisy copies at the method's noise level for SmoothGrad and VarGrad;
    * ``occlusion``, ``feature_ablation``: one row per window or player, plus the instance;
    * ``kernel_shap``: the design's coalitions plus ∅ and the full one, ``permutation_shap``: its
      chains, ``exact_shapley``: all ``2^G`` — each times the reference rows (1, or B background rows);
    * ``lime``: ``n_samples`` per instance (its neighbourhood). In tabular mode lime evaluates
      shared points once per distinct predicted class, so it can beat this floor (ratio < 1).

    Controls (no model evaluation), surrogates (a CPU student fit dominates) and the per-instance
    reference wrappers have no floor.
    """
    name, g = method.name, task.players.n
    references = task.background.shape[0] if getattr(method, "background", "baseline") == "background" else 1
    if name == "kernel_shap":
        from xaibench.methods._coalitions import shapley_kernel_design  # noqa: PLC0415
        from xaibench.rng import generator  # noqa: PLC0415

        coalitions = shapley_kernel_design(g, method.n_samples, generator(0)).coalitions.shape[0]
        return FloorSpec((coalitions + 2) * references, backward=False)
    if name == "permutation_shap":
        return FloorSpec((2 * method.n_pairs(g) * max(g - 1, 0) + 2) * references, backward=False)
    if name == "exact_shapley":
        return FloorSpec(2**g * references, backward=False)
    if name == "lime":
        return FloorSpec(method.n_samples, backward=False)
    if name in ("occlusion", "feature_ablation"):
        return FloorSpec(method.points_per_instance(task) + 1, backward=False)
    if method.family == "gradient" and hasattr(method, "points_per_instance"):
        return FloorSpec(method.points_per_instance(task), backward=True,
                         noise_level=getattr(method, "noise_level", 0.0), noise_stdev=getattr(method, "stdev", None))
    return None


def prepared_pass(task: "Task", x: Tensor, points: Tensor, *, backward: bool) -> Callable[[], object]:
    """The bare passes over ``points`` ``(N, K, *F)`` (or ``(N, *F)``), pinned at the instances ``x``."""
    bound = task.bind(x)
    if backward:
        return lambda: bound.value_and_grad(points)

    def forward() -> Tensor:
        with torch.no_grad():
            return bound(points)

    return forward


def bare_passes(task: "Task", x: Tensor, spec: FloorSpec) -> Callable[[], None]:
    """The bare passes over ``N × spec.rows_per_instance`` rows, ``task.max_batch`` rows at a time.

    One buffer of ``min(N·P, max_batch)`` rows (the instances, repeated, noisy as ``spec`` says) is
    prepared once; each call evaluates ``N·P`` rows of it, chunk by chunk.
    """
    n_rows = x.shape[0] * spec.rows_per_instance
    chunk = max(1, min(n_rows, task.max_batch))
    repeats = -(-chunk // x.shape[0])
    rows = x.repeat(repeats, *[1] * (x.dim() - 1))[:chunk]
    if spec.noise_level or spec.noise_stdev:
        flat = rows.reshape(chunk, -1)
        sigma = spec.noise_stdev if spec.noise_stdev is not None else spec.noise_level * (flat.amax(1) - flat.amin(1))
        g = torch.Generator(device=x.device).manual_seed(0)
        noise = torch.randn(flat.shape, generator=g, device=x.device, dtype=x.dtype)
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1)
        rows = (flat + noise * sigma).reshape(rows.shape)
    bound = task.bind(rows)
    sizes = [min(chunk, n_rows - start) for start in range(0, n_rows, chunk)]
    parts = {size: (rows[:size], bound.rows(slice(0, size))) for size in set(sizes)}

    def run() -> None:
        for size in sizes:
            z, target = parts[size]
            if spec.backward:
                target.value_and_grad(z)
            else:
                with torch.no_grad():
                    target(z)

    return run
