"""Leaderboard tables: per task, methods × metrics with values, intervals and ranks.

Computed here, rendered by :mod:`xaibench.render`; ``xaibench.leaderboard(...)`` does both.

Rules (stated again under every rendered table):

* A cell pools its records over seeds as :func:`xaibench.stats.pooled` documents: the mean over
  instances, each instance averaged over the seeds, ± the half-width of the 95 % percentile
  bootstrap interval over instances (cost cells: the mean over the passes of each seed).
* Rank per column among the methods with a value, by the metric's direction (``↑`` higher is
  better, ``↓`` lower); ties share the average rank (as ``scipy.stats.rankdata``).
* Mean rank over the **quality** columns (every category but ``cost``); the cost columns
  (explanations per second, peak memory) are shown and ranked but never enter a mean rank, since
  speed is not quality. Also a mean rank per quality category when there are several.
* A gap — a missing record (``—``), a failed cell (``error``: any of its seeds failed) or a
  metric that does not apply to that method (``n/a``) — gives the row **no** mean rank in that
  scope: averaging the remaining columns would flatter it. A metric that applies to no method of
  a task (ground-truth metrics on real data) is dropped from that task's table and named below.
* Rows are sorted by mean rank (rows without one last), then by their order in the suite.
* Of several records of one cell (task, method, metric, seed) — a failure and its retry, or
  the same cell in two run folders — the last one read counts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .stats import Summary, pooled

log = logging.getLogger(__name__)

COST = "cost"


@dataclass(frozen=True)
class Column:
    label: str
    category: str
    higher_is_better: bool

    @property
    def is_quality(self) -> bool:
        return self.category != COST


@dataclass
class CellResult:
    status: str  # "ok" | "error" | "skipped" | "missing"
    summary: Summary | None = None
    n_seeds: int = 0
    rank: float | None = None
    errors: list[tuple[int, str]] = field(default_factory=list)  # (seed, "Type: message")

    @property
    def has_value(self) -> bool:
        return self.status == "ok" and self.summary is not None and self.summary.value is not None


@dataclass
class TaskTable:
    task: str
    quality: dict[str, float]
    devices: list[str]
    seeds: list[int]
    columns: list[Column]
    methods: list[str]
    cells: dict[tuple[str, str], CellResult]
    mean_rank: dict[str, float | None]
    category_rank: dict[str, dict[str, float | None]]
    dropped: list[str]

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(c.category for c in self.columns if c.is_quality))

    def cell(self, method: str, column: str) -> CellResult:
        return self.cells.get((method, column), CellResult("missing"))


def load_records(sources: Iterable[str | Path] | str | Path) -> list[dict[str, Any]]:
    """Records of one or more run folders (or ``records.jsonl`` files), in reading order."""
    from .store import read_records  # noqa: PLC0415

    if isinstance(sources, (str, Path)):
        sources = [sources]
    return [r for source in sources for r in read_records(source)]


def build_tables(records: Iterable[Mapping[str, Any]]) -> list[TaskTable]:
    unique = _dedupe(records)
    by_task: dict[str, list[Mapping[str, Any]]] = {}
    for record in unique:
        by_task.setdefault(record["task"], []).append(record)
    return [_task_table(task, rows) for task, rows in by_task.items()]


def _dedupe(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The last record read of each (task, method, metric, seed): a retried cell's new record
    replaces its failure, and of two run folders holding the same cell the later one counts."""
    latest: dict[tuple, Mapping[str, Any]] = {}
    replaced = 0
    for record in records:
        cell = (record["task"], record["method"], record["metric"], record["seed"])
        replaced += cell in latest
        latest.pop(cell, None)
        latest[cell] = record
    if replaced:
        log.info("%d records were replaced by later records of the same cell (a retry, or repeated run folders)",
                 replaced)
    return list(latest.values())


def _task_table(task: str, rows: list[Mapping[str, Any]]) -> TaskTable:
    methods = list(dict.fromkeys(r["method"] for r in rows))
    columns = list({r["metric"]: Column(r["metric"], r["category"], bool(r["higher_is_better"]))
                    for r in rows}.values())
    columns.sort(key=lambda c: not c.is_quality)  # quality first, cost last; stable otherwise
    grouped: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        grouped.setdefault((r["method"], r["metric"]), []).append(r)
    cells = {key: _cell(group) for key, group in grouped.items()}
    dropped = [c.label for c in columns
               if all(cells.get((m, c.label), CellResult("missing")).status == "skipped" for m in methods)]
    columns = [c for c in columns if c.label not in dropped]
    for column in columns:
        _rank_column(column, methods, cells)
    table = TaskTable(
        task=task, quality=_quality(rows), devices=sorted({_device(r) for r in rows if r.get("device_name")}),
        seeds=sorted({r["seed"] for r in rows}), columns=columns, methods=methods, cells=cells,
        mean_rank={}, category_rank={}, dropped=dropped,
    )
    quality_columns = [c for c in columns if c.is_quality]
    table.mean_rank = {m: _mean_rank(table, m, quality_columns) for m in methods}
    table.category_rank = {cat: {m: _mean_rank(table, m, [c for c in quality_columns if c.category == cat])
                                 for m in methods} for cat in table.categories}
    order = {m: i for i, m in enumerate(methods)}
    table.methods = sorted(methods, key=lambda m: (table.mean_rank[m] is None, table.mean_rank[m] or 0.0, order[m]))
    return table


def _cell(records: Sequence[Mapping[str, Any]]) -> CellResult:
    seeds = len({r["seed"] for r in records})
    errors = [(r["seed"], f"{r.get('error_type')}: {r.get('error')}") for r in records if r["status"] == "error"]
    if errors:
        return CellResult("error", n_seeds=seeds, errors=sorted(errors))
    ok = [r for r in records if r["status"] == "ok"]
    if not ok:
        return CellResult("skipped", n_seeds=seeds)
    ordered = sorted(ok, key=lambda r: r["seed"])
    summary = pooled([r["values"] for r in ordered], aligned=bool(ordered[0].get("per_instance", True)))
    return CellResult("ok", summary, n_seeds=len(ok))


def _rank_column(column: Column, methods: list[str], cells: dict[tuple[str, str], CellResult]) -> None:
    scored = [(m, cells[(m, column.label)].summary.value) for m in methods
              if (m, column.label) in cells and cells[(m, column.label)].has_value]
    for method, rank in zip((m for m, _ in scored), average_ranks([v for _, v in scored], column.higher_is_better)):
        cells[(method, column.label)].rank = rank


def average_ranks(values: Sequence[float], higher_is_better: bool) -> list[float]:
    """Rank 1 = best; tied values share the mean of the ranks they span."""
    keyed = [-v if higher_is_better else v for v in values]
    order = sorted(range(len(keyed)), key=lambda i: keyed[i])
    ranks = [0.0] * len(keyed)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and keyed[order[end + 1]] == keyed[order[start]]:
            end += 1
        for i in order[start:end + 1]:
            ranks[i] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def _mean_rank(table: TaskTable, method: str, columns: list[Column]) -> float | None:
    if not columns:
        return None
    ranks = [table.cell(method, c.label).rank for c in columns]
    return None if any(r is None for r in ranks) else sum(ranks) / len(ranks)


def _quality(rows: list[Mapping[str, Any]]) -> dict[str, float]:
    for r in rows:
        if r.get("quality"):
            return dict(r["quality"])
    return {}


def _none_if_nan(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _device(record: Mapping[str, Any]) -> str:
    return f"{record['device']} ({record['device_name']})"


def leaderboard(source: Any, format: str = "markdown") -> str:  # noqa: A002 - the CLI's word
    """Render records (a list, a DataFrame, or run folders) as ``markdown|latex|csv|json``."""
    from .render import render  # noqa: PLC0415

    return render(build_tables(as_records(source)), format)


def as_records(source: Any) -> list[Mapping[str, Any]]:
    if hasattr(source, "to_dict") and hasattr(source, "columns"):  # a pandas DataFrame: NaN → None
        return [{k: _none_if_nan(v) for k, v in r.items()} for r in source.to_dict(orient="records")]
    if isinstance(source, (str, Path)) or (isinstance(source, (list, tuple)) and source
                                           and isinstance(source[0], (str, Path))):
        return load_records(source)
    return list(source)
