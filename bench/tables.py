"""The leaderboard's content, computed from records: per-task tables and the cross-task summary.

Rendered by :mod:`xaibench.render` (Markdown, LaTeX) and :mod:`xaibench.export` (CSV, JSON);
``xaibench.leaderboard(...)`` does both. Rules:

* **Cells never mix.** Records are compared only within one *task table*, whose records agree on
  the task, suite and suite version, instance and background counts, model seed, dataset version,
  weights, device type and code identity (:class:`~xaibench.recordset.TableKey`). A task seen
  under several such settings gets one table per setting, labelled by what differs
  (``breast_cancer/mlp/logit [n_instances=16]``), and the cross-task summary refuses to rank a
  category that would need to choose between them (it says so). Within a table, a row is a method
  label with one parameter set and a column a metric label with one parameter set: the same label
  with other parameters is another row or column, labelled by the parameters that differ
  (``integrated_gradients {n_steps=50}``). Of several records of one (table, row, column, seed) —
  a failure and its retry, the same cell in two run folders — the last one read counts.
* **A cell** pools its seeds (:mod:`xaibench.cells`): the mean (the median for heavy-tailed
  metrics) over instances, each instance averaged over the seeds, with its 95 % interval over
  instances (:mod:`xaibench.stats`). ``error`` if any seed failed, ``n/a`` if the metric does not
  apply, ``—`` if no record exists.
* **Ranks** per column among the methods with a value, by the metric's direction (↑ higher is
  better, ↓ lower); ties share the average rank (``scipy.stats.rankdata``).
* **Top group** per column: the best method and those not significantly worse than it (two-sided
  Wilcoxon signed-rank tests on the per-instance values, Holm-corrected at α = 0.05; see
  :mod:`xaibench.paired`), computed for every column of every table in one batch. Only metrics
  with per-instance values are tested.
* **Category rank** of a method in a task: the mean of its ranks over the category's columns;
  none if it has a gap (``error``, ``n/a``, ``—``) in one of them — never a flattering average —
  while the other methods keep theirs. A column in which no method has a value is left out of the
  category's scope (and named), so it cannot blank every row. Cost columns (explanations/s, peak
  memory) are shown and ranked but are no quality category.
* **Summary, metric agreement and metric sanity** across tasks: :mod:`xaibench.across_tasks`.
* **Progress**: a run folder's manifest plans ``tasks × methods × metrics × seeds`` results; a
  task with fewer is reported as partial (results done / planned).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .across_tasks import CategorySummary, agreement, sanity, summarise
from .cells import Cells, pool
from .metric_checks import Agreement, Sanity
from .paired import ALPHA, top_groups
from .recordset import OK, SKIPPED, MethodKey, MetricKey, RecordSet, TableKey, read
from .stats import Summary

COST = "cost"


@dataclass(frozen=True)
class Column:
    label: str
    metric: MetricKey

    @property
    def category(self) -> str:
        return self.metric.category

    @property
    def higher_is_better(self) -> bool:
        return self.metric.higher_is_better

    @property
    def is_quality(self) -> bool:
        return self.metric.is_quality

    @property
    def tested(self) -> bool:
        """Whether the column gets paired tests (quality metric with per-instance values)."""
        return self.is_quality and self.metric.per_instance


@dataclass
class CellResult:
    status: str  # "ok" | "error" | "skipped" | "missing"
    summary: Summary | None = None
    n_seeds: int = 0
    rank: float | None = None
    top: bool | None = None  # in the column's top group; None when not tested
    p_value: float | None = None  # Holm-adjusted, against the column's best method
    errors: list[tuple[int, str]] = field(default_factory=list)  # (seed, "Type: message")

    @property
    def has_value(self) -> bool:
        return self.status == "ok" and self.summary is not None and self.summary.value is not None


MISSING = CellResult("missing")


@dataclass
class TaskTable:
    key: TableKey
    label: str  # the task, plus what differs when the task has several tables
    quality: dict[str, float]
    devices: list[str]
    seeds: list[int]
    columns: list[Column]
    methods: list[str]
    method_names: list[str | None]
    method_keys: dict[str, MethodKey]
    cells: dict[tuple[str, str], CellResult]
    category_rank: dict[str, dict[str, float | None]]
    dropped: list[str]  # columns that apply to no method of this task
    empty: list[str]  # columns where no method has a value (left out of category ranks)
    progress: tuple[int, int] | None = None  # results done, planned (when a manifest says)
    dense: tuple[np.ndarray, np.ndarray] = field(default=(np.empty((0, 0)), np.empty((0, 0))), repr=False)
    # (methods × columns): the cell index in Cells (-1: no record) and the column rank (NaN: none)
    _seed_counts: tuple[dict[str, int], dict[str, int]] | None = field(default=None, repr=False)

    @property
    def task(self) -> str:
        return self.key.task

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(c.category for c in self.columns if c.is_quality))

    def columns_of(self, category: str) -> list[Column]:
        return [c for c in self.columns if c.category == category]

    def cell(self, method: str, column: str) -> CellResult:
        return self.cells.get((method, column), MISSING)

    def short_of_seeds(self, method: str, column: str) -> bool:
        """Whether an ok cell pools fewer seeds than the others of both its row and its column (an
        interrupted run). Suites give methods their own seeds and metrics their own number of
        seeds (:mod:`xaibench.suite`), so a row or a column alone may rightly have fewer."""
        cell = self.cell(method, column)
        if cell.status != "ok":
            return False
        if self._seed_counts is None:
            rows: dict[str, int] = {}
            columns: dict[str, int] = {}
            for (m, c), other in self.cells.items():
                if other.status == "ok":
                    rows[m] = max(rows.get(m, 0), other.n_seeds)
                    columns[c] = max(columns.get(c, 0), other.n_seeds)
            self._seed_counts = (rows, columns)
        rows, columns = self._seed_counts
        return cell.n_seeds < min(rows[method], columns[column])

    def ordered(self, category: str) -> list[str]:
        """Methods by their rank in ``category`` (rows without one last), then table order."""
        ranks = self.category_rank.get(category, {})
        if category == COST or not ranks:
            return list(self.methods)
        order = {m: i for i, m in enumerate(self.methods)}
        return sorted(self.methods, key=lambda m: (ranks.get(m) is None, ranks.get(m) or 0.0, order[m]))


@dataclass
class Board:
    tables: list[TaskTable]
    summary: list[CategorySummary]
    agreement: Agreement | None
    sanity: list[Sanity]
    provenance: dict[str, list[str]]
    progress: dict[str, tuple[int, int]]  # task → (done, planned), for tasks a manifest plans
    not_started: list[str]  # planned tasks without any record


# -- entry points ----------------------------------------------------------------------------------
def leaderboard(source: Any, format: str = "markdown") -> str:  # noqa: A002 - the CLI's word
    """Render records (a list, a DataFrame, or run folders) as ``markdown|latex|csv|json``."""
    from .render import check_format, render  # noqa: PLC0415

    check_format(format)
    return render(build_board(read(source)), format)


def build_tables(records: Any) -> list[TaskTable]:
    """The per-task tables of ``records`` (anything :func:`xaibench.recordset.read` accepts)."""
    return build_board(records if isinstance(records, RecordSet) else read(records)).tables


def build_board(rs: RecordSet) -> Board:
    """Everything the leaderboard shows, from the records ``rs`` (see the module docstring)."""
    latest = rs.latest()
    method_labels, metric_labels = _labels(rs.methods), _labels(rs.metrics)
    table_labels = _table_labels(rs.tables)
    cells = pool(rs, latest)
    progress, not_started = _progress(rs, latest)
    repeated = {t.task for t in rs.tables if sum(u.task == t.task for u in rs.tables) > 1}
    by_table = np.argsort(cells.table, kind="stable")
    tids, starts = np.unique(cells.table[by_table], return_index=True)
    seeds = _seeds_per_table(rs, latest)
    summaries = cells.summaries()
    tables = []
    for tid, mine in sorted(zip(tids.tolist(), np.split(by_table, starts[1:])), key=lambda x: x[0]):
        table = _task_table(rs, tid, cells, summaries, mine, method_labels, metric_labels, table_labels[tid],
                            seeds[tid])
        table.progress = None if table.task in repeated else progress.get(table.task)
        tables.append(table)
    _mark_top_groups(tables, cells)
    for table in tables:
        _category_ranks(table)
    return Board(tables, summarise(tables), agreement(tables), sanity(tables), _provenance(rs), progress,
                 not_started)


def _seeds_per_table(rs: RecordSet, latest: np.ndarray) -> dict[int, list[int]]:
    pairs = np.unique(np.stack([rs.table[latest], rs.seed[latest]]).T, axis=0)
    out: dict[int, list[int]] = {}
    for t, seed in pairs.tolist():
        out.setdefault(t, []).append(seed)
    return out


# -- labels ------------------------------------------------------------------------------------------
def _labels(keys: Sequence[MethodKey | MetricKey]) -> list[str]:
    """Display labels: the key's label, plus the parameters that differ where one label has several keys."""
    by_label: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_label.setdefault(key.label, []).append(i)
    out = [k.label for k in keys]
    for label, indices in by_label.items():
        if len(indices) < 2:
            continue
        params = [_identity_params(keys[i]) for i in indices]
        names = {keys[i].name for i in indices}
        differing = sorted({k for p in params for k in p if len({json.dumps(q.get(k)) for q in params}) > 1})
        for position, (i, p) in enumerate(zip(indices, params)):
            parts = ([f"method={keys[i].name}" if isinstance(keys[i], MethodKey) else f"metric={keys[i].name}"]
                     if len(names) > 1 else [])
            parts += [f"{k}={_short(p.get(k))}" for k in differing]
            out[i] = f"{label} {{{', '.join(parts) or f'variant {position + 1}'}}}"
    return out


def _identity_params(key: MethodKey | MetricKey) -> dict[str, Any]:
    """What tells apart two keys of one label: the parameters, and a metric's instance budget."""
    params = key.params_dict
    if isinstance(key, MetricKey) and key.budget is not None:
        params = {**params, "n_instances": key.budget}
    return params


def _table_labels(keys: list[TableKey]) -> list[str]:
    by_task: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_task.setdefault(key.task, []).append(i)
    out = [k.task for k in keys]
    names = [f.name for f in fields(TableKey) if f.name != "task"]
    for task, indices in by_task.items():
        if len(indices) < 2:
            continue
        differing = [n for n in names if len({getattr(keys[i], n) for i in indices}) > 1]
        for i in indices:
            out[i] = f"{task} [{', '.join(f'{n}={_short(getattr(keys[i], n))}' for n in differing)}]"
    return out


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:12] if isinstance(value, str) and len(value) == 64 else text  # a SHA-256: its prefix


# -- cells -------------------------------------------------------------------------------------------
# -- one task table ----------------------------------------------------------------------------------
def _task_table(rs: RecordSet, tid: int, cells: Cells, summaries: list[Summary | None], mine: np.ndarray,
                method_labels: list[str], metric_labels: list[str], label: str, seeds: list[int]) -> TaskTable:
    """The table of ``tid`` from its cells ``mine`` (indices into ``cells``), built as dense
    methods × columns arrays and then as :class:`CellResult` objects for rendering."""
    method_ids, mpos = np.unique(cells.method[mine], return_inverse=True)
    metric_ids, cpos = np.unique(cells.metric[mine], return_inverse=True)
    index = np.full((method_ids.size, metric_ids.size), -1)
    index[mpos.reshape(-1), cpos.reshape(-1)] = mine
    status = np.where(index >= 0, cells.status[index], -1)
    value = np.where(status == OK, cells.summary[index, 0], np.nan)
    dropped_mask = (status == SKIPPED).all(axis=0)
    quality = np.array([rs.metrics[c].is_quality for c in metric_ids.tolist()], dtype=bool)
    keep = np.flatnonzero(~dropped_mask)
    keep = keep[np.argsort(~quality[keep], kind="stable")]  # quality first, cost last
    direction = np.array([-1.0 if rs.metrics[c].higher_is_better else 1.0 for c in metric_ids[keep].tolist()])
    ranks = np.full(value.shape, np.nan)
    if keep.size:
        from scipy.stats import rankdata  # noqa: PLC0415

        ranks[:, keep] = rankdata(value[:, keep] * direction, axis=0, nan_policy="omit")
    methods = [method_labels[m] for m in method_ids.tolist()]
    columns = [Column(metric_labels[c], rs.metrics[c]) for c in metric_ids[keep].tolist()]
    names = {0: "ok", 1: "error", 2: "skipped"}
    table_cells: dict[tuple[str, str], CellResult] = {}
    for j, column in zip(keep.tolist(), columns):
        for i, method in enumerate(methods):
            cell = int(index[i, j])
            if cell < 0:
                continue
            ok = cells.status[cell] == OK
            rank = ranks[i, j]
            table_cells[(method, column.label)] = CellResult(
                names[int(cells.status[cell])], summaries[cell],
                int(cells.n_ok[cell] if ok else cells.n_seen[cell]), None if rank != rank else float(rank),
                errors=sorted(cells.errors.get(cell, [])))
    has_value = np.isfinite(ranks[:, keep])
    return TaskTable(
        key=rs.tables[tid], label=label, quality=dict(rs.quality.get(tid, {})),
        devices=sorted(rs.devices.get(tid, set())), seeds=seeds, columns=columns, methods=methods,
        method_names=[rs.methods[m].name for m in method_ids.tolist()],
        method_keys={label: rs.methods[m] for label, m in zip(methods, method_ids.tolist())}, cells=table_cells,
        category_rank={}, dropped=[metric_labels[c] for c in metric_ids[dropped_mask].tolist()],
        empty=[c.label for c, any_value in zip(columns, has_value.any(axis=0).tolist()) if not any_value],
        dense=(index[:, keep], ranks[:, keep]))


def _mark_top_groups(tables: list[TaskTable], cells: Cells) -> None:
    """Top groups of every tested column of every table, with one batched call (:mod:`xaibench.paired`)."""
    jobs, targets = [], []
    for table in tables:
        index, ranks = table.dense
        for j, column in enumerate(table.columns):
            if not column.tested:
                continue
            rows = np.flatnonzero(np.isfinite(ranks[:, j]))
            if rows.size < 2 or any(int(index[i, j]) not in cells.vectors for i in rows.tolist()):
                continue
            matrix = np.stack([cells.vectors[int(index[i, j])] for i in rows.tolist()])
            jobs.append((matrix, int(np.argmin(ranks[rows, j])), column.higher_is_better))
            targets.append((table, column, [table.methods[i] for i in rows.tolist()]))
    if not jobs:
        return
    adjusted, members = top_groups(jobs, ALPHA)
    for (table, column, scored), p, member in zip(targets, adjusted, members):
        for m, pv, top in zip(scored, p.tolist(), member.tolist()):
            cell = table.cells[(m, column.label)]
            cell.top = bool(top)
            cell.p_value = None if pv != pv else pv


def _category_ranks(table: TaskTable) -> None:
    for category in table.categories:
        scope = [c for c in table.columns_of(category) if c.label not in table.empty]
        ranks: dict[str, float | None] = {}
        for m in table.methods:
            values = [table.cell(m, c.label).rank for c in scope]
            ranks[m] = None if not scope or any(r is None for r in values) else sum(values) / len(values)
        table.category_rank[category] = ranks


def _provenance(rs: RecordSet) -> dict[str, list[str]]:
    def seen(values) -> list[str]:
        return sorted({str(v) for v in values if v is not None})

    return {
        "suite": seen(f"{t.suite} v{t.suite_version}" if t.suite_version else t.suite for t in rs.tables),
        "suite_name": seen(t.suite for t in rs.tables),
        "suite_version": seen(t.suite_version for t in rs.tables),
        "xaibench": seen(v.get("xaibench") for v in rs.versions),
        "git_commit": seen(v.get("git_commit") for v in rs.versions),
        "code": seen(t.code for t in rs.tables),
        "device": seen(d for ds in rs.devices.values() for d in ds),
        "torch": seen(v.get("torch") for v in rs.versions),
    }


def planned_triples(plan: dict[str, Any]) -> set[tuple[str, str, int]]:
    """The (method label, metric label, seed) results a manifest's plan asks of every task: each
    method at its seeds (``seeds`` of the entry, else the plan's), each metric at the first
    ``n_seeds`` of them (all when not given)."""
    default = list(plan.get("seeds", []))
    out: set[tuple[str, str, int]] = set()
    metrics = [m if isinstance(m, dict) else {"label": m} for m in plan.get("metrics", [])]
    for method in plan.get("methods", []):
        label = method["label"] if isinstance(method, dict) else method
        seeds = (method.get("seeds") if isinstance(method, dict) else None) or default
        for metric in metrics:
            n_seeds = metric.get("n_seeds") or len(seeds)
            out |= {(label, metric["label"], seed) for seed in seeds[:n_seeds]}
    return out


def _progress(rs: RecordSet, latest: np.ndarray) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Results done / planned per task, for the sources whose manifest has a plan. A task's planned
    results are the union of its sources' plans (two folders of one run plan it once), and a
    planned result is done when any source recorded it."""
    planned: dict[str, set[tuple]] = {}
    for source in rs.sources:
        plan = source.plan
        if not plan or not plan.get("tasks"):
            continue
        triples = planned_triples(plan)
        for task in plan["tasks"]:
            planned.setdefault(task, set()).update(triples)
    if not planned:
        return {}, []
    method_labels = [m.label for m in rs.methods]
    metric_labels = [m.label for m in rs.metrics]
    combos = (np.unique(np.stack([rs.table[latest], rs.method[latest], rs.metric[latest], rs.seed[latest]]).T, axis=0)
              if latest.size else np.zeros((0, 4), dtype=np.int64))
    done = dict.fromkeys(planned, 0)
    for table, method, metric, seed in combos.tolist():
        task = rs.tables[table].task
        if task in planned and (method_labels[method], metric_labels[metric], seed) in planned[task]:
            done[task] += 1
    progress = {task: (done[task], len(triples)) for task, triples in planned.items()}
    not_started = [task for task, (d, _) in progress.items() if d == 0]
    return progress, not_started
