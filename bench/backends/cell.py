"""The unit of work a backend executes: one (task, method, seed) cell → its records.

A cell explains its instances once (timed, validated) and feeds every metric of the plan to
that one set of attributions. Whatever goes wrong becomes a record and never stops the run: a
task or method that does not apply (:class:`~xaibench.errors.NotApplicableError`, raised by
``load_task`` or ``method.check``) gives "skipped" records, a metric whose ``check`` fails gives a
"skipped" record, and any other exception gives "error" records (type, message, short
traceback) — for every metric of the cell when loading or explaining failed, for the one metric
otherwise. ``KeyboardInterrupt`` and other ``BaseException``s are not caught.

Seeding: ``random``, NumPy's global generator and ``torch.manual_seed`` are all set to the cell's
seed before the warm-up, before the timed explanation pass, and before each metric, so a value
never depends on what ran before it (the order of metrics, which cells a resumed run skips) —
in addition to the seeded draws (:mod:`xaibench.rng`) methods and metrics make themselves.

Everything in a :class:`Cell` is picklable (names, frozen dataclasses), so a remote backend can
ship cells to workers and run :func:`execute_cell` there.
"""

from __future__ import annotations

import random
import time
import traceback
from collections import OrderedDict
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..errors import NotApplicableError, ShapeError
from ..metric import check_attributions
from ..metrics.cost import CostMetric, ExplainPass, timed_explain
from ..metrics.stability import sharing_reexplanations
from ..records import record_key
from ..stats import summarize
from ..suite import MethodEntry, MetricEntry, TaskRef
from ..task import Task

TRACEBACK_FRAMES = 4
TRACEBACK_CHARS = 2000


@dataclass(frozen=True)
class RunContext:
    """Settings shared by every cell of a run."""

    suite: str
    suite_version: str
    n_instances: int | None
    n_background: int
    model_seed: int
    device: str
    versions: Mapping[str, Any]
    retrain: bool = False
    warmup: bool = True


@dataclass(frozen=True)
class Cell:
    task: TaskRef
    method: MethodEntry
    metrics: tuple[MetricEntry, ...]
    seed: int
    context: RunContext

    @property
    def name(self) -> str:
        return f"{self.task.name} × {self.method.label} × seed {self.seed}"


RESULT_FIELDS = ("status", "error_type", "error", "traceback", "n", "value", "stderr", "ci_low", "ci_high",
                 "values", "extras", "seconds", "explanations_per_second", "peak_memory_mb", "metric_seconds",
                 "device_name")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def execute_cell(cell: Cell, done: Container[str] = frozenset()) -> Iterator[dict[str, Any]]:
    """Records of ``cell`` whose keys are not in ``done``, one metric at a time."""
    try:
        task = load_cached_task(cell.task, cell.context)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a record
        base = _identity(cell, None)
        for entry in cell.metrics:
            record = _with_metric(base, entry)
            if record["key"] not in done:
                yield _failed(record, exc)
        return
    yield from execute_loaded_cell(cell, task, done)


def execute_loaded_cell(cell: Cell, task: Task, done: Container[str] = frozenset()) -> Iterator[dict[str, Any]]:
    """Records of ``cell`` on an already loaded ``task`` (a user's own, :func:`xaibench.evaluate`)."""
    base = _identity(cell, task)
    pending = [r for r in (_with_metric(base, e) for e in cell.metrics) if r["key"] not in done]
    if not pending:
        return
    method, seed = cell.method.method, cell.seed
    try:
        method.check(task)
        seed_everything(seed)
        measured = timed_explain(method, task, task.inputs, seed=seed, warmup=cell.context.warmup,
                                 before=lambda: seed_everything(seed))
        check_attributions(task.inputs, measured.attributions, who=f"method {cell.method.label}")
    except Exception as exc:  # noqa: BLE001
        for record in pending:
            yield _failed(record, exc)
        return
    entries = {e.label: e for e in cell.metrics}
    with sharing_reexplanations():  # the stability metrics of this cell re-explain one neighbourhood
        for record in pending:
            yield _score(record, entries[record["metric"]], task, measured, cell)


def _score(record: dict, entry: MetricEntry, task: Task, measured: ExplainPass, cell: Cell) -> dict:
    metric, method, seed = entry.metric, cell.method.method, cell.seed
    timing = {"seconds": measured.seconds, "explanations_per_second": measured.explanations_per_second,
              "peak_memory_mb": measured.peak_memory_mb, "device_name": measured.device_name}
    try:
        if isinstance(metric, CostMetric):
            values, extras, seconds = [metric.from_pass(measured)], {}, 0.0
        else:
            metric.check(task, method)
            seed_everything(seed)
            start = time.perf_counter()
            output = metric.evaluate(task, task.inputs, measured.attributions, method, seed=seed)
            seconds = time.perf_counter() - start
            values, extras = _values(output.values, metric, len(task.inputs)), dict(output.extras)
    except Exception as exc:  # noqa: BLE001
        return _failed({**record, **timing}, exc)
    summary = summarize(values)
    return {**record, **timing, "status": "ok", "n": summary.n, "value": summary.value, "stderr": summary.stderr,
            "ci_low": summary.ci_low, "ci_high": summary.ci_high, "values": values, "extras": extras,
            "metric_seconds": seconds}


def _values(values: Any, metric: Any, n: int) -> list[float | None]:
    if not isinstance(values, torch.Tensor) or values.dim() != 1:
        raise ShapeError(f"metric {metric.name} returned {type(values).__name__} "
                         f"{tuple(getattr(values, 'shape', ()))}; metrics return a 1-D tensor of values")
    if metric.per_instance and values.shape[0] != n:
        raise ShapeError(f"metric {metric.name} returned {values.shape[0]} values for {n} instances")
    return [None if not np.isfinite(v) else v for v in values.detach().double().cpu().tolist()]


def _identity(cell: Cell, task: Task | None) -> dict[str, Any]:
    ctx, ref, method = cell.context, cell.task, cell.method.method
    meta = task.meta if task is not None else {}
    return {
        "suite": ctx.suite, "suite_version": ctx.suite_version, "task": ref.name,
        "dataset": ref.dataset, "dataset_version": meta.get("dataset_version"), "model": ref.model,
        "model_seed": ctx.model_seed, "target": ref.target,
        "quality": dict(task.quality) if task is not None else None, "weights_sha256": meta.get("weights_sha256"),
        "n_instances": ctx.n_instances, "n_background": ctx.n_background,
        "method": cell.method.label, "method_name": method.name, "family": method.family,
        "stochastic": method.stochastic, "method_params": method.params, "seed": cell.seed,
        "device": ctx.device, "device_type": torch.device(ctx.device).type,
        "xaibench_version": __version__, "versions": dict(ctx.versions),
    }


def _with_metric(base: dict[str, Any], entry: MetricEntry) -> dict[str, Any]:
    metric = entry.metric
    record = {**base, "metric": entry.label, "metric_name": metric.name, "category": metric.category,
              "higher_is_better": metric.higher_is_better, "per_instance": metric.per_instance,
              "metric_params": metric.params}
    return {"key": record_key(record), **record, **dict.fromkeys(RESULT_FIELDS)}


def _failed(record: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    skipped = isinstance(exc, NotApplicableError)
    short = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-TRACEBACK_FRAMES))
    return {**record, "status": "skipped" if skipped else "error", "error_type": type(exc).__name__,
            "error": str(exc) or type(exc).__name__, "traceback": None if skipped else short[-TRACEBACK_CHARS:]}


# -- task cache: a backend worker loads each task once for all its cells -------------------------
_TASKS: OrderedDict[tuple, Task | Exception] = OrderedDict()
_TASK_CACHE_SIZE = 2


def load_cached_task(ref: TaskRef, ctx: RunContext) -> Task:
    """``load_task`` memoised on everything it depends on (a failure is remembered too)."""
    from ..tasks import load_task  # noqa: PLC0415

    key = (ref, ctx.model_seed, ctx.device, ctx.n_instances, ctx.n_background, ctx.retrain)
    if key not in _TASKS:
        try:
            _TASKS[key] = load_task(ref.dataset, ref.model, ref.target, seed=ctx.model_seed, device=ctx.device,
                                    n_instances=ctx.n_instances, n_background=ctx.n_background, retrain=ctx.retrain)
        except Exception as exc:  # noqa: BLE001
            _TASKS[key] = exc
        while len(_TASKS) > _TASK_CACHE_SIZE:
            _TASKS.popitem(last=False)
    hit = _TASKS[key]
    if isinstance(hit, Exception):
        raise hit
    return hit


def clear_task_cache() -> None:
    _TASKS.clear()

