"""Leaderboard text: Markdown, and LaTeX via tabulate (CSV and JSON: :mod:`xaibench.export`).

Layout: provenance and run status first; then the **summary** (methods × quality categories:
mean rank over tasks, its 95 % interval, Nemenyi group letters), the per-category tests, metric
agreement and metric sanity; then **each task**, one table per category, each at most
:data:`WIDTH` characters wide in Markdown (wider categories are split into several tables), the
model's quality in the task's heading; the **notes** once, at the end of the file. In LaTeX every
table is a ``table`` float with booktabs rules, a caption and a label, numbers right-aligned.

Marks: the best value of a column in **bold**; the other methods of its top group (not
significantly worse than the best, :mod:`xaibench.paired`) in *italics* (LaTeX: underlined).
"""

from __future__ import annotations

import math
import re

from .across_tasks import summary_rows
from .metric_checks import Agreement
from .tables import COST, Board, CategorySummary, CellResult, Column, TaskTable

FORMATS = ("markdown", "latex", "csv", "json")
WIDTH = 120
ARROW = {True: "↑", False: "↓"}
SHOWN = {"error": "error", "skipped": "n/a", "missing": "—"}
TRUTH = {
    "process": "the data-generating process's attributions, realised exactly by the oracle",
    "model": "the trained model's own exact Shapley values",
}


def check_format(format: str) -> None:  # noqa: A002
    if format not in FORMATS:
        from .errors import InvalidParameterError  # noqa: PLC0415

        raise InvalidParameterError(f"unknown leaderboard format {format!r}; choose one of {', '.join(FORMATS)}")


def render(board: Board, format: str = "markdown") -> str:  # noqa: A002
    check_format(format)
    if format in ("csv", "json"):
        from .export import to_csv, to_json  # noqa: PLC0415

        return to_csv(board) if format == "csv" else to_json(board)
    if not board.tables:
        return "(no records)"
    return _Writer(latex=format == "latex").document(board)


class _Writer:
    def __init__(self, *, latex: bool):
        self.latex = latex

    # -- text helpers ---------------------------------------------------------------------------
    def esc(self, text: object) -> str:
        return _latex_escape(text) if self.latex else str(text).replace("|", "\\|")

    def heading(self, level: int, text: str) -> str:
        if self.latex:
            command = {1: "section*", 2: "subsection*", 3: "subsubsection*"}.get(level, "paragraph")
            return f"\\{command}{{{self.esc(text)}}}"
        return f"{'#' * level} {text}"

    def bullets(self, lines: list[str]) -> str:
        """A bulleted list (Markdown ``-`` items, or a LaTeX itemize)."""
        if self.latex:
            return "\\begin{itemize}\n" + "\n".join(f"\\item {self.esc(x)}" for x in lines) + "\n\\end{itemize}"
        return "\n".join(f"- {self.esc(x)}" for x in lines)

    def grid(self, headers: list[str], rows: list[list[str]], caption: str, label: str) -> list[str]:
        """One table (Markdown: several if wider than WIDTH), first column left, others right."""
        from tabulate import tabulate  # noqa: PLC0415

        if self.latex:
            body = tabulate(rows, headers=headers, tablefmt="latex_raw", disable_numparse=True,
                            colalign=("left",) + ("right",) * (len(headers) - 1))
            lines = body.splitlines()
            rules = [i for i, line in enumerate(lines) if line.strip() == "\\hline"]
            for i, rule in zip(rules, ("\\toprule", "\\midrule", "\\bottomrule")):
                lines[i] = rule
            return ["\\begin{table}[htbp]\n\\centering\n\\small\n"
                    f"\\caption{{{self.esc(caption)}}}\n\\label{{{label}}}\n" + "\n".join(lines) + "\n\\end{table}"]
        return [_pipe_table([headers[i] for i in chunk], [[r[i] for i in chunk] for r in rows])
                for chunk in _column_chunks(headers, rows)]

    def bold(self, text: str) -> str:
        return f"\\textbf{{{text}}}" if self.latex else f"**{text}**"

    def group_mark(self, text: str) -> str:
        return f"\\underline{{{text}}}" if self.latex else f"*{text}*"

    # -- document ---------------------------------------------------------------------------------
    def document(self, board: Board) -> str:
        parts = [self.heading(1, "Leaderboard"), self.esc(_provenance_line(board))]
        status = _status_lines(board)
        parts += [self.esc(line) for line in status]
        parts += self.summary(board)
        parts += self.agreement(board.agreement)
        parts += self.sanity(board)
        parts.append(self.heading(2, "Tasks"))
        for table in board.tables:
            parts += self.task(table)
        parts.append(self.heading(2, "Notes"))
        notes = _notes(board)
        parts.append(self.bullets(notes))
        return "\n\n".join(p for p in parts if p)

    def summary(self, board: Board) -> list[str]:
        ranked = [s for s in board.summary if s.ranking is not None]
        out = [self.heading(2, "Summary: mean rank per category")]
        if ranked:
            methods = summary_rows(board.summary)
            headers = ["method"] + [self.esc(f"{s.category} ({len(s.tasks)} task{'s' if len(s.tasks) != 1 else ''})")
                                    for s in ranked]
            rows = [[self.esc(m)] + [self.esc(_summary_cell(s, m)) for s in ranked] for m in methods]
            out += self.grid(headers, rows, "Mean rank per category over tasks, with 95% bootstrap interval and "
                             "Nemenyi groups", "tab:summary")
        out.append(self.bullets(_test_lines(board.summary)))
        return out

    def agreement(self, agreement: Agreement | None) -> list[str]:
        if agreement is None:
            return []
        out = [self.heading(2, "Metric agreement (Kendall τ-b between method rankings, mean over tasks)")]
        numbers = [str(i + 1) for i in range(len(agreement.metrics))]
        headers = ["metric"] + numbers
        rows = []
        for i, metric in enumerate(agreement.metrics):
            row = [self.esc(f"{i + 1} {metric}")]
            for j in range(len(agreement.metrics)):
                tau = agreement.tau[i, j]
                row.append("" if i == j else ("—" if not math.isfinite(tau) else f"{tau:.2f}"))
            rows.append(row)
        out += self.grid(headers, rows, "Metric agreement: Kendall tau-b between method rankings", "tab:agreement")
        return out

    def sanity(self, board: Board) -> list[str]:
        if not board.sanity:
            return []
        out = [self.heading(2, "Metric sanity (is random ranked last on the synthetic tasks?)")]
        rows = [[self.esc(s.metric), f"{s.last}/{s.tasks}", "FLAGGED" if s.flagged else "ok"] for s in board.sanity]
        out += self.grid(["metric", "random last", "flag"], rows, "Metric sanity on synthetic tasks", "tab:sanity")
        flagged = [f"{s.metric}: random is not last on {', '.join(s.failures)}." for s in board.sanity if s.flagged]
        if flagged:  # the tasks in a list, not a table column: a table stays within WIDTH
            out.append(self.bullets(flagged))
        return out

    def task(self, table: TaskTable) -> list[str]:
        quality = ", ".join(f"{k} = {_number(v)}" for k, v in table.quality.items()) or "not recorded"
        title = f"{table.label.replace('/', ' / ')} (model quality: {quality})"
        if table.progress and table.progress[0] < table.progress[1]:
            title += f" — partial: {table.progress[0]}/{table.progress[1]} results"
        out = [self.heading(3, title)]
        for category in table.categories + ([COST] if table.columns_of(COST) else []):
            columns = table.columns_of(category)
            ranked = category != COST
            headers = ["method"] + [self.esc(_header(c)) for c in columns] + (["rank"] if ranked else [])
            rows = []
            best = [min((r for m in table.methods if (r := table.cell(m, c.label).rank) is not None), default=None)
                    for c in columns]
            for method in table.ordered(category):
                row = [self.esc(method)]
                row += [self.cell(table.cell(method, c.label), b, table.short_of_seeds(method, c.label))
                        for c, b in zip(columns, best)]
                if ranked:
                    row.append(_rank_text(table.category_rank[category].get(method)))
                rows.append(row)
            caption = f"{table.label}: {category} (model quality: {quality})"
            out.append(self.heading(4, category) if not self.latex else "")
            out += self.grid(headers, rows, caption, _label(table.label, category))
        return out

    def cell(self, cell: CellResult, best_rank: float | None, short_of_seeds: bool) -> str:
        if not cell.has_value:
            return SHOWN.get(cell.status, "—") if cell.status != "ok" else "no finite value"
        s = cell.summary
        text = _number(s.value)
        if s.half_width is not None and s.half_width > 0:
            text = f"{text} [{_number(s.ci_low)}, {_number(s.ci_high)}]" if not s.symmetric else \
                f"{text} ± {_number(s.half_width)}"
        text = self.esc(text)
        if cell.rank is not None and cell.rank == best_rank:
            text = self.bold(text)
        elif cell.top:
            text = self.group_mark(text)
        if short_of_seeds:
            text += self.esc(" †")
        return f"{text} ({_rank_text(cell.rank)})"


# -- pieces of text ---------------------------------------------------------------------------------
def _provenance_line(board: Board) -> str:
    p = board.provenance
    commits = [c[:12] + ("+dirty" if c.endswith("+dirty") else "") for c in p.get("git_commit", [])]
    records = sum(len(t.cells) for t in board.tables)
    parts = [f"suite {', '.join(p.get('suite', [])) or 'unknown'}",
             f"xaibench {', '.join(p.get('xaibench', [])) or 'unknown'}",
             f"commit {', '.join(commits) or 'unknown'}",
             f"device {'; '.join(p.get('device', [])) or 'unknown'}",
             f"{len(board.tables)} task table{'s' if len(board.tables) != 1 else ''}, {records} cells"]
    return "Provenance: " + " · ".join(parts) + "."


def _status_lines(board: Board) -> list[str]:
    lines = []
    if board.progress:
        partial = {t: dp for t, dp in board.progress.items() if dp[0] < dp[1]}
        done = sum(d for d, _ in board.progress.values())
        planned = sum(p for _, p in board.progress.values())
        if partial:
            listed = "; ".join(f"{t}: {d}/{p}" for t, (d, p) in list(partial.items())[:12])
            more = f"; and {len(partial) - 12} more" if len(partial) > 12 else ""
            lines.append(f"PARTIAL RUN: {done} of {planned} planned results (method × metric × seed) are "
                         f"recorded; incomplete tasks (done/planned): {listed}{more}.")
        else:
            lines.append(f"Complete: all {planned} planned results are recorded.")
    code = board.provenance.get("code", [])
    if len(code) > 1:
        lines.append(f"Records come from {len(code)} code versions ({', '.join(c[:12] for c in code)}); "
                     "a task's records from different versions are shown as separate tables.")
    return lines


def _summary_cell(summary: CategorySummary, method: str) -> str:
    if method in summary.unranked:
        return "— (gap)"
    if method not in summary.methods:
        return ""
    i = summary.methods.index(method)
    r = summary.ranking
    text = f"{r.mean_rank[i]:.2f}"
    if math.isfinite(r.ci_low[i]):
        text += f" [{r.ci_low[i]:.2f}, {r.ci_high[i]:.2f}]"
    return f"{text} {r.letters[i]}" if r.friedman is not None else text  # no test, no groups


def _test_lines(summaries: list[CategorySummary]) -> list[str]:
    lines = []
    for s in summaries:
        if s.refused:
            lines.append(f"{s.category}: not ranked across tasks: {s.refused}")
            continue
        r = s.ranking
        k = len(s.methods)
        if r.friedman is None:
            test = f"no Friedman test ({'one task' if r.n_tasks < 2 else 'fewer than 3 methods'})"
        else:
            f = r.friedman
            test = (f"Friedman χ²_F = {f.chi2:.1f} (p = {_p(f.p_value)}), Iman-Davenport F_F = {f.f:.2f} "
                    f"(p = {_p(f.f_p_value)})")
            test += f"; Nemenyi CD = {r.cd:.2f}" if r.significant else "; not significant: one group"
        lines.append(f"{s.category}: k = {k} methods over N = {r.n_tasks} task{'s' if r.n_tasks != 1 else ''}; {test}.")
        for method, tasks in s.unranked.items():
            lines.append(f"{s.category}: {method} has no mean rank (a gap in {len(tasks)} task"
                         f"{'s' if len(tasks) != 1 else ''}: {', '.join(tasks[:3])}{'...' if len(tasks) > 3 else ''}).")
    return lines


def _notes(board: Board) -> list[str]:
    notes = [
        "↑ higher is better, ↓ lower is better. A cell is the mean over instances ± the half-width of its 95% "
        "interval (symmetric studentized bootstrap over instances); for heavy-tailed metrics (header marked "
        "'median') the median [95% order-statistic interval]. Seeds are averaged within each instance first. "
        "Then (the rank in the column; ties share the average rank).",
        "Bold: the column's best value. Italics: not significantly worse than the best (two-sided Wilcoxon "
        "signed-rank test on the same instances, Holm-corrected over the column's methods, α = 0.05); "
        "bold and italics together form the column's top group. Only metrics with per-instance values are tested.",
        "rank: the method's mean column rank within the category; a gap (— no record, n/a not applicable, error) "
        "in the category gives none, while the other methods keep theirs. Cost columns are shown, not ranked into "
        "any category.",
        "Summary: the mean over tasks of the within-task rank among the methods ranked in every task of the "
        "category, its 95% BCa bootstrap interval over tasks, and Nemenyi groups (letters; Demšar 2006): methods "
        "sharing a letter do not differ by the critical difference at α = 0.05. Groups are formed only when the "
        "Iman-Davenport test rejects equal ranks.",
        "Metric agreement: Kendall τ-b between two metrics' method rankings in a task, averaged over the tasks "
        "where both rank at least 3 methods. Metric sanity: a metric is flagged when it does not rank the random "
        "control last on every synthetic task.",
    ]
    truths = {}
    for table in board.tables:
        for c in table.columns:
            if c.category == "ground_truth":
                truths.setdefault(c.label, c.metric.truth)
    for label, truth in truths.items():
        notes.append(f"{label} scores against {TRUTH.get(truth, truth) if truth else 'an unrecorded ground truth'}.")
    devices = sorted({d for t in board.tables for d in t.devices})
    notes.append(f"Cost columns were measured on: {'; '.join(devices) or 'unknown'}. Compare cost only on the "
                 "same device.")
    if any(t.short_of_seeds(m, c) for t in board.tables for (m, c) in t.cells):
        notes.append("† fewer seeds than the other cells of its row and of its column (an interrupted run?).")
    dropped: dict[str, list[str]] = {}
    for table in board.tables:
        for label in table.dropped:
            dropped.setdefault(label, []).append(table.label)
    for label, tasks in dropped.items():
        notes.append(f"Not applicable, hence not shown: {label} on {len(tasks)} task{'s' if len(tasks) != 1 else ''} "
                     f"({', '.join(tasks[:4])}{'...' if len(tasks) > 4 else ''}).")
    for table in board.tables:
        if table.empty:
            notes.append(f"{table.label}: no method has a value for {', '.join(table.empty)}; left out of its "
                         "category's rank.")
    for table in board.tables:
        failures: dict[tuple[str, str], tuple[list[str], set[int]]] = {}
        for (method, metric), cell in table.cells.items():
            for seed, text in cell.errors:
                metrics, seeds = failures.setdefault((method, text), ([], set()))
                metrics += [metric] if metric not in metrics else []
                seeds.add(seed)
        for (method, text), (metrics, seeds) in failures.items():
            notes.append(f"error in {method} × {', '.join(metrics)} on {table.label} "
                         f"(seed {', '.join(map(str, sorted(seeds)))}): {text}")
    if board.not_started:
        notes.append(f"Planned but without any record: {', '.join(board.not_started)}.")
    return notes


def _pipe_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table, first column left-aligned, the others right-aligned — what
    ``tabulate(..., tablefmt="github")`` writes, ten times faster: tabulate infers a type for every
    cell (1 ms per table), which for the ~1,500 tables of a standard-suite leaderboard is most of
    its time budget."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i else (":" + "-" * (w + 1)) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), rule] + [line(r) for r in rows])


def _header(column: Column) -> str:
    text = f"{column.label} {ARROW[column.higher_is_better]}"
    return text + " median" if column.metric.heavy_tailed else text


def _label(task: str, category: str) -> str:
    return "tab:" + re.sub(r"[^A-Za-z0-9]+", "-", f"{task}-{category}").strip("-").lower()


def _column_chunks(headers: list[str], rows: list[list[str]]) -> list[list[int]]:
    """Column index groups (each with the first and, for ranked tables, the last column) whose
    Markdown rendering is at most WIDTH characters wide."""
    widths = [max([len(headers[i])] + [len(r[i]) for r in rows]) + 3 for i in range(len(headers))]
    keep_last = headers[-1] == "rank" and len(headers) > 2
    fixed = widths[0] + 1 + (widths[-1] if keep_last else 0)
    inner = list(range(1, len(headers) - (1 if keep_last else 0)))
    chunks, current, width = [], [], fixed
    for i in inner:
        if current and width + widths[i] > WIDTH:
            chunks.append(current)
            current, width = [], fixed
        current.append(i)
        width += widths[i]
    if current or not chunks:
        chunks.append(current)
    tail = [len(headers) - 1] if keep_last else []
    return [[0] + c + tail for c in chunks]


def _rank_text(rank: float | None) -> str:
    if rank is None:
        return "—"
    return f"{rank:.2f}".rstrip("0").rstrip(".")


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


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


def _latex_escape(text: object) -> str:
    out = str(text)
    for char, repl in (("\\", "\\textbackslash{}"), ("&", "\\&"), ("%", "\\%"), ("$", "\\$"), ("#", "\\#"),
                       ("_", "\\_"), ("{", "\\{"), ("}", "\\}"), ("~", "\\textasciitilde{}"),
                       ("^", "\\textasciicircum{}"), ("±", "$\\pm$"), ("↑", "$\\uparrow$"), ("↓", "$\\downarrow$"),
                       ("×", "$\\times$"), ("—", "--"), ("†", "$\\dagger$"), ("τ", "$\\tau$"), ("χ²", "$\\chi^2$"),
                       ("α", "$\\alpha$"), ("š", "\\v{s}")):
        out = out.replace(char, repl)
    return out
