"""pytest-benchmark cases for the stability metrics: ours, Quantus', and the floor (skipped by default;
run with ``pytest tests/perf/test_perf_stability.py --benchmark-only``). The side-by-side table with
ratios and agreement is ``python -m xaibench.perf.stability``."""

from __future__ import annotations

import pytest

from xaibench.method import get_method
from xaibench.metric import get_metric
from xaibench.perf.stability import N_SAMPLES, SETTINGS, benchmark_task, floor_pass, quantus_noise, quantus_saliency


@pytest.fixture(scope="module")
def setup():
    task, module, _ = benchmark_task("cpu")
    method = get_method("saliency")
    return task, module, method, method.explain(task, task.inputs, seed=0)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_floor(benchmark, setup, name):
    task, _, method, _ = setup
    metric = get_metric(name, n_samples=N_SAMPLES, **SETTINGS[name][0])
    noise = metric.neighbourhood_noise(task.inputs, 0)
    benchmark(floor_pass(task, method, task.inputs.unsqueeze(1) + noise, decisions=name == "ris"))


@pytest.mark.parametrize("name", list(SETTINGS))
def test_xaibench(benchmark, setup, name):
    task, _, method, phi = setup
    metric = get_metric(name, n_samples=N_SAMPLES, **SETTINGS[name][0])
    benchmark(metric, task, task.inputs, phi, method, seed=0)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_quantus(benchmark, setup, name):
    quantus = pytest.importorskip("quantus")
    task, module, _, phi = setup
    params, reference = SETTINGS[name]
    noise = get_metric(name, n_samples=N_SAMPLES, **params).neighbourhood_noise(task.inputs, 0)
    metric = getattr(quantus, reference)(nr_samples=N_SAMPLES, perturb_func=quantus_noise(noise.numpy()), abs=False,
                                         normalise=False, disable_warnings=True)
    benchmark.pedantic(metric, kwargs=dict(model=module, x_batch=task.inputs.numpy(), y_batch=task.select(task.inputs).numpy(),
                                           a_batch=phi.numpy(), explain_func=quantus_saliency(task), device="cpu",
                                           batch_size=64), rounds=3)
