"""Cost metrics: throughput and peak memory of one explanation pass, with the device named.

The runner explains each (task, method, seed) once, timed (:func:`timed_explain`), and turns
that pass into the cost records (``CostMetric.from_pass``) — no second pass. Called directly
through the API, ``metric(task, x, attributions, method, seed=s)`` ignores ``attributions`` and
times ``method.explain(task, x, seed=s)`` itself the same way. Both return one value per pass
(``per_instance = False``), so a cost record's ``values`` holds a single number; over several
seeds the leaderboard averages the passes.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import Tensor

from ..memory import PeakMemory
from ..metric import Metric, register_metric
from ..perf.timing import synchronize

if TYPE_CHECKING:
    from ..method import Method
    from ..task import Task


@dataclass(frozen=True)
class ExplainPass:
    """One timed ``method.explain`` over ``n`` instances."""

    attributions: Tensor
    n: int
    seconds: float
    peak_memory_mb: float | None
    device: str
    device_name: str

    @property
    def explanations_per_second(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else math.inf


def timed_explain(method: "Method", task: "Task", x: Tensor, *, seed: int, warmup: bool = True,
                  before: Callable[[], None] | None = None) -> ExplainPass:
    """Explain ``x`` once, measuring wall seconds and peak memory on ``x``'s device.

    With ``warmup``, one untimed call on the first instance goes first, so one-off costs (lazy
    imports such as shap or lime, kernel compilation, allocator growth) are not charged to the
    pass. ``before`` runs between the warm-up and the timed pass (the runner reseeds there). CUDA
    work is synchronised before the clock starts and before it stops.
    """
    if warmup and len(x) > 0:
        method.explain(task, x[:1], seed=seed)
    if before is not None:
        before()
    synchronize(x.device)
    with PeakMemory(x.device) as peak:
        start = time.perf_counter()
        attributions = method.explain(task, x, seed=seed)
        synchronize(x.device)
        seconds = time.perf_counter() - start
    return ExplainPass(attributions, len(x), seconds, peak.mib, str(x.device), device_name(x.device))


def device_name(device: torch.device | str) -> str:
    """``"NVIDIA H100 80GB HBM3"`` or ``"Intel(R) Xeon(R) ... (2 threads)"``."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{_cpu_model()} ({torch.get_num_threads()} threads)"


@lru_cache(maxsize=1)
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


@dataclass(frozen=True)
class CostMetric(Metric):
    """A number read off an :class:`ExplainPass`."""

    category: ClassVar[str] = "cost"
    per_instance: ClassVar[bool] = False

    def from_pass(self, measured: ExplainPass) -> float | None:
        raise NotImplementedError

    def __call__(self, task: "Task", x: Tensor, attributions: Tensor, method: "Method", *, seed: int = 0) -> Tensor:
        value = self.from_pass(timed_explain(method, task, x, seed=seed))
        return torch.tensor([math.nan if value is None else value], dtype=torch.float64, device=x.device)


@register_metric
@dataclass(frozen=True)
class ExplanationsPerSecond(CostMetric):
    """Throughput: instances explained per wall-clock second, ``n / seconds`` of one pass.

    The pass is ``method.explain`` on all ``n`` instances of the cell at once (the method's own
    batching applies), after one untimed warm-up call on the first instance, with CUDA
    synchronised at both ends. Data loading, model loading and metrics are not included. Compare
    values only between records with the same ``device_name`` (which also names the CPU thread
    count). captum, Quantus and OpenXAI define no such metric; the design's cost table does.
    """

    name: ClassVar[str] = "explanations_per_second"
    description: ClassVar[str] = "instances explained per second in one timed batched pass (device named)"
    higher_is_better: ClassVar[bool] = True

    def from_pass(self, measured: ExplainPass) -> float | None:
        return measured.explanations_per_second


@register_metric
@dataclass(frozen=True)
class PeakMemoryMB(CostMetric):
    """Peak memory (MiB) added by one explanation pass, as measured by :mod:`xaibench.memory`.

    CUDA: peak of ``torch.cuda.max_memory_allocated`` minus the allocation at the start of the
    pass (tensor memory only, exact). CPU: peak increase of the process RSS, sampled every 2 ms by
    a thread — an estimate and a lower bound (short spikes and memory the allocator reuses are
    not seen); ``None`` where RSS cannot be read. Same pass as ``explanations_per_second``.
    """

    name: ClassVar[str] = "peak_memory_mb"
    description: ClassVar[str] = "peak memory (MiB) added by one explanation pass (CUDA allocator / CPU RSS)"
    higher_is_better: ClassVar[bool] = False

    def from_pass(self, measured: ExplainPass) -> float | None:
        return measured.peak_memory_mb


COST_METRICS: tuple[type[CostMetric], ...] = (ExplanationsPerSecond, PeakMemoryMB)
