"""pytest-benchmark cases for KernelSHAP: ours, shap's, captum's, and the floor (skipped by default;
run with ``pytest tests/perf/test_perf_shapley.py --benchmark-only``). The side-by-side tables with
ratios are ``python -m xaibench.perf.shapley``."""

from __future__ import annotations

import pytest

from xaibench.method import get_method
from xaibench.perf.shapley import N_INSTANCES, N_SAMPLES, floor_pass, shapley_task

BACKGROUNDS = ["baseline", "background"]


@pytest.fixture(scope="module")
def task():
    return shapley_task("cpu")


@pytest.fixture(scope="module")
def x(task):
    return task.inputs[:N_INSTANCES]


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_floor_forward(benchmark, task, x, background):
    benchmark(floor_pass(task, x, background))


@pytest.mark.parametrize("name", ["kernel_shap", "permutation_shap"])
@pytest.mark.parametrize("background", BACKGROUNDS)
def test_ours(benchmark, task, x, name, background):
    method = get_method(name, n_samples=N_SAMPLES, background=background)
    benchmark(method.explain, task, x)


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_shap_kernel_explainer(benchmark, task, x, background):
    method = get_method("kernel_shap_ref", n_samples=N_SAMPLES, background=background)
    benchmark.pedantic(method.explain, args=(task, x), rounds=1, iterations=1)


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_captum_kernel_shap_two_instances(benchmark, task, x, background):
    method = get_method("captum_kernel_shap", n_samples=N_SAMPLES, background=background, perturbations_per_eval=1)
    benchmark.pedantic(method.explain, args=(task, x[:2]), rounds=1, iterations=1)
