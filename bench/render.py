"""Leaderboard formats: Markdown and LaTeX via tabulate, CSV and JSON via pandas.

Markdown and LaTeX show one table per task (value ± CI half-width, then the rank in
parentheses) with the rules as footnotes. CSV and JSON are one tidy table: a row per
(task, method, column) — metric columns with value, interval, rank and status, plus the rows
``mean_rank`` and ``mean_rank[<category>]`` — so scripts never parse formatted strings.
"""

from __future__ import annotations

import json
import math

from .tables import CellResult, TaskTable

FORMATS = ("markdown", "latex", "csv", "json")
ARROW = {True: "↑", False: "↓"}
SHOWN = {"error": "error", "skipped": "n/a", "missing": "—"}


def render(tables: list[TaskTable], format: str = "markdown") -> str:  # noqa: A002
    if format not in FORMATS:
        from .errors import InvalidParameterError  # noqa: PLC0415

        raise InvalidParameterError(f"unknown leaderboard format {format!r}; choose one of {', '.join(FORMATS)}")
    if format in ("csv", "json"):
        frame = tidy(tables)
        return frame.to_csv(index=False) if format == "csv" else frame.to_json(orient="records", indent=1)
    if not tables:
        return "(no records)"
    return "\n\n".join(_task_text(t, latex=format == "latex") for t in tables)


# -- Markdown / LaTeX -------------------------------------------------------------------------
def _task_text(table: TaskTable, *, latex: bool) -> str:
    from tabulate import tabulate  # noqa: PLC0415

    esc = _latex_escape if latex else (lambda s: str(s).replace("|", "\\|"))
    arrow = (lambda hib: "$\\uparrow$" if hib else "$\\downarrow$") if latex else ARROW.get
    pm = " ± "  # escaped with the rest of the cell in LaTeX
    categories = table.categories if len(table.categories) > 1 else []
    headers = ["method"] + [f"{esc(c.label)} {arrow(c.higher_is_better)}" for c in table.columns]
    headers += ["mean rank"] + [f"rank: {esc(cat)}" for cat in categories]
    body = []
    for method in table.methods:
        row = [method] + [_cell_text(table.cell(method, c.label), pm, len(table.seeds)) for c in table.columns]
        row += [_rank_text(table.mean_rank[method])]
        row += [_rank_text(table.category_rank[cat][method]) for cat in categories]
        body.append([esc(text) for text in row])
    grid = tabulate(body, headers=headers, tablefmt="latex_raw" if latex else "github", disable_numparse=True)
    heading, notes = _heading(table), _notes(table)
    if latex:
        return (f"\\paragraph{{{esc(heading)}}}\n\n\\begin{{table}}[h]\n\\centering\n\\small\n{grid}\n"
                f"\\par\\footnotesize {esc(' '.join(notes))}\n\\end{{table}}")
    return f"### {heading}\n\n{grid}\n\n" + "\n".join(f"- {n}" for n in notes)


def _heading(table: TaskTable) -> str:
    quality = ", ".join(f"{k} = {_number(v)}" for k, v in table.quality.items()) or "not recorded"
    return f"{table.task.replace('/', ' / ')} (model quality: {quality})"


def _notes(table: TaskTable) -> list[str]:
    seeds = f"{len(table.seeds)} seed{'s' if len(table.seeds) != 1 else ''} ({', '.join(map(str, table.seeds))})"
    notes = [
        f"↑ higher is better, ↓ lower is better. Cell: mean ± half-width of the 95% percentile-bootstrap "
        f"interval over instances ({seeds}, averaged within each instance), then (rank in the column; "
        "ties share the average rank).",
        "Mean rank: over the quality metrics only; cost metrics (explanations/s, peak memory) are shown "
        "but excluded. A row with a gap (— missing, n/a not applicable, error) in its scope gets no mean rank.",
        f"Device: {'; '.join(table.devices) or 'unknown'}. Compare cost only on the same device.",
    ]
    if any(c.status == "ok" and c.n_seeds < len(table.seeds) for c in table.cells.values()):
        notes.append("† fewer seeds than the other cells of this table (an interrupted run?).")
    if table.dropped:
        notes.append(f"Not applicable to this task, hence not shown: {', '.join(table.dropped)}.")
    failures: dict[tuple[str, str], tuple[list[str], set[int]]] = {}
    for (method, metric), cell in table.cells.items():
        for seed, text in cell.errors:
            metrics, seeds = failures.setdefault((method, text), ([], set()))
            metrics += [metric] if metric not in metrics else []
            seeds.add(seed)
    for (method, text), (metrics, seeds) in failures.items():
        notes.append(f"error in {method} × {', '.join(metrics)} (seed {', '.join(map(str, sorted(seeds)))}): {text}")
    return notes


def _cell_text(cell: CellResult, pm: str, n_seeds: int) -> str:
    if not cell.has_value:
        return SHOWN.get(cell.status, "—") if cell.status != "ok" else "no finite value"
    summary = cell.summary
    text = _number(summary.value)
    if summary.half_width is not None and summary.half_width > 0:
        text += pm + _number(summary.half_width)
    if cell.n_seeds < n_seeds:
        text += " †"
    return f"{text} ({_rank_text(cell.rank)})"


def _rank_text(rank: float | None) -> str:
    if rank is None:
        return "—"
    return f"{rank:.2f}".rstrip("0").rstrip(".")


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    magnitude = abs(value)
    if magnitude >= 1e4 or 0 < magnitude < 1e-3:
        return f"{value:.2e}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _latex_escape(text: str) -> str:
    out = str(text)
    for char, repl in (("\\", "\\textbackslash{}"), ("&", "\\&"), ("%", "\\%"), ("$", "\\$"), ("#", "\\#"),
                       ("_", "\\_"), ("{", "\\{"), ("}", "\\}"), ("~", "\\textasciitilde{}"),
                       ("^", "\\textasciicircum{}"), ("±", "$\\pm$"), ("↑", "$\\uparrow$"), ("↓", "$\\downarrow$"),
                       ("×", "$\\times$"), ("—", "--"), ("†", "$\\dagger$")):
        out = out.replace(char, repl)
    return out


# -- CSV / JSON -----------------------------------------------------------------------------
def tidy(tables: list[TaskTable]):
    """One row per (task, method, column); see the module docstring."""
    import pandas as pd  # noqa: PLC0415

    rows = []
    for table in tables:
        head = {"task": table.task, "quality": json.dumps(table.quality, sort_keys=True)}
        for method in table.methods:
            for column in table.columns:
                cell = table.cell(method, column.label)
                s = cell.summary
                rows.append({**head, "method": method, "column": column.label, "category": column.category,
                             "higher_is_better": column.higher_is_better, "status": cell.status,
                             "value": s.value if s else None, "ci_low": s.ci_low if s else None,
                             "ci_high": s.ci_high if s else None, "n": s.n if s else 0,
                             "n_seeds": cell.n_seeds, "rank": cell.rank})
            scopes = [("mean_rank", table.mean_rank[method], "quality")]
            scopes += [(f"mean_rank[{cat}]", table.category_rank[cat][method], cat) for cat in table.categories]
            for name, rank, category in scopes:
                rows.append({**head, "method": method, "column": name, "category": category, "higher_is_better": False,
                             "status": "ok" if rank is not None else "gap", "value": rank, "ci_low": None,
                             "ci_high": None, "n": 0, "n_seeds": 0, "rank": None})
    columns = ["task", "quality", "method", "column", "category", "higher_is_better", "status", "value",
               "ci_low", "ci_high", "n", "n_seeds", "rank"]
    return pd.DataFrame(rows, columns=columns)
