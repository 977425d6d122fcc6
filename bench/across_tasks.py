"""What the leaderboard says across tasks: per-category rankings, metric agreement, metric sanity.

* **Summary** per quality category: the tasks whose table has a category rank for some method;
  the methods with a category rank in *every* one of them are re-ranked within each task
  (``scipy.stats.rankdata``, ties averaged) and ranked by :func:`xaibench.ranking.rank_methods`
  (mean rank, 95 % bootstrap interval over tasks, Friedman test, Nemenyi groups). A method with a
  gap in some task gets no mean rank and is listed with those tasks; the others keep theirs. When
  a task has tables under several settings (:mod:`xaibench.tables`), the category is not ranked,
  and the reason is given: a ranking would have to choose between them.
* **Agreement** and **sanity**: :mod:`xaibench.metric_checks`, fed with every table's column ranks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .metric_checks import Agreement, Sanity, is_synthetic, kendall_agreement, random_is_last
from .ranking import Ranking, rank_methods

if TYPE_CHECKING:
    from .tables import TaskTable


@dataclass
class CategorySummary:
    category: str
    tasks: list[str]
    methods: list[str]  # ranked methods, best mean rank first
    ranking: Ranking | None  # indices follow ``methods``
    unranked: dict[str, list[str]]  # method → tasks where it has no category rank
    refused: str | None = None  # why no ranking was computed


def summarise(tables: list[TaskTable]) -> list[CategorySummary]:
    """Per quality category: the ranking of the methods over the tasks (module docstring)."""
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


def summary_rows(summaries: list[CategorySummary]) -> list[str]:
    """The summary's methods, once each: ranked ones in the first category's order, then those with gaps."""
    ranked = [m for s in summaries if s.ranking is not None for m in s.methods]
    gaps = [m for s in summaries for m in s.unranked]
    return list(dict.fromkeys(ranked + gaps))


def _reorder(ranking: Ranking, order: np.ndarray) -> Ranking:
    position = {int(old): new for new, old in enumerate(order.tolist())}
    return Ranking(ranking.n_tasks, ranking.mean_rank[order], ranking.ci_low[order], ranking.ci_high[order],
                   ranking.friedman, ranking.cd, [[position[i] for i in g] for g in ranking.groups],
                   [ranking.letters[i] for i in order.tolist()])


def _nan(value: float | None) -> float:
    return np.nan if value is None else value


def _quality_ranks(table: TaskTable) -> tuple[list[str], np.ndarray]:
    """Labels of the quality columns and their ``(columns, methods)`` rank matrix (NaN: no rank)."""
    _, ranks = table.dense
    quality = [j for j, c in enumerate(table.columns) if c.is_quality]
    return [table.columns[j].label for j in quality], ranks[:, quality].T


def agreement(tables: list[TaskTable]) -> Agreement | None:
    """Kendall τ-b between the quality metrics' method rankings, over the tables."""
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


def sanity(tables: list[TaskTable]) -> list[Sanity]:
    """Per quality metric: on how many synthetic tasks it ranks ``random`` last."""
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
