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
* **A cell** pools its seeds as :mod:`xaibench.stats` documents: the mean (the median for
  heavy-tailed metrics) over instances, each instance averaged over the seeds, with its 95 %
  interval over instances. ``error`` if any seed failed, ``n/a`` if the metric does not apply,
  ``—`` if no record exists.
* **Ranks** per column among the methods with a value, by the metric's direction (↑ higher is
  better, ↓ lower); ties share the average rank (``scipy.stats.rankdata``).
* **Top group** per column: the best method and those not significantly worse than it (one-sided
  Wilcoxon signed-rank tests on the per-instance values, Holm-corrected at α = 0.05; see
  :mod:`xaibench.paired`). Only metrics with per-instance values are tested.
* **Category rank** of a method in a task: the mean of its ranks over the category's columns;
  none if it has a gap (``error``, ``n/a``, ``—``) in one of them — never a flattering average —
  while the other methods keep theirs. A column in which no method has a value is left out of the
  category's scope (and named), so it cannot blank every row. Cost columns (explanations/s, peak
  memory) are shown and ranked but are no quality category.
* **Summary** per quality category across tasks: the methods with a category rank in every task
  of the category are re-ranked within each task; their mean rank, its 95 % bootstrap interval,
  the Friedman test and the Nemenyi critical-difference groups (:mod:`xaibench.ranking`).
  Methods with a gap in some task are listed with those tasks and get no mean rank.
* **Metric agreement and sanity**: :mod:`xaibench.metric_checks`.
* **Progress**: a run folder's manifest plans ``tasks × methods × metrics × seeds`` results; a
  task with fewer is reported as partial (results done / planned).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from . import stats
from .metric_checks import Agreement, Sanity, is_synthetic, kendall_agreement, random_is_last
from .paired import ALPHA, top_groups
from .ranking import Ranking, rank_methods
from .recordset import ERROR, OK, SKIPPED, MethodKey, MetricKey, RecordSet, TableKey, read
from .stats import Summary

log = logging.getLogger(__name__)

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
    ids: tuple[int, dict[str, int], dict[str, int]] = field(default=(-1, {}, {}), repr=False)  # table, method, metric codes

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

    def ordered(self, category: str) -> list[str]:
        """Methods by their rank in ``category`` (rows without one last), then table order."""
        ranks = self.category_rank.get(category, {})
        if category == COST or not ranks:
            return list(self.methods)
        order = {m: i for i, m in enumerate(self.methods)}
        return sorted(self.methods, key=lambda m: (ranks.get(m) is None, ranks.get(m) or 0.0, order[m]))


@dataclass
class CategorySummary:
    category: str
    tasks: list[str]
    methods: list[str]  # ranked methods, best mean rank first
    ranking: Ranking | None  # indices follow ``methods``
    unranked: dict[str, list[str]]  # method → tasks where it has no category rank
    refused: str | None = None  # why no ranking was computed


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


def load_records(sources: Sequence[str | Path] | str | Path) -> list[dict[str, Any]]:
    """Records of one or more run folders (or ``records.jsonl`` files), in reading order, as dicts."""
    from .store import read_records  # noqa: PLC0415

    if isinstance(sources, (str, Path)):
        sources = [sources]
    return [r for source in sources for r in read_records(source)]


def build_board(rs: RecordSet) -> Board:
    latest = rs.latest()
    method_labels, metric_labels = _labels(rs.methods), _labels(rs.metrics)
    table_labels = _table_labels(rs.tables)
    cells, vectors = _cells(rs, latest)
    progress, not_started = _progress(rs, latest)
    tables = []
    for tid in _first_appearance(rs.table[latest]):
        table = _task_table(rs, tid, latest, cells, method_labels, metric_labels, table_labels[tid])
        table.progress = progress.get(table.task) if len([t for t in rs.tables if t.task == table.task]) == 1 \
            else None
        tables.append(table)
    _mark_top_groups(tables, vectors)
    for table in tables:
        _category_ranks(table)
    return Board(tables, _summary(tables), _agreement(tables), _sanity(tables), _provenance(rs), progress,
                 not_started)


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
        params = [keys[i].params_dict for i in indices]
        names = {keys[i].name for i in indices}
        differing = sorted({k for p in params for k in p if len({json.dumps(q.get(k)) for q in params}) > 1})
        for position, (i, p) in enumerate(zip(indices, params)):
            parts = ([f"method={keys[i].name}" if isinstance(keys[i], MethodKey) else f"metric={keys[i].name}"]
                     if len(names) > 1 else [])
            parts += [f"{k}={_short(p.get(k))}" for k in differing]
            out[i] = f"{label} {{{', '.join(parts) or f'variant {position + 1}'}}}"
    return out


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


def _first_appearance(ids: np.ndarray) -> list[int]:
    _, first = np.unique(ids, return_index=True)
    return ids[np.sort(first)].tolist()


# -- cells -------------------------------------------------------------------------------------------
@dataclass
class _Cell:
    status: int
    n_seeds: int
    seeds_seen: int
    summary: Summary | None = None
    errors: list[tuple[int, str]] = field(default_factory=list)


def _cells(rs: RecordSet, latest: np.ndarray) -> tuple[dict[tuple[int, int, int], _Cell],
                                                       dict[tuple[int, int, int], np.ndarray]]:
    """Every (table, method, metric) cell of the latest records, and the per-instance vector
    (seed-averaged) of each cell that has one."""
    table, method, metric = rs.table[latest], rs.method[latest], rs.metric[latest]
    status = rs.status[latest]
    keys = np.stack([table, method, metric]).T
    uniq, cell_of = np.unique(keys, axis=0, return_inverse=True)
    cell_of = cell_of.reshape(-1)
    ncell = len(uniq)
    errors = np.bincount(cell_of, weights=status == ERROR, minlength=ncell)
    oks = np.bincount(cell_of, weights=status == OK, minlength=ncell).astype(int)
    seen = np.bincount(cell_of, minlength=ncell).astype(int)
    cell_status = np.where(errors > 0, ERROR, np.where(oks > 0, OK, SKIPPED))
    out = {(int(t), int(m), int(c)): _Cell(int(s), int(o), int(n))
           for (t, m, c), s, o, n in zip(uniq.tolist(), cell_status.tolist(), oks.tolist(), seen.tolist())}
    for r in np.flatnonzero(status == ERROR).tolist():
        key = tuple(uniq[cell_of[r]].tolist())
        out[key].errors.append((int(rs.seed[latest[r]]), rs.errors[rs.error[latest[r]]]))
    # values of the ok records of ok cells
    use = np.flatnonzero((status == OK) & (cell_status[cell_of] == OK))
    recs, owner = latest[use], cell_of[use]
    lengths = rs.length[recs]
    per_instance = np.array([m.per_instance for m in rs.metrics], dtype=bool)[rs.metric[recs]]
    lo_len = np.full(ncell, np.iinfo(np.int64).max)
    hi_len = np.zeros(ncell, np.int64)
    np.minimum.at(lo_len, owner, lengths)
    np.maximum.at(hi_len, owner, lengths)
    aligned = per_instance & (lo_len[owner] == hi_len[owner])
    vectors: dict[tuple[int, int, int], np.ndarray] = {}
    heavy = np.array([m.heavy_tailed for m in rs.metrics], dtype=bool)
    for length in np.unique(lengths[aligned]).tolist():
        pick = np.flatnonzero(aligned & (lengths == length))
        pick = pick[np.argsort(owner[pick], kind="stable")]
        cells_here, boundaries = np.unique(owner[pick], return_index=True)
        matrix = rs.values[rs.start[recs[pick]][:, None] + np.arange(length)[None, :]] if length else \
            np.empty((pick.size, 0))
        finite = np.isfinite(matrix)
        sums = np.add.reduceat(np.where(finite, matrix, 0.0), boundaries, axis=0) if length else \
            np.empty((cells_here.size, 0))
        counts = np.add.reduceat(finite.astype(np.int64), boundaries, axis=0) if length else sums
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        single = np.diff(np.append(boundaries, pick.size)) == 1
        first = recs[pick[boundaries]]
        is_heavy = heavy[rs.metric[first]]
        for flag in (False, True):
            rows = np.flatnonzero(is_heavy == flag)
            if not rows.size:
                continue
            known = _reusable(rs, first[rows], single[rows], flag)
            summaries = _summaries(means[rows], flag, known)
            for row, summary in zip(rows.tolist(), summaries):
                key = tuple(uniq[cells_here[row]].tolist())
                out[key].summary = summary
                vectors[key] = means[row]
    rest = np.flatnonzero(~aligned)
    if rest.size:
        _pooled_flat(rs, recs[rest], owner[rest], uniq, out, heavy)
    return out, vectors


def _reusable(rs: RecordSet, records: np.ndarray, single: np.ndarray, heavy: bool) -> np.ndarray:
    """``(cells, 2)`` interval of single-seed cells whose record already holds it, computed by
    this version of :mod:`xaibench.stats` (NaN rows: compute it)."""
    known = np.full((records.size, 2), np.nan)
    name = stats.INTERVALS["median" if heavy else "mean"]
    if name not in rs.intervals:
        return known
    same = single & (rs.interval[records] == rs.intervals.index(name))
    summary = rs.summary[records[same]]
    have = np.isfinite(summary[:, 1]) & np.isfinite(summary[:, 2])
    rows = np.flatnonzero(same)[have]
    known[rows] = summary[have][:, 1:]
    return known


def _summaries(rows: np.ndarray, heavy: bool, known: np.ndarray) -> list[Summary]:
    compute = ~np.isfinite(known).all(axis=1)
    value, stderr, low, high, count = stats.summarize_arrays(rows, heavy_tailed=heavy, intervals=compute)
    low = np.where(compute, low, known[:, 0])
    high = np.where(compute, high, known[:, 1])
    statistic = "median" if heavy else "mean"
    opt = stats._opt
    return [Summary(int(c), opt(v), opt(s), opt(lo), opt(hi), statistic)
            for v, s, lo, hi, c in zip(value.tolist(), stderr.tolist(), low.tolist(), high.tolist(), count.tolist())]


def _pooled_flat(rs: RecordSet, recs: np.ndarray, owner: np.ndarray, uniq: np.ndarray,
                 out: dict[tuple[int, int, int], _Cell], heavy: np.ndarray) -> None:
    """Cells whose values are not aligned per instance: all their values as one sample."""
    groups: dict[int, list[int]] = {}
    for r, o in zip(recs.tolist(), owner.tolist()):
        groups.setdefault(o, []).append(r)
    for flag in (False, True):
        owners = [o for o, rows in groups.items() if heavy[rs.metric[rows[0]]] == flag]
        if not owners:
            continue
        samples = [np.concatenate([rs.values_of(r) for r in groups[o]]) for o in owners]
        width = max(1, max(s.size for s in samples))
        matrix = np.full((len(samples), width), np.nan)
        for i, s in enumerate(samples):
            matrix[i, :s.size] = s
        for o, summary in zip(owners, stats.summarize_rows(matrix, heavy_tailed=flag)):
            out[tuple(uniq[o].tolist())].summary = summary


# -- one task table ----------------------------------------------------------------------------------
def _task_table(rs: RecordSet, tid: int, latest: np.ndarray, cells: dict, method_labels: list[str],
                metric_labels: list[str], label: str) -> TaskTable:
    mine = latest[rs.table[latest] == tid]
    method_ids = _first_appearance(rs.method[mine])
    metric_ids = _first_appearance(rs.metric[mine])
    columns = [Column(metric_labels[c], rs.metrics[c]) for c in metric_ids]
    columns.sort(key=lambda col: not col.is_quality)  # quality first, cost last; stable otherwise
    by_label = {metric_labels[c]: c for c in metric_ids}
    methods = [method_labels[m] for m in method_ids]
    table_cells: dict[tuple[str, str], CellResult] = {}
    for m in method_ids:
        for c in metric_ids:
            cell = cells.get((tid, m, c))
            if cell is None:
                continue
            status = {OK: "ok", ERROR: "error", SKIPPED: "skipped"}[cell.status]
            table_cells[(method_labels[m], metric_labels[c])] = CellResult(
                status, cell.summary if status == "ok" else None, cell.n_seeds if status == "ok" else cell.seeds_seen,
                errors=sorted(cell.errors))
    dropped = [c.label for c in columns if all(table_cells.get((m, c.label), MISSING).status == "skipped"
                                               for m in methods)]
    columns = [c for c in columns if c.label not in dropped]
    _rank_columns(columns, methods, table_cells)
    empty = [c.label for c in columns if not any(table_cells.get((m, c.label), MISSING).has_value for m in methods)]
    seeds = sorted(set(rs.seed[mine].tolist()))
    table = TaskTable(
        key=rs.tables[tid], label=label, quality=dict(rs.quality.get(tid, {})),
        devices=sorted(rs.devices.get(tid, set())), seeds=seeds, columns=columns, methods=methods,
        method_names=[rs.methods[m].name for m in method_ids],
        method_keys={label: rs.methods[m] for label, m in zip(methods, method_ids)}, cells=table_cells, category_rank={},
        dropped=dropped, empty=empty, ids=(tid, dict(zip(methods, method_ids)), by_label))
    return table


def _rank_columns(columns: list[Column], methods: list[str], cells: dict[tuple[str, str], CellResult]) -> None:
    from scipy.stats import rankdata  # noqa: PLC0415

    if not columns or not methods:
        return
    values = np.array([[cells[(m, c.label)].summary.value if cells.get((m, c.label), MISSING).has_value else np.nan
                        for c in columns] for m in methods], dtype=np.float64)
    direction = np.array([-1.0 if c.higher_is_better else 1.0 for c in columns])
    ranks = rankdata(values * direction, axis=0, nan_policy="omit")
    for i, m in enumerate(methods):
        for j, c in enumerate(columns):
            if np.isfinite(ranks[i, j]):
                cells[(m, c.label)].rank = float(ranks[i, j])


def _mark_top_groups(tables: list[TaskTable], vectors: dict) -> None:
    jobs, targets = [], []
    for table in tables:
        tid, method_ids, metric_ids = table.ids
        for column in table.columns:
            if not column.tested:
                continue
            scored = [m for m in table.methods if table.cell(m, column.label).has_value]
            keys = [(tid, method_ids[m], metric_ids[column.label]) for m in scored]
            if len(scored) < 2 or any(k not in vectors for k in keys):
                continue
            matrix = np.stack([vectors[k] for k in keys])
            ranks = [table.cell(m, column.label).rank for m in scored]
            best = int(np.argmin(ranks))
            jobs.append((matrix, best, column.higher_is_better))
            targets.append((table, column, scored))
    if not jobs:
        return
    adjusted, members = top_groups(jobs, ALPHA)
    for (table, column, scored), p, member in zip(targets, adjusted, members):
        for m, pv, top in zip(scored, p.tolist(), member.tolist()):
            cell = table.cell(m, column.label)
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


# -- across tasks --------------------------------------------------------------------------------------
def _summary(tables: list[TaskTable]) -> list[CategorySummary]:
    categories = list(dict.fromkeys(cat for t in tables for cat in t.categories))
    out = []
    for category in categories:
        scoped = [t for t in tables if category in t.categories
                  and any(r is not None for r in t.category_rank[category].values())]
        tasks = [t.task for t in scoped]
        repeated = sorted({t for t in tasks if tasks.count(t) > 1})
        if repeated:
            out.append(CategorySummary(category, [t.label for t in scoped], [], None, {}, refused=(
                f"{len(repeated)} task(s) have records under several settings ({', '.join(repeated[:3])}"
                f"{'...' if len(repeated) > 3 else ''}); their tables are shown apart, but a ranking across "
                "tasks would have to choose one. Render each run folder alone, or re-run the stale cells.")))
            continue
        methods = list(dict.fromkeys(m for t in scoped for m in t.methods))
        matrix = np.array([[_nan(t.category_rank[category].get(m)) for m in methods] for t in scoped])
        complete = np.isfinite(matrix).all(axis=0) if scoped else np.zeros(len(methods), bool)
        unranked = {m: [t.label for t, v in zip(scoped, matrix[:, j]) if not np.isfinite(v)]
                    for j, m in enumerate(methods) if not complete[j]}
        ranked = [m for m, ok in zip(methods, complete) if ok]
        if not ranked:
            out.append(CategorySummary(category, tasks, [], None, unranked,
                                       refused="no method has a rank in every task of this category"))
            continue
        from scipy.stats import rankdata  # noqa: PLC0415

        within = rankdata(matrix[:, complete], axis=1)
        ranking = rank_methods(within)
        order = np.argsort(ranking.mean_rank, kind="stable")
        ranking = _reorder(ranking, order)
        out.append(CategorySummary(category, tasks, [ranked[i] for i in order], ranking, unranked))
    return out


def _reorder(ranking: Ranking, order: np.ndarray) -> Ranking:
    position = {int(old): new for new, old in enumerate(order.tolist())}
    return Ranking(ranking.n_tasks, ranking.mean_rank[order], ranking.ci_low[order], ranking.ci_high[order],
                   ranking.friedman, ranking.cd, [[position[i] for i in g] for g in ranking.groups],
                   [ranking.letters[i] for i in order.tolist()])


def _nan(value: float | None) -> float:
    return np.nan if value is None else value


def _quality_ranks(table: TaskTable) -> tuple[list[str], np.ndarray]:
    columns = [c for c in table.columns if c.is_quality]
    ranks = np.array([[_nan(table.cell(m, c.label).rank) for m in table.methods] for c in columns]).reshape(
        len(columns), len(table.methods))
    return [c.label for c in columns], ranks


def _agreement(tables: list[TaskTable]) -> Agreement | None:
    metrics = list(dict.fromkeys(c.label for t in tables for c in t.columns if c.is_quality))
    if len(metrics) < 2:
        return None
    index = {m: i for i, m in enumerate(metrics)}
    blocks = []
    for table in tables:
        labels, ranks = _quality_ranks(table)
        block = np.full((len(metrics), len(table.methods)), np.nan)
        block[[index[label] for label in labels]] = ranks
        blocks.append(block)
    return kendall_agreement(metrics, blocks)


def _sanity(tables: list[TaskTable]) -> list[Sanity]:
    counts: dict[str, list] = {}
    for table in tables:
        if not is_synthetic(table.key.dataset):
            continue
        labels, ranks = _quality_ranks(table)
        names = [n or m for n, m in zip(table.method_names, table.methods)]
        for label, last in zip(labels, random_is_last(ranks, names)):
            if last is None:
                continue
            entry = counts.setdefault(label, [0, 0, []])
            entry[0] += last
            entry[1] += 1
            if not last:
                entry[2].append(table.label)
    return [Sanity(label, last, n, failures) for label, (last, n, failures) in counts.items()]


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


def _progress(rs: RecordSet, latest: np.ndarray) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Results done / planned per task, for the sources whose manifest has a plan."""
    done: dict[str, int] = {}
    planned: dict[str, int] = {}
    for index, source in enumerate(rs.sources):
        plan = source.plan
        if not plan or not plan.get("tasks"):
            continue
        methods = {m["label"] if isinstance(m, dict) else m for m in plan.get("methods", [])}
        metrics = {m["label"] if isinstance(m, dict) else m for m in plan.get("metrics", [])}
        seeds = set(plan.get("seeds", []))
        per_task = len(methods) * len(metrics) * len(seeds)
        mine = latest[rs.source[latest] == index]
        method_ok = np.array([m.label in methods for m in rs.methods], dtype=bool)
        metric_ok = np.array([m.label in metrics for m in rs.metrics], dtype=bool)
        keep = mine[method_ok[rs.method[mine]] & metric_ok[rs.metric[mine]] & np.isin(rs.seed[mine], list(seeds))]
        combos = np.unique(np.stack([rs.table[keep], rs.method[keep], rs.metric[keep], rs.seed[keep]]).T, axis=0)
        tasks_of = [rs.tables[t].task for t in combos[:, 0].tolist()] if combos.size else []
        for task in plan["tasks"]:
            planned[task] = planned.get(task, 0) + per_task
            done.setdefault(task, 0)
        for task in tasks_of:
            if task in planned:
                done[task] += 1
    progress = {task: (min(done[task], planned[task]), planned[task]) for task in planned}
    not_started = [task for task, (d, _) in progress.items() if d == 0]
    return progress, not_started
