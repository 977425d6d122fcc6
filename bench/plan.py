"""What a suite will cost before it runs: its cells per task and a measured estimate of their time.

``xaibench plan --suite NAME`` prints, per task, the cells (method × seed), the records and the
estimated CPU seconds, then the total and the wall time it implies on ``--workers`` workers,
compared with the 2-hour budget of the standard suite. Nothing is loaded or run.

**The estimate** comes from a calibration table (:data:`CALIBRATION`, committed): CPU seconds,
measured with one torch thread, per explained instance for each (task, method) and per scored
instance for each (task, method, metric) — per record for set-level metrics — plus each task's
load time and number of test instances. A cell of method ``m`` on task ``t`` explaining ``n``
instances costs ``explain[t, m] · (n + 1)`` (the runner's one-instance warm-up) plus, for each
metric scored at that seed, ``metric[t, m, k] · n_k`` (``n_k``: its budget within ``n``); a task
adds its load time once per worker. Costs are linear in the instances: batched passes get no
cheaper per instance as batches grow on a CPU, so this errs high rather than low. A (task, method)
or metric the table lacks is estimated from the same method (and metric) on the other tasks of the
same model, else of any model (the median), and marked ``~``; with nothing to go on it counts 0
and is listed as unknown.

**Wall time** on ``w`` workers of one thread each: the CPU total spread over ``w`` workers, and at
least the longest cell (cells are the unit a worker takes). One worker with ``T`` threads is at
most the CPU total (torch's threads help large tensors only), which is what is shown for one
worker.

**Calibrating.** ``xaibench plan --suite NAME --calibrate --out DIR`` runs the suite's cells with
each method's first seed and ``--n-instances`` instances (default 8; budgets capped by it) into
the run folder ``DIR`` (resumable, like any run), with one torch thread, and then writes the table
from its records (``explain_cpu_seconds`` and ``metric_cpu_seconds``). ``--from RUN_DIR...``
writes it from existing runs instead (a full run is the best calibration). Entries measured anew
replace the table's; the others are kept.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .records import canonical_json
from .suite import MethodEntry, MetricEntry, Plan, TaskRef, task_budget

CALIBRATION = Path(__file__).parent / "suites" / "calibration.json"
BUDGET_SECONDS = 2 * 3600
"""The standard suite's budget: two hours of wall time on a 2-core machine (issue 12)."""
DEFAULT_CALIBRATION_INSTANCES = 8
TABLE_VERSION = 1


def entry_id(name: str, params: Mapping[str, Any]) -> str:
    """A method or metric as the table names it: its registry name and canonical parameters."""
    return f"{name} {canonical_json(dict(params))}"


@dataclass
class Calibration:
    """The measured costs (see the module docstring); keys are task names and :func:`entry_id`."""

    explain: dict[tuple[str, str], float] = field(default_factory=dict)  # CPU s per explained instance
    metrics: dict[tuple[str, str, str], tuple[float, bool]] = field(default_factory=dict)  # (s, per instance?)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # load_seconds, n_available
    measured: list[dict[str, Any]] = field(default_factory=list)  # how each batch of entries was measured

    @classmethod
    def load(cls, path: str | Path = CALIBRATION) -> "Calibration":
        path = Path(path)
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            explain={(t, m): s for t, m, s in data.get("explain", [])},
            metrics={(t, m, k): (s, bool(per)) for t, m, k, s, per in data.get("metrics", [])},
            tasks=dict(data.get("tasks", {})),
            measured=list(data.get("measured", [])),
        )

    def to_json(self) -> str:
        data = {
            "version": TABLE_VERSION,
            "about": "CPU seconds with one torch thread: per explained instance (explain), per scored instance or "
                     "per record (metrics; per_instance false) — see xaibench/plan.py",
            "measured": self.measured,
            "tasks": dict(sorted(self.tasks.items())),
            "explain": [[t, m, _round(s)] for (t, m), s in sorted(self.explain.items())],
            "metrics": [[t, m, k, _round(s), per] for (t, m, k), (s, per) in sorted(self.metrics.items())],
        }
        return json.dumps(data, indent=0, ensure_ascii=False).replace("\n[", "[").replace(",\n", ",") + "\n"

    def merge(self, other: "Calibration") -> "Calibration":
        """This table with ``other``'s entries replacing the same ones."""
        return Calibration({**self.explain, **other.explain}, {**self.metrics, **other.metrics},
                           {**self.tasks, **{t: {**self.tasks.get(t, {}), **v} for t, v in other.tasks.items()}},
                           _newest(self.measured + other.measured))


def _newest(measured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The measurement notes, one per source: a source calibrated again keeps only its newest note."""
    latest = {note.get("source"): i for i, note in enumerate(measured)}
    return [note for i, note in enumerate(measured) if latest[note.get("source")] == i]


def _round(seconds: float) -> float:
    return float(f"{seconds:.4g}")


# -- from records --------------------------------------------------------------------------------------
def calibrate(records: Iterable[Mapping[str, Any]], about: Mapping[str, Any] | None = None) -> Calibration:
    """A table from run records that carry CPU seconds (the median over a cell's seeds)."""
    explain: dict[tuple[str, str], list[float]] = defaultdict(list)
    metrics: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    per_instance: dict[tuple[str, str, str], bool] = {}
    seen_cells: set[tuple[str, str, int]] = set()
    for r in records:
        if r.get("status") == "skipped" and r.get("error_type") == "NotApplicableError":
            _not_applicable(r, explain, metrics, per_instance)  # costs nothing: checked and skipped
            continue
        if r.get("status") != "ok" or r.get("explain_cpu_seconds") is None:
            continue
        task, method = r["task"], entry_id(r["method_name"], r.get("method_params") or {})
        n = r.get("n_instances") or 0
        if (task, method, r["seed"]) not in seen_cells and n:
            seen_cells.add((task, method, r["seed"]))
            explain[(task, method)].append(r["explain_cpu_seconds"] / (n + 1))
        if r.get("category") == "cost" or r.get("metric_cpu_seconds") is None:
            continue
        key = (task, method, entry_id(r["metric_name"], r.get("metric_params") or {}))
        per = bool(r.get("per_instance", True))
        scored = r.get("n_instances_scored") or n
        metrics[key].append(r["metric_cpu_seconds"] / scored if per and scored else r["metric_cpu_seconds"])
        per_instance[key] = per
    return Calibration({k: statistics.median(v) for k, v in explain.items()},
                       {k: (statistics.median(v), per_instance[k]) for k, v in metrics.items()},
                       {}, [dict(about)] if about else [])


def _not_applicable(r: Mapping[str, Any], explain: dict, metrics: dict, per_instance: dict) -> None:
    """A skipped record costs nothing; when the method itself did not apply (no explanation pass was
    timed), neither does the cell's explanation."""
    task, method = r["task"], entry_id(r["method_name"], r.get("method_params") or {})
    if r.get("explain_cpu_seconds") is None and (task, method) not in explain:
        explain[(task, method)].append(0.0)
    if r.get("category") != "cost":
        key = (task, method, entry_id(r["metric_name"], r.get("metric_params") or {}))
        metrics[key].append(0.0)
        per_instance[key] = bool(r.get("per_instance", True))


def measure_tasks(tasks: Sequence[TaskRef], *, n_background: int, model_seed: int = 0) -> dict[str, dict[str, Any]]:
    """Load time (seconds, this process, one thread) and test instances available of each task."""
    import torch  # noqa: PLC0415

    from .tasks import load_task  # noqa: PLC0415

    out = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for ref in tasks:
            start = time.perf_counter()
            task = load_task(ref.dataset, ref.model, ref.target, seed=model_seed, n_background=n_background)
            out[ref.name] = {"load_seconds": _round(time.perf_counter() - start), "n_available": len(task.inputs)}
    finally:
        torch.set_num_threads(threads)
    return out


# -- the estimate -----------------------------------------------------------------------------------------
@dataclass
class TaskCost:
    task: str
    cells: int
    records: int
    n_explained: int | None
    cpu_seconds: float
    longest_cell: float
    load_seconds: float
    estimated: int = 0  # parts estimated from other tasks (not measured on this one)
    unknown: list[str] = field(default_factory=list)


@dataclass
class Estimate:
    tasks: list[TaskCost]

    @property
    def cpu_seconds(self) -> float:
        return sum(t.cpu_seconds + t.load_seconds for t in self.tasks)

    @property
    def longest_cell(self) -> float:
        return max((t.longest_cell for t in self.tasks), default=0.0)

    def wall_seconds(self, workers: int) -> float:
        """Wall time on ``workers`` one-thread workers (see the module docstring)."""
        loads = sum(t.load_seconds for t in self.tasks) * (1 if workers == 1 else 1.5)  # a task may load twice
        compute = sum(t.cpu_seconds for t in self.tasks)
        return max((compute + loads) / workers, self.longest_cell)


def estimate(plan: Plan, calibration: Calibration) -> Estimate:
    fallback = _Fallback(calibration)
    out = []
    for task in plan.tasks:
        info = calibration.tasks.get(task.name, {})
        available = info.get("n_available")
        n = _explained(plan.n_instances_of(task), available)
        cost = TaskCost(task.name, 0, 0, n, 0.0, 0.0, float(info.get("load_seconds", 0.0)))
        for method in plan.methods:
            seeds = plan.seeds_of(method)
            per_explained, estimated = fallback.explain(task, method)
            cost.estimated += estimated
            if per_explained is None:
                cost.unknown.append(f"explain {method.label}")
                per_explained = 0.0
            for position in range(len(seeds)):
                cell = per_explained * ((n or DEFAULT_CALIBRATION_INSTANCES) + 1)
                metrics = [m for m in plan.metrics if m.scores_seed(position)]
                for metric in metrics:
                    if metric.metric.category == "cost":
                        continue
                    found, estimated = fallback.metric(task, method, metric)
                    cost.estimated += estimated
                    if found is None:
                        cost.unknown.append(f"{method.label} × {metric.label}")
                        continue
                    seconds, per = found
                    budget = task_budget(metric.n_instances, task.n_instances, plan.n_instances)
                    cell += seconds * _scored(budget, n) if per else seconds
                cost.cells += 1
                cost.records += len(metrics)
                cost.cpu_seconds += cell
                cost.longest_cell = max(cost.longest_cell, cell)
        cost.unknown = list(dict.fromkeys(cost.unknown))
        out.append(cost)
    return Estimate(out)


def _explained(requested: int | None, available: int | None) -> int | None:
    if requested is None:
        return available
    return requested if available is None else min(requested, available)


def _scored(budget: int | None, explained: int | None) -> int:
    n = explained or DEFAULT_CALIBRATION_INSTANCES
    return n if budget is None else min(budget, n)


class _Fallback:
    """Look-ups in the table, with the estimates for what it lacks (module docstring)."""

    def __init__(self, calibration: Calibration):
        self.c = calibration
        self._explain_by: dict[tuple[str, str], list[float]] = defaultdict(list)
        for (task, method), s in calibration.explain.items():
            self._explain_by[(_model(task), method)].append(s)
            self._explain_by[("*", method)].append(s)
        self._metric_by: dict[tuple[str, str, str], list[tuple[float, bool]]] = defaultdict(list)
        for (task, method, metric), v in calibration.metrics.items():
            self._metric_by[(_model(task), method, metric)].append(v)
            self._metric_by[("*", method, metric)].append(v)

    def explain(self, task: TaskRef, method: MethodEntry) -> tuple[float | None, int]:
        key = entry_id(method.method.name, method.method.params)
        if (task.name, key) in self.c.explain:
            return self.c.explain[(task.name, key)], 0
        for scope in (task.model, "*"):
            if self._explain_by.get((scope, key)):
                return statistics.median(self._explain_by[(scope, key)]), 1
        return None, 0

    def metric(self, task: TaskRef, method: MethodEntry, metric: MetricEntry) -> tuple[tuple[float, bool] | None, int]:
        m = entry_id(method.method.name, method.method.params)
        k = entry_id(metric.metric.name, metric.metric.params)
        if (task.name, m, k) in self.c.metrics:
            return self.c.metrics[(task.name, m, k)], 0
        for scope in (task.model, "*"):
            found = self._metric_by.get((scope, m, k))
            if found:
                return (statistics.median(s for s, _ in found), found[0][1]), 1
        return None, 0


def _model(task: str) -> str:
    return task.split("/")[1]


# -- text ------------------------------------------------------------------------------------------------
def render(plan: Plan, result: Estimate, *, workers: int, calibration: Calibration,
           budget: float = BUDGET_SECONDS) -> str:
    from tabulate import tabulate  # noqa: PLC0415

    rows = [[t.task, t.n_explained if t.n_explained is not None else "all", t.cells, t.records,
             _duration(t.cpu_seconds + t.load_seconds) + ("~" if t.estimated else "") + ("?" if t.unknown else ""),
             _duration(t.longest_cell)] for t in result.tasks]
    head = (f"Suite {plan.suite.name} v{plan.suite.version}: {len(plan.tasks)} tasks × {len(plan.methods)} methods "
            f"({sum(len(plan.seeds_of(m)) for m in plan.methods)} method-seeds) × {len(plan.metrics)} metrics = "
            f"{plan.n_cells} cells, {plan.results_per_task * len(plan.tasks)} records.")
    table = tabulate(rows, headers=["task", "explained", "cells", "records", "CPU", "longest cell"],
                     tablefmt="github", colalign=("left", "right", "right", "right", "right", "right"))
    total = result.cpu_seconds
    wall = result.wall_seconds(workers)
    lines = [head, "", table, "",
             f"Total: {_duration(total)} of CPU (one thread); longest cell {_duration(result.longest_cell)}.",
             f"Estimated wall time: {_duration(wall)} on {workers} worker{'s' if workers != 1 else ''} of one thread"
             + (f" (one worker: at most {_duration(result.wall_seconds(1))})" if workers != 1 else "") + "; "
             + (f"within the {_duration(budget)} budget ({wall / budget:.0%} of it)." if wall <= budget else
                f"OVER the {_duration(budget)} budget ({wall / budget:.0%} of it)."),
             ]
    estimated = sum(t.estimated for t in result.tasks)
    if estimated:
        lines.append(f"~: {estimated} (task, method[, metric]) costs are not in the calibration table and are "
                     "estimated from the same method on other tasks of the model (else of any model).")
    unknown = [(t.task, u) for t in result.tasks for u in t.unknown]
    if unknown:
        listed = "; ".join(f"{t}: {u}" for t, u in unknown[:6]) + ("; ..." if len(unknown) > 6 else "")
        lines.append(f"?: {len(unknown)} costs have no calibration at all and count 0 ({listed}); calibrate with "
                     f"`xaibench plan --suite {plan.suite.name} --calibrate --out DIR`.")
    for measured in calibration.measured[-3:]:
        lines.append("Calibration: " + ", ".join(f"{k} {v}" for k, v in measured.items()
                                                 if k in ("date", "source", "n_instances", "device", "load_average")))
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


# -- calibration runs ------------------------------------------------------------------------------------
def calibration_plan(plan: Plan, n_instances: int = DEFAULT_CALIBRATION_INSTANCES) -> Plan:
    """``plan`` with each method's first seed and at most ``n_instances`` instances (budgets capped)."""
    from dataclasses import replace  # noqa: PLC0415

    from .suite import _capped  # noqa: PLC0415

    n = n_instances if plan.n_instances is None else min(n_instances, plan.n_instances)
    return replace(plan, n_instances=n,
                   tasks=tuple(replace(t, n_instances=t.n_instances if (t.n_instances or n) < n else None)
                               for t in plan.tasks),
                   methods=tuple(replace(m, seeds=plan.seeds_of(m)[:1]) for m in plan.methods),
                   metrics=tuple(replace(m, n_instances=_capped(m.n_instances, n)) for m in plan.metrics))


def run_calibration(plan: Plan, out: str | Path, *, n_instances: int = DEFAULT_CALIBRATION_INSTANCES,
                    progress: bool = True) -> Calibration:
    """Run :func:`calibration_plan` into ``out`` (resumed when it holds a run) with one torch thread,
    and return the table its records give, with the tasks' load times and sizes."""
    import os  # noqa: PLC0415

    from .runner import run_plan  # noqa: PLC0415
    from .store import MANIFEST, RunStore, now  # noqa: PLC0415

    small = calibration_plan(plan, n_instances)
    os.environ["OMP_NUM_THREADS"] = "1"  # the worker process starts with one torch thread
    load = os.getloadavg()
    start = time.perf_counter()
    run_plan(small, out, resume=(Path(out) / MANIFEST).exists(), progress=progress)
    wall = time.perf_counter() - start
    records = RunStore(out).latest()
    about = {"date": now(), "source": f"xaibench plan --suite {plan.suite.name} --calibrate --out {out}",
             "n_instances": small.n_instances, "device": next((r.get("device_name") for r in records), None),
             "load_average": f"{load[0]:.1f} -> {os.getloadavg()[0]:.1f}", "wall_seconds": round(wall, 1),
             "cpu_seconds": round(sum(_cpu(r) for r in records), 1)}
    table = calibrate(records, about)
    table.tasks = measure_tasks(small.tasks, n_background=small.n_background, model_seed=small.model_seed)
    return table


def calibration_from(sources: Sequence[str | Path], plan: Plan | None = None) -> Calibration:
    """The table the records of existing runs (run or results folders) give."""
    from .results import iter_records  # noqa: PLC0415
    from .store import now  # noqa: PLC0415

    records = [r for source in sources for r in iter_records(source)]
    about = {"date": now(), "source": "xaibench plan --calibrate --from " + " ".join(map(str, sources)),
             "device": next((r.get("device_name") for r in records), None),
             "cpu_seconds": round(sum(_cpu(r) for r in records), 1)}
    table = calibrate(records, about)
    tasks = sorted({r["task"] for r in records})
    if plan is not None:
        refs = [TaskRef(*t.split("/")) for t in tasks]
        table.tasks = measure_tasks(refs, n_background=plan.n_background, model_seed=plan.model_seed)
    return table


def _cpu(record: Mapping[str, Any]) -> float:
    """A record's metric CPU seconds, plus its cell's explanation once (on the cell's first cost record)."""
    first = record.get("metric_name") == "explanations_per_second"
    explain = (record.get("explain_cpu_seconds") or 0.0) if first else 0.0
    return (record.get("metric_cpu_seconds") or 0.0) + explain
