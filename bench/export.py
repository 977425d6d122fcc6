"""Leaderboard as data: one tidy table, written as CSV or JSON through pandas.

One row per (task table, method, column) with ``kind = "cell"``, per (task table, method,
category) with ``kind = "category_rank"``, and per (category, method) with ``kind = "summary"``
(mean rank over tasks, its interval, Nemenyi letters, the Friedman p-value and CD). Every row
carries its provenance as columns — ``suite``, ``suite_version``, ``device`` (names, ``; ``-joined),
``device_type``, ``xaibench_version``, ``git_commit``, ``code`` — and the model's quality as
fields: a ``quality`` object in JSON, one ``quality.<name>`` column per measure in CSV. Numbers are
numbers (NaN/empty where undefined), never formatted strings, so scripts need not parse text.
"""

from __future__ import annotations

import json
from typing import Any

from .tables import Board, TaskTable

COLUMNS = [
    "kind", "task", "dataset", "model", "target", "method", "method_name", "method_params", "column", "metric_name",
    "metric_params", "category", "higher_is_better", "heavy_tailed", "statistic", "status", "value", "stderr",
    "ci_low", "ci_high", "n", "n_seeds", "rank", "top_group", "p_value", "group", "n_tasks", "friedman_p", "cd",
    "suite", "suite_version", "n_instances", "device", "device_type", "xaibench_version", "git_commit", "code",
    "quality",
]


def rows(board: Board) -> list[dict[str, Any]]:
    """The tidy rows (see the module docstring); ``quality`` is a dict."""
    out: list[dict[str, Any]] = []
    joined = {k: "; ".join(v) or None for k, v in board.provenance.items()}
    provenance = {"xaibench_version": joined.get("xaibench"), "git_commit": joined.get("git_commit")}
    overall = {**provenance, "suite": joined.get("suite_name"), "suite_version": joined.get("suite_version"),
               "device": joined.get("device"), "code": joined.get("code")}
    for table in board.tables:
        head = _head(table, provenance)
        for method_index, method in enumerate(table.methods):
            method_head = {**head, "method": method, "method_name": table.method_names[method_index],
                           "method_params": _method_params(table, method)}
            for column in table.columns:
                cell = table.cell(method, column.label)
                s = cell.summary
                out.append({**method_head, "kind": "cell", "column": column.label, "metric_name": column.metric.name,
                            "metric_params": column.metric.params_dict, "category": column.category,
                            "higher_is_better": column.higher_is_better, "heavy_tailed": column.metric.heavy_tailed,
                            "statistic": s.statistic if s else None, "status": cell.status,
                            "value": s.value if s else None, "stderr": s.stderr if s else None,
                            "ci_low": s.ci_low if s else None, "ci_high": s.ci_high if s else None,
                            "n": s.n if s else 0, "n_seeds": cell.n_seeds, "rank": cell.rank, "top_group": cell.top,
                            "p_value": cell.p_value})
            for category in table.categories:
                rank = table.category_rank[category].get(method)
                out.append({**method_head, "kind": "category_rank", "column": f"rank[{category}]",
                            "category": category, "higher_is_better": False,
                            "status": "ok" if rank is not None else "gap", "value": rank})
    for summary in board.summary:
        for i, method in enumerate(summary.methods):
            r = summary.ranking
            out.append({**overall, "kind": "summary", "method": method, "column": f"mean_rank[{summary.category}]",
                        "category": summary.category, "higher_is_better": False, "status": "ok",
                        "value": float(r.mean_rank[i]), "ci_low": _finite(r.ci_low[i]),
                        "ci_high": _finite(r.ci_high[i]),
                        "group": r.letters[i], "n_tasks": r.n_tasks,
                        "friedman_p": r.friedman.f_p_value if r.friedman else None, "cd": r.cd})
        for method in summary.unranked:
            out.append({**overall, "kind": "summary", "method": method, "column": f"mean_rank[{summary.category}]",
                        "category": summary.category, "higher_is_better": False, "status": "gap",
                        "n_tasks": len(summary.tasks)})
    return out


def frame(board: Board):
    import pandas as pd  # noqa: PLC0415

    return pd.DataFrame(rows(board), columns=COLUMNS)


def to_json(board: Board) -> str:
    """A JSON array with one cell (or summary row) per line: compact, and line-diffable."""
    lines = frame(board).to_json(orient="records", lines=True, force_ascii=False).splitlines()
    lines = [json.dumps(json.loads(line), ensure_ascii=False) for line in lines]  # no "\\/" escapes
    return "[\n" + ",\n".join(lines) + "\n]\n"


def to_csv(board: Board) -> str:
    import pandas as pd  # noqa: PLC0415

    data = frame(board)
    quality = pd.json_normalize([q if isinstance(q, dict) else {} for q in data.pop("quality")]).add_prefix("quality.")
    for name in ("method_params", "metric_params"):
        data[name] = [None if v is None or v != v else json.dumps(v, sort_keys=True) for v in data[name]]
    return pd.concat([data, quality.set_index(data.index)], axis=1).to_csv(index=False)


def _head(table: TaskTable, provenance: dict[str, Any]) -> dict[str, Any]:
    key = table.key
    dataset, model, target = (key.task.split("/") + [None, None])[:3]
    return {**provenance, "task": table.label, "dataset": dataset, "model": model, "target": target,
            "suite": key.suite, "suite_version": key.suite_version, "n_instances": key.n_instances,
            "device": "; ".join(table.devices) or None, "device_type": key.device_type, "code": key.code,
            "quality": dict(table.quality)}


def _method_params(table: TaskTable, method: str) -> dict[str, Any] | None:
    key = table.method_keys.get(method)
    return key.params_dict if key else None


def _finite(value: float) -> float | None:
    return None if value != value else float(value)
