"""Leaderboard ranks, mean ranks and gaps on a hand-made record set, and every output format."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from xaibench.stats import pooled
from xaibench.tables import average_ranks, build_tables, leaderboard

TASK = "toyset/net/out"
COLUMNS = {  # metric -> (category, higher_is_better)
    "q_up": ("faithfulness", True), "q_down": ("stability", False), "gt": ("ground_truth", True),
    "eps": ("cost", True), "mem": ("cost", False),
}


def rec(method, metric, value=None, status="ok", seed=0, values=None):
    category, hib = COLUMNS[metric]
    values = values if values is not None else ([value, value] if status == "ok" else None)
    return {"key": f"{method}|{metric}|{seed}", "task": TASK, "method": method, "metric": metric, "seed": seed,
            "category": category, "higher_is_better": hib, "per_instance": category != "cost", "status": status,
            "values": values, "value": value, "quality": {"test_accuracy": 0.9}, "device": "cpu",
            "device_name": "Test CPU (2 threads)", "error_type": "ValueError" if status == "error" else
            ("NotApplicableError" if status == "skipped" else None),
            "error": {"error": "it broke", "skipped": "needs ground truth"}.get(status)}


def hand_records():
    rows = []
    table = {  # method: q_up, q_down, eps, mem
        "A": (0.9, 0.2, 100.0, 5.0), "B": (0.5, 0.1, 50.0, 5.0), "C": (0.5, 0.3, 10.0, 1.0),
        "D": ("error", 0.05, 1000.0, 2.0), "E": (0.1, "skipped", None, None),
    }
    for method, cells in table.items():
        for metric, value in zip(("q_up", "q_down", "eps", "mem"), cells):
            if value is None:
                continue  # missing record
            rows.append(rec(method, metric, status=value) if isinstance(value, str) else rec(method, metric, value))
        rows.append(rec(method, "gt", status="skipped"))  # applies to no method: the column is dropped
    return rows


@pytest.fixture(scope="module")
def table():
    (only,) = build_tables(hand_records())
    return only


def test_average_ranks_with_ties_and_directions():
    assert average_ranks([0.9, 0.5, 0.5, 0.1], higher_is_better=True) == [1, 2.5, 2.5, 4]
    assert average_ranks([0.9, 0.5, 0.5, 0.1], higher_is_better=False) == [4, 2.5, 2.5, 1]
    assert average_ranks([1.0, 1.0, 1.0], higher_is_better=True) == [2, 2, 2]
    assert average_ranks([], higher_is_better=True) == []


def test_column_ranks_follow_each_metrics_direction(table):
    rank = lambda m, c: table.cell(m, c).rank  # noqa: E731
    assert [rank(m, "q_up") for m in "ABCDE"] == [1, 2.5, 2.5, None, 4]  # D failed: no rank
    assert [rank(m, "q_down") for m in "ABCDE"] == [3, 2, 4, 1, None]  # lower is better
    assert [rank(m, "eps") for m in "ABCD"] == [2, 3, 4, 1]
    assert [rank(m, "mem") for m in "ABCD"] == [3.5, 3.5, 1, 2]


def test_mean_ranks_exclude_cost_and_give_gaps_no_mean(table):
    assert table.mean_rank == {"A": 2.0, "B": 2.25, "C": 3.25, "D": None, "E": None}
    assert table.category_rank["faithfulness"] == {"A": 1, "B": 2.5, "C": 2.5, "D": None, "E": 4}
    assert table.category_rank["stability"] == {"A": 3, "B": 2, "C": 4, "D": 1, "E": None}
    assert table.methods == ["A", "B", "C", "D", "E"]  # by mean rank, rows without one last
    assert [c.label for c in table.columns] == ["q_up", "q_down", "eps", "mem"]
    assert table.dropped == ["gt"]
    assert table.cell("D", "q_up").status == "error" and table.cell("E", "q_down").status == "skipped"
    assert table.cell("E", "eps").status == "missing"


def test_rows_sort_by_mean_rank():
    shuffled = [r for r in hand_records() if r["method"] in "CB"] + [r for r in hand_records() if r["method"] not in "CB"]
    assert build_tables(shuffled)[0].methods == ["A", "B", "C", "D", "E"]


def test_seeds_are_pooled_per_instance():
    rows = [rec("A", "q_up", seed=0, values=[1.0, 2.0, 3.0]), rec("A", "q_up", seed=1, values=[3.0, 2.0, None]),
            rec("B", "q_up", seed=0, values=[0.0, 0.0, 0.0])]
    (t,) = build_tables(rows)
    assert t.cell("A", "q_up").summary == pooled([[1.0, 2.0, 3.0], [3.0, 2.0, None]], aligned=True)
    assert t.cell("A", "q_up").summary.value == pytest.approx(7 / 3)
    assert t.cell("B", "q_up").n_seeds == 1
    assert "† fewer seeds" in leaderboard(rows)


def test_repeated_records_count_once():
    assert leaderboard(hand_records() + hand_records(), "json") == leaderboard(hand_records(), "json")


def test_markdown(table):
    text = leaderboard(hand_records(), "markdown")
    assert "### toyset / net / out (model quality: test_accuracy = 0.900)" in text
    header = next(line for line in text.splitlines() if line.startswith("| method"))
    assert all(h in header for h in ("q_up ↑", "q_down ↓", "eps ↑", "mem ↓", "mean rank", "rank: faithfulness"))
    row_a = next(line for line in text.splitlines() if line.startswith("| A "))
    assert "0.900 (1)" in row_a and "| 2 " in row_a
    row_d = next(line for line in text.splitlines() if line.startswith("| D "))
    assert "error" in row_d
    assert "n/a" in next(line for line in text.splitlines() if line.startswith("| E "))
    assert "Not applicable to this task, hence not shown: gt" in text
    assert "error in D × q_up (seed 0): ValueError: it broke" in text
    assert "cost metrics (explanations/s, peak memory) are shown but excluded" in text


def test_csv_and_json_parse_back():
    frame = pd.read_csv(io.StringIO(leaderboard(hand_records(), "csv")))
    assert len(frame) == 5 * (4 + 3)  # 5 methods × (4 columns + mean rank + 2 category ranks)
    mean = frame[frame.column == "mean_rank"].set_index("method")["value"]
    assert mean["A"] == 2.0 and mean["B"] == 2.25 and pd.isna(mean["D"])
    up = frame[frame.column == "q_up"].set_index("method")
    assert up.loc["B", "rank"] == 2.5 and up.loc["D", "status"] == "error"
    rows = json.loads(leaderboard(hand_records(), "json"))
    assert len(rows) == len(frame) and {"task", "method", "column", "value", "ci_low", "ci_high", "rank"} <= set(rows[0])
    assert json.loads(rows[0]["quality"]) == {"test_accuracy": 0.9}


def test_latex():
    text = leaderboard(hand_records(), "latex")
    assert "\\begin{tabular}" in text and "q\\_up $\\uparrow$" in text and "q\\_down $\\downarrow$" in text
    assert "test\\_accuracy" in text


def test_dataframe_input_and_bad_format():
    from xaibench.errors import InvalidParameterError

    assert leaderboard(pd.DataFrame(hand_records())) == leaderboard(hand_records())
    with pytest.raises(InvalidParameterError, match="choose one of markdown"):
        leaderboard(hand_records(), "html")
