"""Memory-aware chunking: a pass that runs out of memory is retried in halves, and the size that fits is kept.

:class:`~xaibench.task.BoundTarget` evaluates the task's ``f`` (forward, or forward and backward)
on many rows in chunks of ``task.max_batch`` rows. :func:`map_chunks` runs such a chunked pass:
when a chunk raises an out-of-memory error (:func:`is_out_of_memory`) it is retried from the
same row with half as many rows, down to one row, and the size that fitted is **remembered** per
target function and pass kind (``"forward"`` or ``"backward"``, with the rows' dtype, device and
shape), so later passes of the same task start at a size that fits instead of failing again. A
batch too large for the device therefore costs speed, never the cell. One row that does not fit
re-raises the original error (nothing smaller exists to try).

Detectable out-of-memory errors: ``torch.cuda.OutOfMemoryError`` (``torch.OutOfMemoryError``),
Python's ``MemoryError``, and the ``RuntimeError`` torch raises when an allocation fails
(the CPU allocator's "can't allocate memory", other backends' "out of memory"). On Linux a CPU
allocation normally succeeds and the kernel's OOM killer ends the process later instead, which
no code can catch: on the CPU the chunk sizes of :data:`~xaibench.task.CPU_BATCH_BYTES` are what
keep passes small.

The remembered sizes live as long as the target function (a weak reference): a task rebuilt with
``dataclasses.replace`` keeps its ``f`` and so its sizes; a new model starts afresh. They only
ever shrink; :func:`forget` clears them (tests, or after freeing memory).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, TypeVar

import torch

if TYPE_CHECKING:
    from .task import Task

T = TypeVar("T")
log = logging.getLogger(__name__)

_OOM_TYPES: tuple[type[BaseException], ...] = (getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError),
                                               MemoryError)
_OOM_MESSAGES = ("can't allocate memory", "out of memory", "not enough memory")

_FITTED: weakref.WeakKeyDictionary[Callable, dict[Hashable, int]] = weakref.WeakKeyDictionary()


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says an allocation failed (see the module docstring for what is detectable)."""
    if isinstance(exc, _OOM_TYPES):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc).lower() for m in _OOM_MESSAGES)


def pass_key(task: "Task", kind: str, rows: torch.Tensor) -> Hashable:
    """What a remembered size is specific to: the pass kind and the rows' dtype, device and feature shape."""
    return kind, rows.dtype, rows.device, task.feature_shape


def fitted_rows(task: "Task", key: Hashable) -> int | None:
    """The largest chunk known to fit for ``task``'s target and ``key``, or ``None`` if none failed yet."""
    try:
        return _FITTED.get(task.f, {}).get(key)
    except TypeError:  # a target that cannot be weakly referenced: nothing is remembered
        return None


def _remember(task: "Task", key: Hashable, rows: int) -> None:
    try:
        sizes = _FITTED.setdefault(task.f, {})
    except TypeError:
        return
    sizes[key] = min(rows, sizes.get(key, rows))


def forget(task: "Task | None" = None) -> None:
    """Drop the remembered sizes of ``task``'s target (of every target with ``None``)."""
    if task is None:
        _FITTED.clear()
    else:
        _FITTED.pop(task.f, None)


def map_chunks(fn: Callable[[int, int], T], n_rows: int, task: "Task", key: Hashable) -> list[T]:
    """``[fn(start, stop), ...]`` over consecutive chunks covering rows ``0 .. n_rows``.

    Chunks hold at most ``task.max_batch`` rows, or the size remembered for ``(task.f, key)``
    (:func:`pass_key`) when smaller. A chunk that runs out of memory is retried with half its
    rows (the halved size is remembered and used for the rest of the pass); a one-row chunk
    that runs out of memory re-raises. Other exceptions propagate unchanged.
    """
    step = max(1, min(task.max_batch, fitted_rows(task, key) or task.max_batch))
    out: list[T] = []
    start = 0
    while start < n_rows:
        stop = min(n_rows, start + step)
        try:
            out.append(fn(start, stop))
        except Exception as exc:  # noqa: BLE001 - only out-of-memory errors are handled, the rest re-raised
            if stop - start == 1 or not is_out_of_memory(exc):
                raise
        else:
            start = stop
            continue
        # here the failed chunk's exception and the tensors its frames held are released
        step = max(1, (stop - start) // 2)
        _remember(task, key, step)
        _release_cached_memory(task)
        log.info("%s: out of memory in a %s pass of %d rows; retrying in chunks of %d rows (kept for this target)",
                 task.name, key[0] if isinstance(key, tuple) else key, stop - start, step)
    return out


def _release_cached_memory(task: "Task") -> None:
    if task.device.type == "cuda":
        torch.cuda.empty_cache()
