"""The unit of work a backend executes: one (task, method, seed) cell → its records.

A cell explains its instances once (timed, validated) and feeds every metric of the plan to
that one set of attributions. Whatever goes wrong becomes a record and never stops the run: a
task or method that does not apply (:class:`~xaibench.errors.NotApplicableError`, raised by
``load_task`` or ``method.check``) gives "skipped" records, a metric whose ``check`` fails gives a
"skipped" record, and any other exception — ``SystemExit`` from plugin code included — gives
"error" records (type, message, short traceback): for every metric of the cell when loading or
explaining failed, for the one metric otherwise. ``KeyboardInterrupt`` is not caught.

Plugins are checked, not trusted:

* **In-place edits.** The task's ``inputs``, ``background`` and ``baseline`` and the attributions
  are compared with pristine copies after the method and after each metric (exact equality, one
  pass over each tensor). A plugin that modified one gets a
  :class:`~xaibench.errors.MutationError` record, and the tensor is restored before anything else
  sees it, so one culprit never changes another method's or metric's values.
* **No value.** A metric whose every value is NaN or infinite gets a
  :class:`~xaibench.errors.MetricValueError` record, not an "ok" one.

``n_instances`` in a record is the number of instances explained; ``n_instances_requested`` is
what the plan asked for (more than a small test split has: the whole split is explained).

Budgets: a metric entry with ``n_instances = k`` scores the first ``k`` explained instances (all of
them when fewer were explained; on a task whose ``[[tasks]]`` table asks for fewer instances than
the run, ``k`` scaled in proportion: :func:`xaibench.suite.task_budget`); ``n_instances_scored`` in its record says how many it scored
(for the cost metrics, which read the timed pass: every explained instance). Metrics with the same
budget receive the same tensors (one view per budget), so the stability metrics among them still
share their re-explained neighbourhood.

Seeding: ``random``, NumPy's global generator and ``torch.manual_seed`` are all set to the cell's
seed before the warm-up, before the timed explanation pass, and before each metric, so a value
never depends on what ran before it (the order of metrics, which cells a resumed run skips) —
in addition to the seeded draws (:mod:`xaibench.rng`) methods and metrics make themselves.

Saved attributions: with ``RunContext.save_attributions = k`` the first record a cell yields
carries, under :data:`SAVED_ATTRIBUTIONS`, the first ``k`` instances and their attributions as
NumPy arrays; the runner takes them out of the record and writes them beside the records
(:mod:`xaibench.attributions`).

Everything in a :class:`Cell` is picklable (names, frozen dataclasses), so a remote backend can
ship cells to workers and run :func:`execute_cell` there.
"""

from __future__ import annotations

import random
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..errors import MetricValueError, MutationError, NotApplicableError, ShapeError
from ..metric import check_attributions
from ..metrics.cost import CostMetric, ExplainPass, timed_explain
from ..metrics.stability import sharing_reexplanations
from ..records import code_sha256, record_key
from ..stats import record_fields
from ..suite import MethodEntry, MetricEntry, TaskRef, task_budget
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
    save_attributions: int = 0
    """Instances per cell whose attributions are saved (0: none)."""


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


SAVED_ATTRIBUTIONS = "_attributions"
"""Field of a cell's first record holding its saved attributions (never written to the records)."""

RESULT_FIELDS = ("status", "error_type", "error", "traceback", "n", "value", "stderr", "ci_low", "ci_high",
                 "interval", "values", "extras", "seconds", "explanations_per_second", "peak_memory_mb",
                 "metric_seconds", "explain_cpu_seconds", "metric_cpu_seconds", "device_name")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


PLUGIN_ERRORS = (Exception, SystemExit)
"""What plugin code may raise and still only fail its own records."""


def execute_cell(cell: Cell, done: Container[str] = frozenset(),
                 on_pending: Callable[[list[dict[str, Any]]], None] | None = None) -> Iterator[dict[str, Any]]:
    """Records of ``cell`` whose keys are not in ``done``, one metric at a time.

    ``on_pending`` is called, once the task is loaded, with the records still to come (identity
    and key, no result): a worker reports them so that its driver can write error records with
    the right keys if the cell is stopped (time limit, crash)."""
    try:
        task = load_cached_task(cell.task, cell.context)
    except PLUGIN_ERRORS as exc:  # every failure becomes a record
        yield from failure_records(cell, exc, done)
        return
    yield from execute_loaded_cell(cell, task, done, on_pending)


def execute_loaded_cell(cell: Cell, task: Task, done: Container[str] = frozenset(),
                        on_pending: Callable[[list[dict[str, Any]]], None] | None = None) -> Iterator[dict[str, Any]]:
    """:func:`execute_cell` on an already loaded ``task`` (a user's own: :func:`xaibench.evaluate`)."""
    base = _identity(cell, task)
    pending = [r for r in (_with_metric(base, e, cell) for e in cell.metrics) if r["key"] not in done]
    if not pending:
        return
    if on_pending is not None:
        on_pending(pending)
    method, seed = cell.method.method, cell.seed
    guard = TensorGuard(inputs=task.inputs, background=task.background, baseline=task.baseline)
    try:
        method.check(task)
        seed_everything(seed)
        cpu_start = time.process_time()
        measured = timed_explain(method, task, task.inputs, seed=seed, warmup=cell.context.warmup,
                                 before=lambda: seed_everything(seed))
        explain_cpu = time.process_time() - cpu_start
        guard.check(f"method {cell.method.label}")
        check_attributions(task.inputs, measured.attributions, who=f"method {cell.method.label}")
    except PLUGIN_ERRORS as exc:
        guard.restore()
        for record in pending:
            yield _failed(record, exc)
        return
    guard.watch(attributions=measured.attributions)
    entries = {e.label: e for e in cell.metrics}
    scored = _ScoredViews(task.inputs, measured.attributions)
    saved = _saved(task, measured.attributions, cell.context.save_attributions)
    with sharing_reexplanations():  # the stability metrics of this cell re-explain one neighbourhood
        for record in pending:
            result = _score(record, entries[record["metric"]], task, measured, explain_cpu, cell, guard, scored)
            if saved is not None:
                result[SAVED_ATTRIBUTIONS], saved = saved, None
            yield result


class _ScoredViews:
    """The first ``k`` explained instances and their attributions, one view per budget ``k``."""

    def __init__(self, inputs: torch.Tensor, attributions: torch.Tensor):
        self._views: dict[int, tuple[torch.Tensor, torch.Tensor]] = {len(inputs): (inputs, attributions)}
        self.n = len(inputs)

    def __call__(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        if n not in self._views:
            inputs, attributions = self._views[self.n]
            self._views[n] = (inputs[:n], attributions[:n])
        return self._views[n]


def _saved(task: Task, attributions: torch.Tensor, n: int) -> dict[str, Any] | None:
    """The first ``n`` instances and their attributions as float32 arrays, with the task's kind and meta."""
    if n <= 0:
        return None
    rows = slice(0, min(n, len(task.inputs)))
    meta = {k: v for k, v in task.meta.items() if isinstance(v, (str, int, float, bool, list, tuple))}
    return {"inputs": task.inputs[rows].detach().float().cpu().numpy(),
            "attributions": attributions[rows].detach().float().cpu().numpy(), "kind": task.kind, "meta": meta}


def failure_records(cell: Cell, exc: BaseException, done: Container[str] = frozenset(),
                    pending: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Error (or skipped) records for every metric of ``cell`` not in ``done``: ``pending`` when
    the task was loaded (keys with its identity), otherwise built without it."""
    if pending is None:
        base = _identity(cell, None)
        pending = [r for r in (_with_metric(base, e, cell) for e in cell.metrics) if r["key"] not in done]
    return [_failed(record, exc) for record in pending]


class TensorGuard:
    """Pristine copies of the tensors plugins receive: :meth:`check` finds and undoes in-place edits."""

    def __init__(self, **tensors: torch.Tensor | None):
        self._tensors: dict[str, torch.Tensor] = {}
        self._copies: dict[str, torch.Tensor] = {}
        self.watch(**tensors)

    def watch(self, **tensors: torch.Tensor | None) -> None:
        for name, tensor in tensors.items():
            if isinstance(tensor, torch.Tensor):
                self._tensors[name] = tensor
                self._copies[name] = tensor.detach().clone()

    def changed(self) -> list[str]:
        return [name for name, tensor in self._tensors.items() if not _same(tensor, self._copies[name])]

    def restore(self) -> list[str]:
        changed = self.changed()
        with torch.no_grad():
            for name in changed:
                self._tensors[name].copy_(self._copies[name])
        return changed

    def check(self, who: str) -> None:
        """Raise :class:`MutationError` naming ``who`` if a watched tensor changed (after restoring it)."""
        changed = self.restore()
        if changed:
            raise MutationError(f"{who} modified {', '.join(changed)} in place; the values it produced were discarded "
                                "and the tensors restored. Plugins must not edit the tensors they are given: "
                                "work on a copy (x = x.clone()) or use out-of-place operations")


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and (torch.equal(a, b) or bool(torch.all((a == b) | (a.isnan() & b.isnan()))))


def _score(record: dict, entry: MetricEntry, task: Task, measured: ExplainPass, explain_cpu: float, cell: Cell,
           guard: TensorGuard, scored: _ScoredViews) -> dict:
    """``explain_cpu``: CPU seconds of the explanation pass, warm-up included (for cost planning)."""
    metric, method, seed = entry.metric, cell.method.method, cell.seed
    timing = {"seconds": measured.seconds, "explanations_per_second": measured.explanations_per_second,
              "peak_memory_mb": measured.peak_memory_mb, "device_name": measured.device_name,
              "explain_cpu_seconds": explain_cpu}
    try:
        if isinstance(metric, CostMetric):
            values, extras, seconds, cpu = [metric.from_pass(measured)], {}, 0.0, 0.0
        else:
            metric.check(task, method)
            x, attributions = scored(record["n_instances_scored"])
            seed_everything(seed)
            start, cpu_start = time.perf_counter(), time.process_time()
            output = metric.evaluate(task, x, attributions, method, seed=seed)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            guard.check(f"metric {entry.label}")
            values, extras = _values(output.values, metric, len(x)), dict(output.extras)
            if values and all(v is None for v in values):
                raise MetricValueError(f"metric {entry.label} returned no finite value: all {len(values)} values are "
                                       "NaN or infinite, so there is nothing to score")
    except PLUGIN_ERRORS as exc:
        guard.restore()
        return _failed({**record, **timing}, exc)
    return {**record, **timing, "status": "ok", **record_fields(values, heavy_tailed=metric.heavy_tailed),
            "values": values, "extras": extras, "metric_seconds": seconds, "metric_cpu_seconds": cpu}


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
        "n_instances": len(task.inputs) if task is not None else requested_instances(ref, ctx),
        "n_instances_requested": requested_instances(ref, ctx), "n_background": ctx.n_background,
        "method": cell.method.label, "method_name": method.name, "family": method.family,
        "stochastic": method.stochastic, "method_params": method.params, "seed": cell.seed,
        "device": ctx.device, "device_type": torch.device(ctx.device).type,
        "xaibench_version": __version__, "versions": dict(ctx.versions),
        "code_sha256": code_sha256(type(method)),
    }


def _with_metric(base: dict[str, Any], entry: MetricEntry, cell: Cell) -> dict[str, Any]:
    metric = entry.metric
    explained = base["n_instances"]
    budget = None if isinstance(metric, CostMetric) else \
        task_budget(entry.n_instances, cell.task.n_instances, cell.context.n_instances)
    record = {**base, "metric": entry.label, "metric_name": metric.name, "category": metric.category,
              "higher_is_better": metric.higher_is_better, "per_instance": metric.per_instance,
              "heavy_tailed": metric.heavy_tailed, "metric_params": metric.params,
              "metric_n_instances": None if isinstance(metric, CostMetric) else entry.n_instances,
              "n_instances_scored": _scored_count(budget, explained),
              # method and metric files together: a plugin file holding both is hashed once, as for the cost metrics
              "code_sha256": code_sha256(type(cell.method.method), type(metric))}
    return {"key": record_key(record), **record, **dict.fromkeys(RESULT_FIELDS)}


def _scored_count(budget: int | None, explained: int | None) -> int | None:
    """Instances a metric with ``budget`` scores out of ``explained`` (``None``: not known)."""
    if budget is None or explained is None:
        return explained if budget is None else budget
    return min(budget, explained)


def _failed(record: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    skipped = isinstance(exc, NotApplicableError)
    short = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-TRACEBACK_FRAMES))
    if isinstance(exc, SystemExit):
        message = (f"plugin code called sys.exit({exc.code!r}) (SystemExit); a method or metric that cannot go on "
                   "must raise an exception instead")
    else:
        message = str(exc) or type(exc).__name__
    return {**record, "status": "skipped" if skipped else "error", "error_type": type(exc).__name__,
            "error": message, "traceback": None if skipped or not exc.__traceback__ else short[-TRACEBACK_CHARS:]}


# -- task cache: a backend worker loads each task once for all its cells -------------------------
_TASKS: OrderedDict[tuple, Task | Exception] = OrderedDict()
_TASK_CACHE_SIZE = 2


def requested_instances(ref: TaskRef, ctx: RunContext) -> int | None:
    """The instances a task is asked to explain: its own count (a ``[[tasks]]`` table's), else the run's."""
    return ref.n_instances if ref.n_instances is not None else ctx.n_instances


def load_cached_task(ref: TaskRef, ctx: RunContext) -> Task:
    """``load_task`` memoised on everything it depends on (a failure is remembered too)."""
    from ..tasks import load_task  # noqa: PLC0415

    n_instances = requested_instances(ref, ctx)
    key = (ref, ctx.model_seed, ctx.device, n_instances, ctx.n_background, ctx.retrain)
    if key not in _TASKS:
        try:
            _TASKS[key] = load_task(ref.dataset, ref.model, ref.target, seed=ctx.model_seed, device=ctx.device,
                                    n_instances=n_instances, n_background=ctx.n_background, retrain=ctx.retrain)
        except PLUGIN_ERRORS as exc:  # noqa: BLE001 - remembered, re-raised for every cell of the task
            _TASKS[key] = exc
        while len(_TASKS) > _TASK_CACHE_SIZE:
            _TASKS.popitem(last=False)
    hit = _TASKS[key]
    if isinstance(hit, BaseException):
        raise hit
    return hit


def clear_task_cache() -> None:
    _TASKS.clear()

