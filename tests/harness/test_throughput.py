"""The throughput sweep and its floors: the floor evaluates exactly the rows each method evaluates,
the sweep's arithmetic and stopping rules, and ``xaibench throughput`` end to end on a small task."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from xaibench.cli import main
from xaibench.memory import rss_bytes
from xaibench.method import get_method
from xaibench.perf import timing
from xaibench.perf.floors import FloorSpec, bare_passes, floor_spec
from xaibench.testing import mlp_task
from xaibench.throughput import Sweep, measure_pair, ratio_summary

GROUPS = torch.tensor([0, 0, 1, 1, 2, 3])


def counted(task):
    """The task with ``f`` wrapped to log (rows, gradient wanted) of every call."""
    calls: list[tuple[int, bool]] = []
    inner = task.f

    def f(x, s):
        calls.append((x.shape[0], x.requires_grad))
        return inner(x, s)

    return dataclasses.replace(task, f=f), calls


def image_task():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(1, 6, 6, generator=g)
    x = torch.rand(3, 1, 6, 6, generator=g)
    from xaibench.testing import task_from_function

    return task_from_function(lambda z: torch.tanh((z * w).flatten(1)).sum(1), x, kind="image", background=x)


def stand_in(explain):
    """A method-like object whose ``explain(task, x)`` is ``explain(x)`` (no floor: family "control")."""

    class StandIn:
        name, family = "stand_in", "control"

        def check(self, task):
            pass

        def explain(self, task, x, *, seed=0):
            return explain(x)

    return StandIn()


CASES = {  # method name → (params, task maker)
    "saliency": ({}, lambda: mlp_task(6, n_instances=3)),
    "integrated_gradients": ({"n_steps": 7}, lambda: mlp_task(6, n_instances=3)),
    "smoothgrad": ({"n_samples": 5}, lambda: mlp_task(6, n_instances=3)),
    "vargrad": ({"n_samples": 4}, lambda: mlp_task(6, n_instances=3)),
    "expected_gradients": ({"n_samples": 6}, lambda: mlp_task(6, n_instances=3)),
    "occlusion": ({"window": 2, "stride": 2}, image_task),
    "feature_ablation": ({}, lambda: mlp_task(6, n_instances=3, groups=GROUPS)),
    "kernel_shap": ({"n_samples": 10}, lambda: mlp_task(6, n_instances=3)),
    "permutation_shap": ({"n_samples": 30}, lambda: mlp_task(6, n_instances=3)),
    "exact_shapley": ({}, lambda: mlp_task(6, n_instances=3, groups=GROUPS)),
    "lime": ({"n_samples": 40}, lambda: mlp_task(6, n_instances=3, groups=GROUPS)),  # segments mode: per instance
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("background", ["baseline", "background"])
def test_floor_is_the_rows_the_method_evaluates(name, background):
    params, make = CASES[name]
    method = get_method(name, **params)
    if background == "background":
        if not hasattr(method, "background"):
            pytest.skip("one reference row only")
        method = dataclasses.replace(method, background="background")
    task, calls = counted(make())
    task = dataclasses.replace(task, background=task.background[:4], max_batch=25)
    method.explain(task, task.inputs, seed=0)
    spec = floor_spec(method, task)
    used = [(rows, grad) for rows, grad in calls if rows]
    assert sum(rows for rows, _ in used) == len(task.inputs) * spec.rows_per_instance
    assert {grad for _, grad in used} == {spec.backward}
    calls.clear()
    bare_passes(task, task.inputs, spec)()
    assert sum(rows for rows, _ in calls) == len(task.inputs) * spec.rows_per_instance
    assert {grad for _, grad in calls} == {spec.backward} and max(rows for rows, _ in calls) <= task.max_batch


def test_floor_rows_are_the_instances_or_noisy_copies_like_the_methods():
    task, calls = counted(mlp_task(6, n_instances=2))
    seen = []
    inner = task.f
    task = dataclasses.replace(task, f=lambda z, s: seen.append(z.detach().clone()) or inner(z, s))
    bare_passes(task, task.inputs, floor_spec(get_method("integrated_gradients", n_steps=3), task))()
    torch.testing.assert_close(torch.cat(seen), task.inputs.repeat(3, 1))  # exact copies
    seen.clear()
    spec = floor_spec(get_method("smoothgrad", n_samples=500, noise_level=0.2), task)
    assert spec.noise_level == 0.2 and spec.describe() == "500 rows, forward+backward, noisy copies"
    bare_passes(task, task.inputs, spec)()
    rows = torch.cat(seen)
    spread = task.inputs.amax(1) - task.inputs.amin(1)
    for i in range(2):
        deviation = rows[i::2] - task.inputs[i]
        assert deviation.std().item() == pytest.approx(0.2 * spread[i].item(), rel=0.1)


def test_tabular_lime_needs_fewer_rows_than_its_floor():
    """Tabular lime evaluates its shared points once per distinct class: at most the per-instance floor."""
    task, calls = counted(mlp_task(6, n_instances=5))
    method = get_method("lime", n_samples=40)
    method.explain(task, task.inputs, seed=0)
    spec = floor_spec(method, task)
    assert spec == FloorSpec(40, backward=False)
    assert sum(rows for rows, _ in calls if rows) < len(task.inputs) * spec.rows_per_instance


@pytest.mark.parametrize("name", ["random", "input", "tree_surrogate", "kernel_shap_ref"])
def test_methods_without_a_model_pass_floor_have_none(name):
    assert floor_spec(get_method(name), mlp_task(6)) is None


def test_sweep_points_best_and_stopping_rules():
    task = mlp_task(6, n_instances=8)
    points = measure_pair(get_method("integrated_gradients", n_steps=4), "ig", task, [1, 2, 8, 16],
                          repeats=2, budget_s=60, max_call_s=60)
    assert [p.batch for p in points] == [1, 2, 8]  # 16 > the 8 instances: measured at 8, once
    points += measure_pair(get_method("integrated_gradients", n_steps=4), "ig", task, [4, 12, 16], repeats=1,
                           budget_s=60, max_call_s=60)
    assert [p.batch for p in points[3:]] == [4, 8] and points[-1].note == "all 8 instances of the task"
    points = points[:3]
    for p in points:
        assert p.repeats == 2 and p.explanations_per_second == pytest.approx(p.batch / p.seconds)
        assert p.ratio == pytest.approx(p.seconds / p.floor_seconds) and p.floor == "4 rows, forward+backward"
    sweep = Sweep("cpu", "test cpu", "xaibench throughput --methods ig", {"warmup": 1, "repeats": 2, "budget_s": 60},
                  points)
    assert sweep.best() == [max(points, key=lambda p: p.explanations_per_second)]
    text = sweep.markdown()
    assert "Reproduce: `xaibench throughput --methods ig`" in text and "| × floor" in text and "test cpu" in text
    assert ratio_summary(sweep, 1e9)[0].endswith("within target")
    again = Sweep.from_json(json.loads(json.dumps(sweep.to_json())))
    assert again.points == sweep.points and again.markdown() == text


def test_a_failing_batch_ends_the_pairs_sweep():
    def fragile(x):
        if len(x) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory.")
        return torch.zeros_like(x)

    points = measure_pair(stand_in(fragile), "fragile", mlp_task(6, n_instances=8), [1, 2, 4, 8], repeats=1, budget_s=1,
                          max_call_s=60)
    assert [p.batch for p in points] == [1, 2, 4] and points[-1].note.startswith("OutOfMemoryError: CUDA out of memory")
    assert points[0].floor_seconds is None and points[0].ratio is None


def test_slow_call_ends_the_sweep():
    points = measure_pair(get_method("saliency"), "saliency", mlp_task(6, n_instances=8), [1, 2, 4], repeats=1,
                          budget_s=1, max_call_s=1e-9)
    assert [p.batch for p in points] == [1, 2] and points[1].seconds is None and points[1].note.startswith("not run")


def test_a_batch_expected_to_exceed_the_call_limit_is_not_run(monkeypatch):
    """A fake clock: a call takes 1 s per instance. With a 5 s limit, batch 4 runs (4 s expected), batch 8 does not."""
    clock, calls = [0.0], []

    def slow(x):
        calls.append(len(x))
        clock[0] += len(x)
        return torch.zeros_like(x)

    monkeypatch.setattr(timing, "perf_counter", lambda: clock[0])
    points = measure_pair(stand_in(slow), "slow", mlp_task(6, n_instances=8), [1, 4, 8], repeats=1, budget_s=100,
                          max_call_s=5)
    assert [(p.batch, p.seconds) for p in points] == [(1, 1.0), (4, 4.0), (8, None)]
    assert points[-1].note == "not run: about 8 s a call expected, over the 5 s limit" and 8 not in calls


@pytest.mark.skipif(rss_bytes() is None, reason="RSS is not readable on this platform")
def test_peak_memory_is_that_of_the_first_call_at_a_batch_size():
    def hungry(x):
        block = torch.ones(len(x) * 16 * 1024 * 1024)  # 64 MiB per instance, touched
        return torch.zeros_like(x) + block[:1]

    points = measure_pair(stand_in(hungry), "h", mlp_task(6, n_instances=4), [2], repeats=2, budget_s=100,
                          max_call_s=60)
    assert points[0].peak_memory_mb >= 100  # 128 MiB allocated in the first (warm-up) call


def test_not_applicable_pair_is_one_skipped_row():
    points = measure_pair(get_method("occlusion"), "occlusion", mlp_task(6, kind="image"), [1], repeats=1,
                          budget_s=1, max_call_s=1)
    assert len(points) == 1 and points[0].note.startswith("skipped:")


def test_cli_writes_the_table_and_json(capsys, tmp_path):
    out, data = tmp_path / "speed.md", tmp_path / "speed.json"
    code = main(["throughput", "--methods", "saliency,kernel_shap", "--tasks", "breast_cancer/logreg/logit",
                 "--batch-sizes", "1,2", "--repeats", "1", "--budget", "0.01", "--note", "shared machine",
                 "--output", str(out), "--json", str(data)])
    assert code == 0
    text = out.read_text()
    assert "shared machine" in text and "Device: cpu (" in text
    assert ("`xaibench throughput --suite standard --methods saliency,kernel_shap --tasks breast_cancer/logreg/logit "
            "--device cpu --batch-sizes 1,2 --repeats 1 --budget 0.01 --max-call 60`") in text
    measured = json.loads(data.read_text())
    assert [(p["method"], p["batch"]) for p in measured["points"]] == [("saliency", 1), ("saliency", 2),
                                                                        ("kernel_shap", 1), ("kernel_shap", 2)]
    assert all(p["ratio"] > 0 and p["explanations_per_second"] > 0 for p in measured["points"])
    assert "| breast_cancer/logreg/logit | kernel_shap" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--batch-sizes", "4,1"], "increasing integers"),
    (["--batch-sizes", "a"], "comma-separated integers"),
    (["--methods", "integrated_gradient"], "did you mean"),
])
def test_cli_user_errors(capsys, args, message):
    assert main(["throughput", "--tasks", "breast_cancer/logreg/logit", *args]) == 2
    err = capsys.readouterr().err
    assert message in err.lower() and "Traceback" not in err


def test_process_clock_counts_cpu_seconds(monkeypatch):
    """``--clock process`` times with ``time.process_time``: a method that sleeps costs (almost) nothing."""
    import time

    def sleepy(x):
        time.sleep(0.05)
        return torch.zeros_like(x)

    wall, = measure_pair(stand_in(sleepy), "s", mlp_task(6), [1], repeats=1, budget_s=1, max_call_s=60)
    cpu, = measure_pair(stand_in(sleepy), "s", mlp_task(6), [1], repeats=1, budget_s=1, max_call_s=60, clock="process")
    assert wall.seconds >= 0.05 > 10 * cpu.seconds


def test_cli_process_clock_and_threads(capsys, monkeypatch):
    threads = torch.get_num_threads()
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # keep this process's setting
    code = main(["throughput", "--methods", "saliency", "--tasks", "breast_cancer/logreg/logit", "--batch-sizes", "1",
                 "--repeats", "1", "--clock", "process", "--threads", str(threads)])
    out = capsys.readouterr().out
    assert code == 0 and f"--clock process --threads {threads}`" in out and "CPU seconds of the process" in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cli_cuda_without_cuda_is_a_clean_error(capsys):
    assert main(["throughput", "--device", "cuda", "--methods", "saliency"]) == 2
    assert "no CUDA device is available" in capsys.readouterr().err
