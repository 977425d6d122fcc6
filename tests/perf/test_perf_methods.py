"""pytest-benchmark cases for SmoothGrad and occlusion on the MNIST CNN, each beside its floor (skipped by
default; run with ``pytest tests/perf/test_perf_methods.py --benchmark-only``). The floors are those of
``xaibench throughput`` (:func:`xaibench.perf.floors.bare_passes`); the sweep over batch sizes with
ratios is ``xaibench throughput --methods smoothgrad,occlusion --tasks mnist_5k/cnn/logit``."""

from __future__ import annotations

import pytest

from xaibench.method import get_method
from xaibench.perf.faithfulness import benchmark_task
from xaibench.perf.floors import bare_passes, floor_spec

N_INSTANCES = 16
METHODS = {"smoothgrad": {"n_samples": 50, "noise_level": 0.15}, "occlusion": {"window": 3, "stride": 1}}


@pytest.fixture(scope="module")
def task():
    task, _, _ = benchmark_task("cpu")
    return task.with_inputs(task.inputs[:N_INSTANCES])


@pytest.mark.parametrize("name", list(METHODS))
def test_method(benchmark, task, name):
    benchmark(get_method(name, **METHODS[name]).explain, task, task.inputs)


@pytest.mark.parametrize("name", list(METHODS))
def test_floor(benchmark, task, name):
    method = get_method(name, **METHODS[name])
    benchmark(bare_passes(task, task.inputs, floor_spec(method, task)))
