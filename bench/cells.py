"""Pooling records into cells: one (table, method, metric) each, with its status and summary.

A cell gathers the latest record of each seed (:meth:`xaibench.recordset.RecordSet.latest`). Its
status is ``error`` if any seed failed, ``ok`` if any seed has values, ``skipped`` otherwise. Its
summary pools the seeds as :mod:`xaibench.stats` documents: per-instance metrics whose seeds
scored the same number of instances are averaged per instance over the seeds (the *vector* kept
for paired tests), then summarised over instances; other cells (cost, set-level metrics, seeds of
different lengths) pool all values as one sample. A single-seed cell whose record already holds
the interval this version of :mod:`xaibench.stats` computes (its ``interval`` field names it)
reuses it instead of resampling again. Everything is columnar: one NumPy entry per cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import stats
from .recordset import ERROR, OK, SKIPPED, RecordSet, combined_key
from .stats import Summary


@dataclass
class Cells:
    table: np.ndarray  # (cells,) codes into RecordSet.tables / methods / metrics
    method: np.ndarray
    metric: np.ndarray
    status: np.ndarray  # OK | ERROR | SKIPPED
    n_ok: np.ndarray  # seeds with values
    n_seen: np.ndarray  # seeds with a record
    summary: np.ndarray  # (cells, 5): value, stderr, ci_low, ci_high, n (NaN where none)
    heavy: np.ndarray  # bool: summarised by the median
    errors: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # cell → (seed, "Type: message")
    vectors: dict[int, np.ndarray] = field(default_factory=dict)  # cell → seed-averaged per-instance values

    def __len__(self) -> int:
        return int(self.table.size)

    def summaries(self) -> list[Summary | None]:
        """One :class:`~xaibench.stats.Summary` per cell (``None`` unless the cell is ok)."""
        out: list[Summary | None] = []
        for (value, stderr, low, high, n), ok, heavy in zip(self.summary.tolist(), (self.status == OK).tolist(),
                                                             self.heavy.tolist()):
            out.append(Summary(int(n), _none(value), _none(stderr), _none(low), _none(high),
                               "median" if heavy else "mean") if ok else None)
        return out


def pool(rs: RecordSet, latest: np.ndarray) -> Cells:
    """The cells of the records ``latest`` (indices into ``rs``)."""
    table, method, metric = rs.table[latest], rs.method[latest], rs.metric[latest]
    status = rs.status[latest]
    _, first, cell_of = np.unique(combined_key(table, method, metric), return_index=True, return_inverse=True)
    cell_of = cell_of.reshape(-1)
    ncell = first.size
    errors = np.bincount(cell_of, weights=status == ERROR, minlength=ncell)
    n_ok = np.bincount(cell_of, weights=status == OK, minlength=ncell).astype(np.int64)
    cell_status = np.where(errors > 0, ERROR, np.where(n_ok > 0, OK, SKIPPED)).astype(np.int8)
    heavy = np.array([m.heavy_tailed for m in rs.metrics], dtype=bool)
    cells = Cells(table[first], method[first], metric[first], cell_status, n_ok,
                  np.bincount(cell_of, minlength=ncell).astype(np.int64), np.full((ncell, 5), np.nan),
                  heavy[metric[first]])
    for r in np.flatnonzero(status == ERROR).tolist():
        cells.errors.setdefault(int(cell_of[r]), []).append((int(rs.seed[latest[r]]), rs.errors[rs.error[latest[r]]]))
    use = np.flatnonzero((status == OK) & (cell_status[cell_of] == OK))
    recs, owner = latest[use], cell_of[use]
    lengths = rs.length[recs]
    per_instance = np.array([m.per_instance for m in rs.metrics], dtype=bool)[rs.metric[recs]]
    shortest, longest = np.full(ncell, np.iinfo(np.int64).max), np.zeros(ncell, np.int64)
    np.minimum.at(shortest, owner, lengths)
    np.maximum.at(longest, owner, lengths)
    aligned = per_instance & (shortest[owner] == longest[owner]) & (lengths > 0)
    for length in np.unique(lengths[aligned]).tolist():
        pick = np.flatnonzero(aligned & (lengths == length))
        _pool_aligned(rs, cells, recs[pick], owner[pick], length)
    rest = np.flatnonzero(~aligned)
    if rest.size:
        _pool_flat(rs, cells, recs[rest], owner[rest])
    return cells


def _pool_aligned(rs: RecordSet, cells: Cells, recs: np.ndarray, owner: np.ndarray, length: int) -> None:
    """Cells whose records all hold ``length`` per-instance values: per-instance means over seeds."""
    order = np.argsort(owner, kind="stable")
    recs, owner = recs[order], owner[order]
    here, boundaries = np.unique(owner, return_index=True)
    matrix = rs.values[rs.start[recs][:, None] + np.arange(length)[None, :]]
    finite = np.isfinite(matrix)
    sums = np.add.reduceat(np.where(finite, matrix, 0.0), boundaries, axis=0)
    counts = np.add.reduceat(finite.astype(np.int64), boundaries, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    single = np.diff(np.append(boundaries, owner.size)) == 1
    first = recs[boundaries]
    for flag in (False, True):
        rows = np.flatnonzero(cells.heavy[here] == flag)
        if rows.size:
            known = _reusable(rs, first[rows], single[rows], flag)
            cells.summary[here[rows]] = _summarise(means[rows], flag, known)
    cells.vectors.update(zip(here.tolist(), means))


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


def _summarise(rows: np.ndarray, heavy: bool, known: np.ndarray) -> np.ndarray:
    compute = ~np.isfinite(known).all(axis=1)
    value, stderr, low, high, count = stats.summarize_arrays(rows, heavy_tailed=heavy, intervals=compute)
    return np.stack([value, stderr, np.where(compute, low, known[:, 0]), np.where(compute, high, known[:, 1]),
                     count]).T


def _pool_flat(rs: RecordSet, cells: Cells, recs: np.ndarray, owner: np.ndarray) -> None:
    """Cells whose values are not aligned per instance: all their values as one sample."""
    groups: dict[int, list[int]] = {}
    for r, o in zip(recs.tolist(), owner.tolist()):
        groups.setdefault(o, []).append(r)
    for flag in (False, True):
        owners = [o for o in groups if cells.heavy[o] == flag]
        if not owners:
            continue
        samples = [np.concatenate([rs.values_of(r) for r in groups[o]]) for o in owners]
        matrix = np.full((len(samples), max(1, max(s.size for s in samples))), np.nan)
        for i, s in enumerate(samples):
            matrix[i, :s.size] = s
        value, stderr, low, high, count = stats.summarize_arrays(matrix, heavy_tailed=flag)
        cells.summary[owners] = np.stack([value, stderr, low, high, count]).T


def _none(value: float) -> float | None:
    return None if value != value else value  # NaN → None
