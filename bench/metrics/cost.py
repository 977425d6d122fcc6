"""Cost metrics: throughput and peak memory of an explanation pass, with the device named.

The runner explains each (task, method, seed) through :func:`timed_explain` and turns that
measurement into the cost records (``CostMetric.from_pass``) and feeds its attributions to every
other metric. Called directly through the API, ``metric(task, x, attributions, method, seed=s)``
ignores ``attributions`` and times ``method.explain(task, x, seed=s)`` itself the same way. Both
return one value per cell (``per_instance = False``), so a cost record's ``values`` holds a single
number; over several seeds the leaderboard averages them.

The measurement (the same one ``xaibench throughput`` makes, :mod:`xaibench.perf.timing`): one
untimed warm-up call on the first instance, then up to :data:`COST_REPEATS` timed passes over all
instances, stopping early once the timed passes total :data:`COST_BUDGET_SECONDS`. A pass of a
second or more is thus timed once (its relative noise is small); shorter passes, the noisy ones,
get the median of two or three. The repeats add at most about one second to a cell (the
standard suite's 4,896 cells: under 1.5 hours on top of about two days on 2 CPU cores). The
reported time is the median pass; peak memory is that of the first timed pass.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import Tensor

from ..metric import Metric, register_metric
from ..perf.timing import time_calls

if TYPE_CHECKING:
    from ..method import Method
    from ..task import Task


COST_REPEATS = 3
"""The most timed passes behind a cost record (their median is reported)."""
COST_BUDGET_SECONDS = 1.0
"""No further pass is timed once the timed passes of a cell total this many seconds."""


@dataclass(frozen=True)
class ExplainPass:
    """``method.explain`` over ``n`` instances, timed: ``seconds`` is the median of ``repeats`` passes."""

    attributions: Tensor
    n: int
    seconds: float
    peak_memory_mb: float | None
    device: str
    device_name: str
    repeats: int = 1

    @property
    def explanations_per_second(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else math.inf


def timed_explain(method: "Method", task: "Task", x: Tensor, *, seed: int, warmup: bool = True,
                  before: Callable[[], None] | None = None, repeats: int = COST_REPEATS,
                  budget_s: float = COST_BUDGET_SECONDS) -> ExplainPass:
    """Explain ``x``, measuring the median wall seconds of up to ``repeats`` passes and the peak memory.

    With ``warmup``, one untimed call on the first instance goes first, so one-off costs (lazy
    imports such as shap or lime, kernel compilation, allocator growth) are not charged to the
    pass. Then passes over all of ``x`` are timed until ``repeats`` are done or they total
    ``budget_s`` seconds (at least one; see the module docstring). ``before`` runs before every
    timed pass, outside the clock (the runner reseeds there, so every pass computes the same
    attributions); the attributions returned are the first timed pass's. CUDA work is
    synchronised before the clock starts and before it stops.
    """
    if warmup and len(x) > 0:
        method.explain(task, x[:1], seed=seed)
    timing = time_calls(lambda: method.explain(task, x, seed=seed), repeats=repeats, warmup=0, device=x.device,
                        budget_s=budget_s, before=before, memory=True)
    return ExplainPass(timing.result, len(x), timing.median, timing.peak_memory_mb, str(x.device),
                       device_name(x.device), timing.repeats)


def device_name(device: torch.device | str) -> str:
    """``"NVIDIA H100 80GB HBM3"`` or ``"Intel(R) Xeon(R) ... (2 threads)"`` (``"(1 thread)"``)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{_cpu_model()} ({threads(torch.get_num_threads())})"


def threads(n: int) -> str:
    """``"1 thread"``, ``"2 threads"``."""
    return f"{n} thread{'' if n == 1 else 's'}"


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
    """Throughput: instances explained per wall-clock second, ``n / seconds`` of the median pass.

    A pass is ``method.explain`` on all ``n`` instances of the cell at once (the method's own
    batching applies); the median is over up to 3 passes within a 1-second budget, after one
    untimed warm-up call on the first instance, with CUDA synchronised at both ends (see the
    module docstring). Data loading, model loading and metrics are not included. Compare
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
    not seen); ``None`` where RSS cannot be read. Measured on the first timed pass of
    ``explanations_per_second``'s measurement.
    """

    name: ClassVar[str] = "peak_memory_mb"
    description: ClassVar[str] = "peak memory (MiB) added by one explanation pass (CUDA allocator / CPU RSS)"
    higher_is_better: ClassVar[bool] = False

    def from_pass(self, measured: ExplainPass) -> float | None:
        return measured.peak_memory_mb


COST_METRICS: tuple[type[CostMetric], ...] = (ExplanationsPerSecond, PeakMemoryMB)
