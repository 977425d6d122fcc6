"""pytest-benchmark cases for integrated gradients: ours, captum's, and the floor (skipped by default;
run with ``pytest tests/perf/test_perf_gradients.py --benchmark-only``). The side-by-side table with
ratios is ``python -m xaibench.perf.gradients``."""

from __future__ import annotations

import pytest

from xaibench.method import get_method
from xaibench.perf.gradients import N_STEPS, benchmark_task, captum_pass, floor_pass


@pytest.fixture(scope="module")
def task():
    return benchmark_task("cpu")


def test_floor_forward_backward(benchmark, task):
    benchmark(floor_pass(task, task.inputs, N_STEPS))


def test_integrated_gradients(benchmark, task):
    method = get_method("integrated_gradients", n_steps=N_STEPS)
    benchmark(method.explain, task, task.inputs)


def test_captum_integrated_gradients(benchmark, task):
    pytest.importorskip("captum")
    benchmark(captum_pass(task, task.inputs, N_STEPS))
