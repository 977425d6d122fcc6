"""Cost metrics called directly, and the peak-memory probe."""

from __future__ import annotations

import pytest
import torch

from xaibench import get_metric
from xaibench.memory import PeakMemory, rss_bytes
from xaibench.metrics.cost import ExplanationsPerSecond, PeakMemoryMB, timed_explain
from xaibench.testing import linear_task

from .toys import ToyExact


@pytest.fixture(scope="module")
def task():
    return linear_task(torch.tensor([1.0, -2.0, 3.0]), torch.randn(5, 3, generator=torch.Generator().manual_seed(0)))


def test_cost_metrics_time_the_method_themselves(task):
    method = ToyExact()
    eps = get_metric("explanations_per_second")(task, task.inputs, None, method, seed=0)
    assert eps.shape == (1,) and eps.dtype == torch.float64 and eps.item() > 0
    mem = PeakMemoryMB()(task, task.inputs, None, method, seed=0)
    assert mem.shape == (1,) and (mem.isnan().item() if rss_bytes() is None else mem.item() >= 0)
    assert ExplanationsPerSecond.category == PeakMemoryMB.category == "cost"
    assert not ExplanationsPerSecond.per_instance


def test_timed_pass_warms_up_then_reseeds(task):
    calls = []

    class Counting(ToyExact):
        def explain(self, task, x, *, seed=0):
            calls.append(len(x))
            return super().explain(task, x, seed=seed)

    measured = timed_explain(Counting(), task, task.inputs, seed=0, before=lambda: calls.append("before"))
    assert calls == [1, "before", 5]  # untimed warm-up on one instance, then the hook, then the pass
    assert measured.n == 5 and measured.seconds > 0 and measured.explanations_per_second == 5 / measured.seconds
    torch.testing.assert_close(measured.attributions, task.ground_truth(task.inputs))


@pytest.mark.skipif(rss_bytes() is None, reason="RSS is not readable on this platform")
def test_cpu_peak_memory_sees_a_large_allocation():
    with PeakMemory("cpu") as peak:
        block = torch.ones(64 * 1024 * 1024 // 4 * 3)  # 192 MiB, touched
        del block
    assert peak.mib >= 150
    with PeakMemory("cpu") as idle:
        pass
    assert 0 <= idle.mib < 50
