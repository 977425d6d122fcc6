"""Every registered method and metric computes the same numbers on another device or dtype.

The harness runs a method (or a metric, given the same attributions) on two configurations of
the same zoo task — the reference, CPU float32, and a variant — and compares the outputs:

* ``cuda``: the task built on CUDA, float32 at full precision (``load_task`` turns TF32 off);
  skipped where no GPU exists, run where one does (``python -m xaibench.perf.gpu_check``);
* ``float64``: the task built in float64 on the CPU — always on, so the harness itself runs in CI
  and a change that breaks it cannot pass unnoticed (:func:`test_harness_catches_a_discrepancy`
  checks that it fails on a real difference).

Tolerance (stated once, for every entry): attributions agree when
``max |φ_variant − φ_cpu| ≤ RTOL · max |φ_cpu|`` (relative to the largest attribution of the
batch, or absolute when that is 0); metric values when ``max |m_variant − m_cpu| ≤ RTOL · max(1, max |m_cpu|)``
(absolute for bounded scores such as correlations, relative for unbounded ones), NaN where the
reference is NaN. ``RTOL = 1e-3``: float32 evaluation of the same model differs by ~1e-6
relative, and the methods' sums and solves amplify that by at most a few hundred.

No entry is exempt. Every draw is made by :mod:`xaibench.rng` (counter-based hashing in integer
arithmetic, uniforms on a fixed float32 grid, normals in float32, instance keys hashed from the
float32-rounded values), so a CUDA or float64 task draws the numbers a CPU float32 task draws;
KernelSHAP's and permutation SHAP's designs are drawn on the CPU and moved. ``tree_surrogate``,
discontinuous in ``f``, fits its targets on a power-of-two grid
(:func:`xaibench.methods.surrogate.on_grid`) so its ties are exact and broken alike everywhere.
On CUDA the task loader turns TF32 off (:func:`xaibench.tasks.full_float32`): the test relies on
that, it does not set the flags itself. Cost metrics measure the device itself and are not compared.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import pytest
import torch

from xaibench.errors import NotApplicableError
from xaibench.method import get_method
from xaibench.metric import get_metric
from xaibench.registries import methods, metrics
from xaibench.tasks import load_task

RTOL = 1e-3
TASKS = {"tabular": ("synthetic_linear", "mlp", "logit"), "image": ("digits", "cnn", "logit")}
N_INSTANCES, N_BACKGROUND = 4, 16

METHOD_PARAMS = {"n_samples": 64, "n_steps": 16, "perturbations_per_eval": 64}  # small budgets, where a method has them
METRIC_PARAMS = {"n_samples": 4, "n_seeds": 3, "nr_runs": 20, "n_coalitions": 32}

VARIANTS = {
    "cuda": pytest.param(("cuda", torch.float32), id="cuda", marks=pytest.mark.skipif(
        not torch.cuda.is_available(), reason="no CUDA device here; runs where one exists")),
    "float64": pytest.param(("cpu", torch.float64), id="float64"),
}
METHODS = [n for n in methods.names()]
METRICS = [n for n in metrics.names() if metrics.get(n).category != "cost"]


@lru_cache(maxsize=8)
def task_on(kind: str, device: str, dtype: torch.dtype):
    dataset, model, target = TASKS[kind]
    return load_task(dataset, model, target, device=device, dtype=dtype, n_instances=N_INSTANCES,
                     n_background=N_BACKGROUND)


def small(registry, name: str, params: dict):
    fields = {f.name for f in dataclasses.fields(registry.get(name))}
    return {k: v for k, v in params.items() if k in fields}


def discrepancy(variant: torch.Tensor, reference: torch.Tensor, *, scale_floor: float) -> float:
    """``max |variant − reference| / max(scale_floor, max |reference|)``, NaNs required at the same places."""
    variant = variant.detach().to("cpu", torch.float64)
    reference = reference.detach().to("cpu", torch.float64)
    assert variant.shape == reference.shape, (tuple(variant.shape), tuple(reference.shape))
    nan = reference.isnan()
    assert torch.equal(nan, variant.isnan()), "NaN at different places"
    if nan.all():
        return 0.0
    diff = (variant - reference)[~nan].abs().max().item()
    scale = max(scale_floor, reference[~nan].abs().max().item())
    return diff / scale if scale > 0 else diff


def run_method(name: str, kind: str, device: str, dtype: torch.dtype) -> torch.Tensor | None:
    """The method's attributions in this configuration, checked to live there; ``None`` if it does not apply."""
    task = task_on(kind, device, dtype)
    method = get_method(name, **small(methods, name, METHOD_PARAMS))
    try:
        method.check(task)
    except NotApplicableError:
        return None
    phi = method.explain(task, task.inputs, seed=0)
    assert phi.device.type == torch.device(device).type and phi.dtype == dtype, "the output left the configuration"
    return phi


def run_metric(name: str, kind: str, device: str, dtype: torch.dtype) -> torch.Tensor | None:
    """The metric's values for fixed attributions (CPU saliency, moved here); metrics that re-explain use
    integrated gradients (deterministic: its own numbers are the same everywhere)."""
    reference = task_on(kind, "cpu", torch.float32)
    phi = get_method("saliency", abs=False).explain(reference, reference.inputs, seed=0)
    task = task_on(kind, device, dtype)
    method = get_method("integrated_gradients", n_steps=8)
    metric = get_metric(name, **small(metrics, name, METRIC_PARAMS))
    try:
        metric.check(task, method)
    except NotApplicableError:
        return None
    values = metric(task, task.inputs, phi.to(device=device, dtype=dtype), method, seed=0)
    assert values.device.type == torch.device(device).type, "the values left the device"
    return values


@lru_cache(maxsize=256)
def reference_method(name: str, kind: str):
    return run_method(name, kind, "cpu", torch.float32)


@lru_cache(maxsize=256)
def reference_metric(name: str, kind: str):
    return run_metric(name, kind, "cpu", torch.float32)


def compare(run, reference, name: str, kind: str, config, *, scale_floor: float) -> float:
    """Run ``name`` in ``config``, compare with the CPU float32 reference, return the discrepancy (assert ≤ RTOL)."""
    device, dtype = config
    expected = reference(name, kind)
    if expected is None:
        pytest.skip(f"{name} does not apply to the {kind} task")
    got = run(name, kind, device, dtype)
    gap = discrepancy(got, expected, scale_floor=scale_floor)
    assert gap <= RTOL, f"{name} on {TASKS[kind]}: {device}/{dtype} differs from cpu/float32 by {gap:.2e} (> {RTOL:g})"
    return gap


def cases(names: list[str]):
    return [pytest.param(param.values[0], name, kind, id=f"{variant}-{name}-{kind}", marks=param.marks)
            for variant, param in VARIANTS.items() for name in names for kind in TASKS]


@pytest.mark.parametrize("config, name, kind", cases(METHODS))
def test_method_equals_cpu(config, name, kind):
    compare(run_method, reference_method, name, kind, config, scale_floor=0.0)


@pytest.mark.parametrize("config, name, kind", cases(METRICS))
def test_metric_equals_cpu(config, name, kind):
    compare(run_metric, reference_metric, name, kind, config, scale_floor=0.0)


def test_harness_catches_a_discrepancy(monkeypatch):
    """The harness fails on a real difference: a method off by 1 % in float64 is caught, one at 1e-5 is not."""
    saliency = type(get_method("saliency"))
    original = saliency.explain
    reference = lambda name, kind: run_method(name, kind, "cpu", torch.float32)  # noqa: E731 - not cached

    def nudged(factor):
        def explain(self, task, x, *, seed=0):
            phi = original(self, task, x, seed=seed)
            return phi * (1 + factor) if x.dtype == torch.float64 else phi
        return explain

    monkeypatch.setattr(saliency, "explain", nudged(1e-2))
    with pytest.raises(AssertionError, match="differs from cpu/float32 by 1.00e-02"):
        compare(run_method, reference, "saliency", "tabular", ("cpu", torch.float64), scale_floor=0.0)
    monkeypatch.setattr(saliency, "explain", nudged(1e-5))
    gap = compare(run_method, reference, "saliency", "tabular", ("cpu", torch.float64), scale_floor=0.0)
    assert 0 < gap < RTOL


def test_harness_checks_where_outputs_live(monkeypatch):
    """An output that silently stays in float32 (or on the CPU) is reported, not compared."""
    saliency = type(get_method("saliency"))
    original = saliency.explain
    monkeypatch.setattr(saliency, "explain",
                        lambda self, task, x, *, seed=0: original(self, task, x, seed=seed).float())
    with pytest.raises(AssertionError, match="left the configuration"):
        run_method("saliency", "tabular", "cpu", torch.float64)


def test_discrepancy_scales():
    ref = torch.tensor([2.0, -4.0, float("nan")])
    assert discrepancy(ref + torch.tensor([0.0, 0.04, 0.0]), ref, scale_floor=0.0) == pytest.approx(0.01)
    assert discrepancy(torch.tensor([0.002]), torch.tensor([0.001]), scale_floor=1.0) == pytest.approx(0.001)
    with pytest.raises(AssertionError, match="NaN at different places"):
        discrepancy(torch.tensor([1.0, 1.0, 1.0]), ref, scale_floor=0.0)


@pytest.fixture
def tf32_flags():
    """Restores torch's TF32 flags after a test that changes them."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_cuda_tasks_and_runs_turn_tf32_off(monkeypatch, tf32_flags):
    """``load_task`` on CUDA turns TF32 off before building the model (checked here without a GPU: the
    model preparation is replaced by a stop), and ``float32_precision`` reports it for the manifest."""
    from xaibench import tasks
    from xaibench.runner import check_device

    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    assert tasks.float32_precision() == "tf32"

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(tasks, "_prepare", stop)
    with pytest.raises(Stop):
        tasks.load_task(*TASKS["tabular"], device="cuda")
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    assert tasks.float32_precision() == "ieee"
    if torch.cuda.is_available():  # the runner's device check does the same
        torch.backends.cudnn.allow_tf32 = True
        check_device("cuda")
        assert tasks.float32_precision() == "ieee"
