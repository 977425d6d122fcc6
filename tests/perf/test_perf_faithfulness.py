"""pytest-benchmark cases for the faithfulness metrics: ours, Quantus', and the floors (skipped by default;
run with ``pytest tests/perf/test_perf_faithfulness.py --benchmark-only``). The side-by-side table with
ratios is ``python -m xaibench.perf.faithfulness``.
"""

from __future__ import annotations

import pytest

from xaibench.perf.faithfulness import (
    NR_RUNS,
    benchmark_attributions,
    benchmark_task,
    best_floor,
    our_correlation,
    our_deletion,
    quantus_correlation_pass,
    quantus_flipping_pass,
)


@pytest.fixture(scope="module")
def setup():
    task, module, _ = benchmark_task("cpu")
    return task, module, benchmark_attributions(task)


def test_floor_correlation(benchmark, setup):
    task, _, _ = setup
    benchmark(best_floor(task, task.inputs, NR_RUNS + 1)[1])


def test_faithfulness_correlation(benchmark, setup):
    task, _, phi = setup
    benchmark(our_correlation(), task, task.inputs, phi, None, seed=0)


def test_quantus_faithfulness_correlation(benchmark, setup):
    pytest.importorskip("quantus")
    task, module, phi = setup
    benchmark.pedantic(quantus_correlation_pass(module, task, task.inputs, phi), rounds=3)


def test_floor_deletion(benchmark, setup):
    task, _, _ = setup
    benchmark(best_floor(task, task.inputs, our_deletion(task).n_steps + 1)[1])


def test_deletion_auc(benchmark, setup):
    task, _, phi = setup
    benchmark(our_deletion(task), task, task.inputs, phi, None, seed=0)


def test_quantus_pixel_flipping(benchmark, setup):
    pytest.importorskip("quantus")
    task, module, phi = setup
    benchmark.pedantic(quantus_flipping_pass(module, task, task.inputs, phi), rounds=3)
