"""Where one method stands on a leaderboard :class:`~xaibench.tables.Board`: what ``submit`` prints.

* **Per category, across tasks** (:mod:`xaibench.across_tasks`): its mean rank with the 95 %
  interval, its place among the ranked methods, and its critical-difference group — the methods
  sharing a Nemenyi letter with it are not significantly different from it (Demšar 2006). A gap
  (no rank in some task) is said, never averaged away.
* **Per task**: its category rank's place among the methods of that task, and in how many of the
  category's tested columns it is in the top group (not significantly worse than the best: paired
  Wilcoxon, Holm-corrected; :mod:`xaibench.paired`).
"""

from __future__ import annotations

from ..tables import Board


def rank_lines(board: Board, method: str) -> list[str]:
    """Human-readable lines on ``method``'s ranks in ``board`` (see the module docstring)."""
    others = _others(board, method)
    if not others:  # a place "1st of 1" or "top group 0/7" would say nothing
        return [f"Ranks of {method}: none, as no other method has results on these tasks."]
    lines = [f"Ranks of {method} against {len(others)} other method(s):"]
    for summary in board.summary:
        head = f"  {summary.category} ({len(summary.tasks)} task{'s' if len(summary.tasks) != 1 else ''}): "
        if summary.refused:
            lines.append(head + f"not ranked across tasks: {summary.refused}")
        elif method in summary.methods:
            i = summary.methods.index(method)
            r = summary.ranking
            interval = f" [{r.ci_low[i]:.2f}, {r.ci_high[i]:.2f}]" if r.ci_low[i] == r.ci_low[i] else ""
            text = head + f"mean rank {r.mean_rank[i]:.2f}{interval}, {_ordinal(i + 1)} of {len(summary.methods)}"
            if r.friedman is None:
                text += " (no Friedman test: " + ("one task" if r.n_tasks < 2 else "fewer than 3 methods") + ")"
            elif not r.significant:
                text += f" (Friedman p = {r.friedman.f_p_value:.2g}: no significant differences, one group)"
            else:
                peers = [m for j, m in enumerate(summary.methods)
                         if j != i and set(r.letters[j]) & set(r.letters[i])]
                text += (f"; CD group {r.letters[i]}: not significantly different from "
                         f"{', '.join(peers) if peers else 'no other method'} (CD = {r.cd:.2f})")
            lines.append(text)
        elif method in summary.unranked:
            gaps = summary.unranked[method]
            lines.append(head + f"no mean rank: a gap (error, n/a or missing) in {len(gaps)} task(s): "
                         f"{', '.join(gaps[:4])}{'...' if len(gaps) > 4 else ''}")
    lines.append("  per task (place of its category rank among the task's methods; top group: columns where it is "
                 "not significantly worse than the best):")
    for table in board.tables:
        if method not in table.methods:
            continue
        parts = []
        for category in table.categories:
            ranks = {m: r for m, r in table.category_rank[category].items() if r is not None}
            tested = [c for c in table.columns_of(category) if c.tested]
            top = sum(bool(table.cell(method, c.label).top) for c in tested)
            place = (f"{1 + sum(r < ranks[method] for r in ranks.values())}/{len(ranks)}" if method in ranks
                     else "no rank")
            parts.append(f"{category} {place}" + (f", top group {top}/{len(tested)}" if tested else ""))
        lines.append(f"    {table.label}: " + "; ".join(parts))
    return lines


def _others(board: Board, method: str) -> set[str]:
    return {m for t in board.tables for m in t.methods if m != method}


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
