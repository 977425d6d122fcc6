"""The static site: ``build_site(results, out)`` writes HTML pages and PNG figures into ``out``.

Pages (Jinja2 templates in ``xaibench/site/templates``; autoescaped, so names from bundles cannot
inject markup), all working offline from the file system — no server, no network, no external
script or style; the table-sorting script is written inline in every page:

* ``index.html`` — provenance, the summary leaderboard (methods × categories: mean rank, 95 %
  interval, CD group letters) and the per-category tests, critical-difference diagrams, the
  cost-versus-faithfulness Pareto plot, rank heat maps, the metric agreement matrix, and links to
  every task;
* ``tasks/<task>.html`` — per task: the model's quality, one sortable table per category (value
  [95 % interval] (rank); bold the best, italics its top group), cost, mean deletion and
  insertion curves, the attribution gallery (images: a heat map per method over the same
  instances; sequences: tokens shaded by attribution), and each method's provenance;
* ``submit.html`` — how to submit a method (``docs/SUBMITTING.md`` when the repository has it).

Figures: :mod:`xaibench.site.plots`. Data beyond the tables: :mod:`xaibench.site.data`.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..across_tasks import summary_rows
from ..attributions import task_folder
from ..tables import COST, Board, CellResult, TaskTable
from . import plots
from .data import Saved, curves, params_text, provenance, run_folders, saved_attributions

GALLERY_INSTANCES = 6
MARKER = ".xaibench-site"
"""A file in every built site: a folder without it is never replaced."""
FAITHFULNESS = "faithfulness"
SPEED_COLUMN = "explanations_per_second"


def build_site(results: str | Path, out: str | Path, *, board: Board | None = None,
               guide: str | Path | None = None) -> Path:
    """Write the site for ``results`` into ``out`` (replacing an earlier build, never another folder:
    a non-empty ``out`` without the :data:`MARKER` file is refused); returns ``index.html``.

    ``board``: the leaderboard already computed from all published records (else computed here);
    ``guide``: the Markdown of the how-to-submit page (default: ``docs/SUBMITTING.md`` beside ``results``).
    """
    results, out = Path(results), Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        from ..errors import ResultsError  # noqa: PLC0415

        raise ResultsError(f"--site {out} exists and is not a site made by xaibench (no {MARKER} in it); it is left "
                           "alone: choose a new or empty folder")
    if board is None:
        board = _board(results)
    folders = run_folders(results)
    staging = out.parent / f".{out.name}.building"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / MARKER).write_text("made by xaibench publish; the whole folder is replaced at the next build\n")
    try:
        env = _environment()
        rows = [(m, t.method_keys.get(m)) for t in board.tables for m in t.methods]
        origin = provenance(folders, rows)
        for folder, bundle in folders:
            if bundle is not None and (folder / "method.py").is_file():
                (staging / "sources").mkdir(exist_ok=True)
                shutil.copyfile(folder / "method.py", staging / "sources" / f"{folder.name}.py.txt")
        task_curves, saved = curves(folders), saved_attributions(folders)
        pages = [_task_page(env, staging, table, origin, task_curves.get(table.task, {}),
                            saved.get(table.task, {})) for table in board.tables]
        index = _index_page(env, staging, board, pages, origin)
        (staging / "submit.html").write_text(env.get_template("submit.html.j2").render(
            title="How to submit a method", root="", guide=_guide_html(guide, results)), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / index.name


def _board(results: Path) -> Board:
    from ..results import build_published_board  # noqa: PLC0415
    from ..submission.canonical import standard_dir  # noqa: PLC0415

    return build_published_board(standard_dir(results))


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape  # noqa: PLC0415

    env = Environment(loader=PackageLoader("xaibench.site", "templates"), autoescape=select_autoescape(["j2", "html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["params"] = params_text
    return env


# -- the index -------------------------------------------------------------------------------------
def _index_page(env, out: Path, board: Board, pages: list[dict[str, Any]], origin) -> Path:
    from ..render import _provenance_line, _status_lines, _test_lines  # noqa: PLC0415 - the same words as LEADERBOARD.md

    figures = []
    summary_rows, categories = _summary(board)
    for s in board.summary:
        if s.ranking is None:
            continue
        path = plots.cd_diagram(s.methods, s.ranking.mean_rank.tolist(),
                                s.ranking.groups if s.ranking.significant else [], s.ranking.cd if s.ranking.significant
                                else None, f"{s.category}: mean rank over {s.ranking.n_tasks} task(s)",
                                out / "plots" / f"cd-{task_folder(s.category)}.png")
        figures.append(("cd", f"Critical-difference diagram: {s.category}", path.relative_to(out).as_posix()))
    points = _pareto_points(board)
    if len(points) >= 2:
        path = plots.pareto(points, out / "plots" / "pareto.png")
        figures.append(("pareto", "Cost against faithfulness (Pareto front in red)", path.relative_to(out).as_posix()))
    for category in categories:
        methods, tasks, matrix = _rank_matrix(board, category)
        if tasks:
            path = plots.rank_heatmap(methods, tasks, matrix, f"{category}: rank per task",
                                      out / "plots" / f"ranks-{task_folder(category)}.png")
            figures.append(("heatmap", f"Rank heat map: {category}", path.relative_to(out).as_posix()))
    if board.agreement is not None:
        path = plots.agreement_matrix(board.agreement.metrics, board.agreement.tau, out / "plots" / "agreement.png")
        figures.append(("agreement", "Metric agreement (Kendall τ-b)", path.relative_to(out).as_posix()))
    page = out / "index.html"
    page.write_text(env.get_template("index.html.j2").render(
        title="xaibench leaderboard", root="", provenance=_provenance_line(board), status=_status_lines(board),
        categories=categories, summary=summary_rows, tests=_test_lines(board.summary), figures=figures, tasks=pages,
        methods=sorted(origin.values(), key=lambda p: (p.origin != "submission", p.method))), encoding="utf-8")
    return page


def _summary(board: Board) -> tuple[list[dict[str, Any]], list[str]]:
    ranked = [s for s in board.summary if s.ranking is not None]
    categories = [s.category for s in ranked]
    methods = summary_rows(board.summary)
    rows = []
    for method in methods:
        cells = []
        for s in ranked:
            if method in s.methods:
                i = s.methods.index(method)
                r = s.ranking
                interval = f" [{r.ci_low[i]:.2f}, {r.ci_high[i]:.2f}]" if math.isfinite(r.ci_low[i]) else ""
                letters = f" {r.letters[i]}" if r.friedman is not None else ""
                cells.append({"text": f"{r.mean_rank[i]:.2f}{interval}{letters}", "sort": f"{r.mean_rank[i]:.6f}"})
            elif method in s.unranked:
                cells.append({"text": "— (gap)", "sort": ""})
            else:
                cells.append({"text": "", "sort": ""})
        rows.append({"method": method, "cells": cells})
    return rows, categories


def _pareto_points(board: Board) -> list[tuple[str, float, float]]:
    summary = next((s for s in board.summary if s.category == FAITHFULNESS and s.ranking is not None), None)
    if summary is None:
        return []
    speeds: dict[str, list[float]] = {}
    for table in board.tables:
        column = next((c for c in table.columns if c.metric.name == SPEED_COLUMN), None)
        if column is None:
            continue
        for method in table.methods:
            cell = table.cell(method, column.label)
            if cell.has_value and cell.summary.value > 0:
                speeds.setdefault(method, []).append(math.log(cell.summary.value))
    return [(m, math.exp(float(np.mean(speeds[m]))), float(summary.ranking.mean_rank[i]))
            for i, m in enumerate(summary.methods) if m in speeds]


def _rank_matrix(board: Board, category: str) -> tuple[list[str], list[str], np.ndarray]:
    tables = [t for t in board.tables if category in t.category_rank]
    methods = list(dict.fromkeys(m for t in tables for m in t.methods))
    matrix = np.full((len(methods), len(tables)), np.nan)
    for j, table in enumerate(tables):
        for i, method in enumerate(methods):
            rank = table.category_rank[category].get(method)
            matrix[i, j] = np.nan if rank is None else rank
    return methods, [t.label for t in tables], matrix


# -- a task page ------------------------------------------------------------------------------------
def _task_page(env, out: Path, table: TaskTable, origin, task_curves, saved: dict[str, Saved]) -> dict[str, Any]:
    from ..render import ARROW, SHOWN, _number, _rank_text  # noqa: PLC0415

    slug = task_folder(table.label)
    groups = []
    for category in table.categories + ([COST] if table.columns_of(COST) else []):
        columns = table.columns_of(category)
        ranked = category != COST
        best = [min((r for m in table.methods if (r := table.cell(m, c.label).rank) is not None), default=None)
                for c in columns]
        rows = []
        for method in table.ordered(category):
            cells = [_cell(table.cell(method, c.label), b, _number, SHOWN) for c, b in zip(columns, best)]
            rank = table.category_rank[category].get(method) if ranked else None
            rows.append({"method": method, "cells": cells,
                         "rank": {"text": _rank_text(rank), "sort": "" if rank is None else f"{rank:.6f}"}})
        headers = [f"{c.label} {ARROW[c.higher_is_better]}" + (" median" if c.metric.heavy_tailed else "")
                   for c in columns]
        groups.append({"category": category, "headers": headers, "rows": rows, "ranked": ranked})
    figures = []
    panels = {label: series for label, series in task_curves.items() if series}
    if panels:
        path = plots.removal_curves(panels, table.label, out / "plots" / "curves" / f"{slug}.png")
        figures.append(("curves", "Mean deletion and insertion curves", path.relative_to(out).as_posix()))
    gallery, text_gallery = _gallery(out, table, saved, slug)
    if gallery:
        figures.append(("gallery", "Attribution heat maps", gallery))
    page = out / "tasks" / f"{slug}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    quality = ", ".join(f"{k} = {_number(v)}" for k, v in table.quality.items()) or "not recorded"
    page.write_text(env.get_template("task.html.j2").render(
        title=table.label, root="../", quality=quality, progress=table.progress, groups=groups, figures=figures,
        text_gallery=text_gallery, seeds=table.seeds, devices=table.devices,
        methods=[origin[m] for m in table.methods if m in origin]), encoding="utf-8")
    return {"label": table.label, "href": f"tasks/{slug}.html", "quality": quality, "methods": len(table.methods)}


def _cell(cell: CellResult, best: float | None, number, shown) -> dict[str, Any]:
    if not cell.has_value:
        return {"text": shown.get(cell.status, "—") if cell.status != "ok" else "no finite value", "sort": "",
                "cls": "gap"}
    s = cell.summary
    text = number(s.value)
    if s.half_width is not None and s.half_width > 0:
        text += f" [{number(s.ci_low)}, {number(s.ci_high)}]" if not s.symmetric else f" ± {number(s.half_width)}"
    rank = "—" if cell.rank is None else f"{cell.rank:g}"
    cls = "best" if cell.rank is not None and cell.rank == best else ("top" if cell.top else "")
    return {"text": f"{text} ({rank})", "sort": "" if cell.rank is None else f"{cell.rank:.6f}", "cls": cls}


def _gallery(out: Path, table: TaskTable, saved: dict[str, Saved], slug: str) -> tuple[str | None, list | None]:
    """The image gallery's path (image tasks), or the text gallery's rows (sequence tasks)."""
    columns = [(m, saved[m]) for m in table.methods if m in saved]
    if not columns:
        return None, None
    first = columns[0][1]
    n = min(GALLERY_INSTANCES, *(len(s.inputs) for _, s in columns))
    if first.kind == "image" and first.inputs.ndim == 4:
        path = plots.image_gallery(first.inputs[:n], [(m, s.attributions[:n]) for m, s in columns],
                                   f"{table.label}: attributions (red positive, blue negative; seed {first.seed})",
                                   out / "plots" / "gallery" / f"{slug}.png")
        return path.relative_to(out).as_posix(), None
    if first.kind == "sequence" and first.inputs.ndim == 3:
        return None, _text_rows(first.inputs[:n], [(m, s.attributions[:n]) for m, s in columns])
    return None, None


def _text_rows(inputs: np.ndarray, columns: list[tuple[str, np.ndarray]]) -> list[dict[str, Any]]:
    """Per instance, per method: the tokens (one-hot inputs decoded by their argmax) with a
    background colour whose opacity is the position's |φ| over the row's largest (red positive,
    blue negative)."""
    tokens = inputs.argmax(axis=-1)
    rows = []
    for i in range(len(inputs)):
        lines = []
        for method, phi in columns:
            weight = np.asarray(phi[i], float).sum(axis=-1)
            scale = float(np.abs(weight).max()) or 1.0
            spans = [{"token": str(int(t)), "value": f"{w:.3g}",
                      "style": f"background: rgba({'220,40,40' if w >= 0 else '40,80,220'},{abs(w) / scale:.2f})"}
                     for t, w in zip(tokens[i].tolist(), weight.tolist())]
            lines.append({"method": method, "spans": spans})
        rows.append({"instance": i, "lines": lines})
    return rows


def _guide_html(guide: str | Path | None, results: Path) -> str | None:
    """``docs/SUBMITTING.md`` rendered to HTML (markdown-it, raw HTML disabled), or ``None``."""
    candidates = [Path(guide)] if guide else [results.resolve().parent / "docs" / "SUBMITTING.md",
                                              Path.cwd() / "docs" / "SUBMITTING.md"]
    for path in candidates:
        if path.is_file():
            from markdown_it import MarkdownIt  # noqa: PLC0415

            return MarkdownIt("commonmark", {"html": False}).enable("table").render(path.read_text(encoding="utf-8"))
    return None
