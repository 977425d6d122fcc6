"""pytest-benchmark cases for lime: ours, the lime package, the floor and the forward passes lime needs
(skipped by default; run with ``pytest tests/perf/test_perf_lime.py --benchmark-only``). The side-by-side
table with ratios is ``python -m xaibench.perf.lime``."""

from __future__ import annotations

import pytest

from xaibench.method import get_method
from xaibench.perf.gradients import benchmark_task
from xaibench.perf.lime import N_INSTANCES, N_SAMPLES, distinct_pass, floor_pass, lime_package_pass


@pytest.fixture(scope="module")
def task():
    task = benchmark_task("cpu")
    return task.with_inputs(task.inputs[:N_INSTANCES])


def test_floor_forward_passes(benchmark, task):
    benchmark(floor_pass(task, task.inputs, N_SAMPLES))


def test_distinct_forward_passes(benchmark, task):
    benchmark(distinct_pass(task, task.inputs, N_SAMPLES))


def test_lime(benchmark, task):
    benchmark(get_method("lime", n_samples=N_SAMPLES).explain, task, task.inputs)


def test_lime_package(benchmark, task):
    pytest.importorskip("lime")
    benchmark.pedantic(lime_package_pass(task, task.inputs, N_SAMPLES), rounds=2, iterations=1)
