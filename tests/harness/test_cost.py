"""Cost metrics called directly, and the peak-memory probe."""

from __future__ import annotations

import pytest
import torch

from xaibench import get_metric
from xaibench.memory import PeakMemory, rss_bytes
from xaibench.metrics.cost import COST_REPEATS, ExplanationsPerSecond, PeakMemoryMB, device_name, timed_explain
from xaibench.perf import timing
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


def test_timed_pass_warms_up_then_reseeds_before_every_repeat(task):
    calls = []

    class Counting(ToyExact):
        def explain(self, task, x, *, seed=0):
            calls.append(len(x))
            return super().explain(task, x, seed=seed)

    measured = timed_explain(Counting(), task, task.inputs, seed=0, before=lambda: calls.append("before"))
    # untimed warm-up on one instance, then COST_REPEATS passes (a toy pass is far below the budget)
    assert calls == [1] + ["before", 5] * COST_REPEATS
    assert measured.repeats == COST_REPEATS == 3
    assert measured.n == 5 and measured.seconds > 0 and measured.explanations_per_second == 5 / measured.seconds
    torch.testing.assert_close(measured.attributions, task.ground_truth(task.inputs))


def test_cost_is_the_median_pass_within_the_time_budget(task, monkeypatch):
    """Passes of 0.4, 0.1, 0.7 s: the median is 0.4 s; a 1 s budget stops after the pass that reaches it."""
    durations = iter([0.4, 0.1, 0.7, 5.0])
    clock = [0.0]

    def fake_perf_counter():  # called at the start and the end of each timed pass
        return clock[0]

    class Timed(ToyExact):
        def explain(self, task, x, *, seed=0):
            if len(x) == len(task.inputs):
                clock[0] += next(durations)
            return super().explain(task, x, seed=seed)

    monkeypatch.setattr(timing, "perf_counter", fake_perf_counter)
    measured = timed_explain(Timed(), task, task.inputs, seed=0)
    assert measured.repeats == 3 and measured.seconds == pytest.approx(0.4)  # 0.4 + 0.1 + 0.7 >= 1.0: stop
    assert measured.explanations_per_second == pytest.approx(5 / 0.4)
    durations = iter([1.5, 0.1])
    assert timed_explain(Timed(), task, task.inputs, seed=0).repeats == 1  # one long pass is timed once


def test_device_name_counts_threads_in_words(monkeypatch):
    """Issue 15 item 7: "(1 thread)", not "(1 threads)"."""
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert device_name("cpu").endswith(" (1 thread)")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert device_name("cpu").endswith(" (2 threads)")


def test_perf_header_counts_threads_in_words(monkeypatch):
    from xaibench.perf.__main__ import device_header

    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    header = device_header("cpu")
    assert "(1 thread)), torch" in header and ", 1 thread on the CPU." in header and "threads" not in header


@pytest.mark.skipif(rss_bytes() is None, reason="RSS is not readable on this platform")
def test_cpu_peak_memory_sees_a_large_allocation():
    with PeakMemory("cpu") as peak:
        block = torch.ones(64 * 1024 * 1024 // 4 * 3)  # 192 MiB, touched
        del block
    assert peak.mib >= 150
    with PeakMemory("cpu") as idle:
        pass
    assert 0 <= idle.mib < 50
