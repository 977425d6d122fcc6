"""Memory-aware chunking (``xaibench.chunking``): out-of-memory errors injected on the CPU.

The targets below raise the error a device raises when a pass is too large — ``torch.cuda.OutOfMemoryError``
(constructible without a GPU) or the CPU allocator's real ``RuntimeError`` — above a row count, and
count the rows of every call, so the halving and the remembered size are checked exactly.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from xaibench import chunking
from xaibench.method import get_method
from xaibench.task import Task


def limited_task(limit: int, *, max_batch: int = 64, error=None, n: int = 10, d: int = 3) -> tuple[Task, list[int]]:
    """f(x) = Σ w·x² that fails on calls of more than ``limit`` rows; returns the task and the call sizes."""
    calls: list[int] = []
    w = torch.tensor([1.0, -2.0, 0.5])[:d]

    def f(x, _s):
        calls.append(x.shape[0])
        if x.shape[0] > limit:
            if error is None:
                raise torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {x.shape[0]} rows")
            error()
        return (x.square() * w).sum(1)

    inputs = torch.randn(n, d, generator=torch.Generator().manual_seed(0))
    task = Task(dataset="toy", model="oom", target="value", f=f, inputs=inputs, background=inputs,
                baseline=torch.zeros(d), kind="tabular", label_fn=lambda x: torch.zeros(len(x), dtype=torch.long),
                max_batch=max_batch)
    return task, calls


def expected(z: torch.Tensor) -> torch.Tensor:
    return (z.square() * torch.tensor([1.0, -2.0, 0.5])).sum(-1)


def test_forward_pass_halves_until_it_fits_and_remembers_the_size():
    task, calls = limited_task(limit=20)
    z = torch.randn(10, 10, 3, generator=torch.Generator().manual_seed(1))  # 100 rows
    torch.testing.assert_close(task.bind(task.inputs)(z), expected(z))
    assert calls == [64, 32, 16, 16, 16, 16, 16, 16, 4]  # 64 and 32 fail, then chunks of 16 cover the 100 rows
    calls.clear()
    torch.testing.assert_close(task.bind(task.inputs)(z), expected(z))
    assert calls == [16] * 6 + [4]  # the size that fitted is kept: no failure the second time
    key = chunking.pass_key(task, "forward", z.reshape(-1, 3))
    assert chunking.fitted_rows(task, key) == 16
    chunking.forget(task)
    assert chunking.fitted_rows(task, key) is None


def test_backward_pass_is_remembered_separately_and_gradients_are_exact():
    task, calls = limited_task(limit=9)
    z = torch.randn(10, 5, 3, generator=torch.Generator().manual_seed(2))  # 50 rows
    values, grads = task.bind(task.inputs).value_and_grad(z)
    torch.testing.assert_close(values, expected(z))
    torch.testing.assert_close(grads, 2 * z * torch.tensor([1.0, -2.0, 0.5]))
    assert calls[:4] == [50, 25, 12, 6]  # one chunk of 50 rows (max_batch 64), halved three times
    assert sum(calls[3:]) == 50 and set(calls[3:]) <= {6, 2}
    assert chunking.fitted_rows(task, chunking.pass_key(task, "forward", z.reshape(-1, 3))) is None
    assert chunking.fitted_rows(task, chunking.pass_key(task, "backward", z.reshape(-1, 3))) == 6


def test_replaced_task_keeps_the_size_of_its_target():
    task, calls = limited_task(limit=20)
    z = torch.randn(100, 3, generator=torch.Generator().manual_seed(3))
    task.bind(z)(z)
    calls.clear()
    other = dataclasses.replace(task, select=lambda x: torch.ones(len(x), dtype=torch.long))  # same f
    other.bind(z)(z)
    assert max(calls) == 16


def test_one_row_that_does_not_fit_reraises():
    task, calls = limited_task(limit=0)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        task.bind(task.inputs)(task.inputs)
    assert calls == [10, 5, 2, 1]


def test_other_errors_are_not_retried():
    def boom():
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    task, calls = limited_task(limit=4, error=boom)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        task.bind(task.inputs)(task.inputs)
    assert calls == [10]


def test_real_cpu_allocation_failure_is_detected():
    def allocate_too_much():
        torch.empty(1 << 50, dtype=torch.uint8)  # 1 PiB: the CPU allocator refuses at once

    task, calls = limited_task(limit=3, error=allocate_too_much)
    torch.testing.assert_close(task.bind(task.inputs)(task.inputs), expected(task.inputs))
    assert calls[:3] == [10, 5, 2] and sum(calls[2:]) == 10


@pytest.mark.parametrize("exc, oom", [
    (torch.cuda.OutOfMemoryError("CUDA out of memory."), True),
    (MemoryError(), True),
    (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 8 bytes"), True),
    (RuntimeError("MPS backend out of memory"), True),
    (RuntimeError("expected scalar type Float but found Double"), False),
    (ValueError("out of memory"), False),
])
def test_is_out_of_memory(exc, oom):
    assert chunking.is_out_of_memory(exc) is oom


@pytest.mark.parametrize("name", ["integrated_gradients", "kernel_shap", "occlusion"])
def test_method_result_is_unchanged_by_an_out_of_memory_retry(name):
    """A batch too large for the device costs speed, never the result (nor the cell)."""
    method = get_method(name, **({"n_samples": 64} if name == "kernel_shap" else {}))
    roomy, _ = limited_task(limit=10**9, n=12)
    tight, calls = limited_task(limit=7, n=12)
    torch.testing.assert_close(method.explain(tight, tight.inputs, seed=0), method.explain(roomy, roomy.inputs, seed=0))
    assert max(calls) > 7 and calls[-1] <= 7  # it did run out of memory, then fitted
