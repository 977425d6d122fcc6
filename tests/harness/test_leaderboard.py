"""The leaderboard on hand-made records: ranks, gaps, top groups, the summary, safe aggregation,
partial runs, and every output format."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from xaibench.errors import InvalidParameterError, RecordsError, ResultsError
from xaibench.recordset import read
from xaibench.render import WIDTH
from xaibench.stats import INTERVALS, summarize
from xaibench.store import RunStore
from xaibench.tables import build_board, build_tables, leaderboard

TASK = "toyset/net/out"
COLUMNS = {  # metric -> (category, higher_is_better)
    "q_up": ("faithfulness", True), "q_down": ("stability", False), "gt": ("ground_truth", True),
    "eps": ("cost", True), "mem": ("cost", False), "ratio": ("stability", False),
}
N = 12
BASE = np.linspace(-1.0, 1.0, N)  # the instances differ; a method's values are BASE + its level


def task_line(text, method, after="#### faithfulness"):
    """The first table row of ``method`` below the heading ``after`` (tasks come after the summary)."""
    lines = text.splitlines()
    start = lines.index(after)
    return next(line for line in lines[start:] if line.startswith(f"| {method} "))


def rec(method, metric, value=None, status="ok", seed=0, values=None, task=TASK, **extra):
    category, hib = COLUMNS.get(metric, ("faithfulness", True))
    if values is None and status == "ok":
        values = [value] if category == "cost" else (BASE + value).tolist()
    record = {"key": f"{task}|{method}|{metric}|{seed}", "suite": "toy", "suite_version": "1", "task": task,
              "dataset": task.split("/")[0], "method": method, "method_name": method, "method_params": {},
              "metric": metric, "metric_name": metric, "metric_params": {}, "seed": seed, "category": category,
              "higher_is_better": hib, "per_instance": category != "cost", "heavy_tailed": False, "status": status,
              "values": values, "value": None, "quality": {"test_accuracy": 0.9}, "device": "cpu",
              "device_type": "cpu", "device_name": "Test CPU (2 threads)", "n_instances": N, "code_sha256": "c0de" * 16,
              "versions": {"xaibench": "0.1.0", "git_commit": "abc123"},
              "error_type": {"error": "ValueError", "skipped": "NotApplicableError"}.get(status),
              "error": {"error": "it broke", "skipped": "needs ground truth"}.get(status)}
    return {**record, **extra}


def hand_records(task=TASK):
    rows = []
    table = {  # method: q_up, q_down, eps, mem
        "A": (0.9, 0.2, 100.0, 5.0), "B": (0.5, 0.1, 50.0, 5.0), "C": (0.5, 0.3, 10.0, 1.0),
        "D": ("error", 0.05, 1000.0, 2.0), "E": (0.1, "skipped", None, None),
    }
    for method, cells in table.items():
        for metric, value in zip(("q_up", "q_down", "eps", "mem"), cells):
            if value is None:
                continue  # missing record
            rows.append(rec(method, metric, status=value, task=task) if isinstance(value, str)
                        else rec(method, metric, value, task=task))
        rows.append(rec(method, "gt", status="skipped", task=task))  # applies to no method: the column is dropped
    return rows


@pytest.fixture(scope="module")
def table():
    (only,) = build_tables(hand_records())
    return only


def test_column_ranks_follow_each_metrics_direction(table):
    rank = lambda m, c: table.cell(m, c).rank  # noqa: E731
    assert [rank(m, "q_up") for m in "ABCDE"] == [1, 2.5, 2.5, None, 4]  # D failed: no rank
    assert [rank(m, "q_down") for m in "ABCDE"] == [3, 2, 4, 1, None]  # lower is better
    assert [rank(m, "eps") for m in "ABCD"] == [2, 3, 4, 1]
    assert [rank(m, "mem") for m in "ABCD"] == [3.5, 3.5, 1, 2]


def test_category_ranks_give_gaps_none_and_others_keep_theirs(table):
    assert table.category_rank["faithfulness"] == {"A": 1, "B": 2.5, "C": 2.5, "D": None, "E": 4}
    assert table.category_rank["stability"] == {"A": 3, "B": 2, "C": 4, "D": 1, "E": None}
    assert table.ordered("faithfulness") == ["A", "B", "C", "E", "D"]  # by rank, rows without one last
    assert [c.label for c in table.columns] == ["q_up", "q_down", "eps", "mem"]
    assert table.dropped == ["gt"] and table.categories == ["faithfulness", "stability"]
    assert table.cell("D", "q_up").status == "error" and table.cell("E", "q_down").status == "skipped"
    assert table.cell("E", "eps").status == "missing"


def test_a_column_nobody_scored_does_not_blank_every_rank():
    rows = hand_records() + [rec(m, "ratio", status="error") for m in "ABCDE"]
    (t,) = build_tables(rows)
    assert t.empty == ["ratio"]
    assert t.category_rank["stability"]["B"] == 2  # ratio is left out of the scope, not a gap for all


def test_cell_values_and_top_groups(table):
    a = table.cell("A", "q_up").summary
    assert (a.n, a.value) == (N, pytest.approx(0.9))
    assert a == summarize((BASE + 0.9).tolist())
    # A is better than B and C on every instance by 0.4 (exact two-sided p = 2/4096, Holm ×3 over 3 others)
    assert table.cell("A", "q_up").top is True and table.cell("A", "q_up").p_value is None
    assert table.cell("B", "q_up").top is False and table.cell("B", "q_up").p_value == pytest.approx(3 * 2 / 4096)
    assert table.cell("D", "q_up").top is None  # failed: not tested
    assert table.cell("A", "eps").top is None  # cost: not tested


def test_methods_not_significantly_worse_share_the_top_group():
    wobble = 0.01 * np.array([1, -1] * (N // 2)) - 0.002  # B is 0.002 worse on average, with noise
    rows = [rec("A", "q_up", values=(BASE + 1.0).tolist()), rec("B", "q_up", values=(BASE + 1.0 + wobble).tolist()),
            rec("C", "q_up", values=(BASE + 0.2).tolist())]
    (t,) = build_tables(rows)
    assert [t.cell(m, "q_up").top for m in "ABC"] == [True, True, False]
    text = leaderboard(rows)
    row_b, row_c = task_line(text, "B"), task_line(text, "C")
    assert "*0.998 ± " in row_b and "**" not in row_b and "*" not in row_c.replace("| C", "")


def test_seeds_are_pooled_per_instance_and_fewer_seeds_are_marked():
    rows = [rec("A", "q_up", seed=0, values=[1.0, 2.0, 3.0, 4.0, 5.0]),
            rec("A", "q_up", seed=1, values=[3.0, 2.0, None, 6.0, 1.0]),
            rec("B", "q_up", seed=0, values=[0.0, 0.0, 0.0, 0.0, 0.0])]
    (t,) = build_tables(rows)
    assert t.cell("A", "q_up").summary == summarize([2.0, 2.0, 3.0, 5.0, 3.0])
    assert t.cell("B", "q_up").n_seeds == 1 and t.seeds == [0, 1]
    # B has one seed everywhere (a deterministic method given one seed by its suite): not marked
    assert not t.short_of_seeds("B", "q_up") and "† fewer seeds" not in leaderboard(rows)
    # A has two seeds elsewhere and another method has two in this column: the missing seed is marked
    rows += [rec("A", "q_down", seed=0, values=[1.0] * 5), rec("A", "q_down", seed=1, values=[2.0] * 5),
             rec("B", "q_down", seed=0, values=[1.0] * 5), rec("B", "q_down", seed=1, values=[1.0] * 5),
             rec("C", "q_up", seed=0, values=[1.0] * 5), rec("C", "q_up", seed=1, values=[1.0] * 5)]
    (t,) = build_tables(rows)
    assert t.short_of_seeds("B", "q_up") and not t.short_of_seeds("A", "q_up")
    assert "† fewer seeds" in leaderboard(rows)


def test_repeated_records_count_once_and_a_retry_replaces_its_failure():
    assert leaderboard(hand_records() + hand_records(), "json") == leaderboard(hand_records(), "json")
    retried = hand_records() + [rec("D", "q_up", 0.7)]
    (t,) = build_tables(retried)
    assert t.cell("D", "q_up").status == "ok" and t.category_rank["faithfulness"]["D"] == 2


def test_record_intervals_are_reused_only_when_computed_by_this_code():
    values = (BASE * 3 + 0.5).tolist()
    fresh = summarize(values)
    planted = {"value": fresh.value, "ci_low": -123.0, "ci_high": 456.0}  # a marker: reused, not recomputed
    current = build_tables([rec("A", "q_up", values=values, interval=INTERVALS["mean"], **planted)])[0]
    assert (current.cell("A", "q_up").summary.ci_low, current.cell("A", "q_up").summary.ci_high) == (-123.0, 456.0)
    old = build_tables([rec("A", "q_up", values=values, interval="percentile bootstrap", **planted)])[0]
    assert old.cell("A", "q_up").summary == fresh
    pooled = build_tables([rec("A", "q_up", values=values, interval=INTERVALS["mean"], **planted),
                           rec("A", "q_up", seed=1, values=values, interval=INTERVALS["mean"], **planted)])[0]
    assert pooled.cell("A", "q_up").summary == fresh  # two seeds: a new sample, recomputed


def test_heavy_tailed_metrics_show_the_median_and_its_interval():
    skewed = [0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.5, 0.6, 0.9, 2.0, 40.0, 900.0]
    rows = [rec("A", "ratio", values=skewed, heavy_tailed=True),
            rec("B", "ratio", values=[v * 2 for v in skewed], heavy_tailed=True)]
    (t,) = build_tables(rows)
    s = t.cell("A", "ratio").summary
    assert (s.statistic, s.value, s.ci_low, s.ci_high) == ("median", 0.45, 0.2, 2.0)  # n = 12: [x₍₃₎, x₍₁₀₎]
    text = leaderboard(rows)
    assert "ratio ↓ median" in text and "0.450 [0.200, 2.00]" in text


# -- safe aggregation -----------------------------------------------------------------------------------
def test_same_label_with_other_parameters_is_another_row_or_column():
    rows = [rec("ig", "q_up", 0.5, method_params={"n_steps": 50}),
            rec("ig", "q_up", 0.7, method_params={"n_steps": 64}),
            rec("ig", "q_up", 0.6, method_params={"n_steps": 64}, metric_params={"steps": 10}), rec("x", "q_up", 0.1)]
    (t,) = build_tables(rows)
    assert sorted(t.methods) == ["ig {n_steps=50}", "ig {n_steps=64}", "x"]
    assert [c.label for c in t.columns] == ["q_up {steps=null}", "q_up {steps=10}"]
    assert t.cell("ig {n_steps=50}", "q_up {steps=null}").summary.value == pytest.approx(0.5)
    assert t.cell("ig {n_steps=64}", "q_up {steps=null}").summary.value == pytest.approx(0.7)


@pytest.mark.parametrize("field, a, b, shown", [
    ("n_instances", 12, 64, "n_instances=12"), ("suite_version", "1", "2", "suite_version=\"1\""),
    ("code_sha256", "c0de" * 16, "beef" * 16, "code=c0dec0dec0de"),
])
def test_runs_under_other_settings_get_their_own_tables_and_no_summary(field, a, b, shown):
    rows = [{**r, field: a} for r in hand_records()] + [{**r, field: b} for r in hand_records()]
    board = build_board(read(rows))
    assert len(board.tables) == 2 and shown.replace('"', "") in board.tables[0].label.replace('"', "")
    assert all(s.refused and "several settings" in s.refused for s in board.summary)
    text = leaderboard(rows)
    assert "not ranked across tasks" in text


def test_records_without_code_sha256_are_told_apart_by_version_and_commit():
    old = [{k: v for k, v in r.items() if k != "code_sha256"} for r in hand_records()]
    newer = [{**r, "versions": {"xaibench": "0.1.0", "git_commit": "def456"}} for r in old]
    tables = build_tables(old + newer)
    assert [t.key.code for t in tables] == ["xaibench 0.1.0 @ abc123", "xaibench 0.1.0 @ def456"]


# -- summary across tasks --------------------------------------------------------------------------------
def summary_records():
    rows = []
    for i, task in enumerate(["s1/m/t", "s2/m/t", "s3/m/t", "s4/m/t", "s5/m/t"]):
        for method, level in (("good", 1.0), ("mid", 0.5), ("bad", 0.0), ("flaky", 0.7)):
            status = "error" if (method == "flaky" and i == 2) else "ok"
            rows.append(rec(method, "q_up", level, status=status, task=task))
            rows.append(rec(method, "q_down", 1 - level, task=task))
    return rows


def test_summary_ranks_complete_methods_and_lists_gaps():
    board = build_board(read(summary_records()))
    faith = next(s for s in board.summary if s.category == "faithfulness")
    assert faith.methods == ["good", "mid", "bad"] and faith.unranked == {"flaky": ["s3/m/t"]}
    assert faith.ranking.mean_rank.tolist() == [1.0, 2.0, 3.0]
    assert faith.ranking.significant and faith.ranking.letters[0] != faith.ranking.letters[2]
    stab = next(s for s in board.summary if s.category == "stability")
    assert stab.methods == ["good", "flaky", "mid", "bad"] and not stab.unranked  # flaky keeps its rank here
    text = leaderboard(summary_records())
    assert "flaky has no mean rank (a gap in 1 task: s3/m/t)" in text
    assert "Iman-Davenport" in text and "Nemenyi CD" in text


def test_a_method_with_gaps_in_several_categories_is_one_summary_row():
    rows = [{**r, "status": "error", "values": None, "error_type": "ValueError", "error": "it broke"}
            if r["method"] == "flaky" and r["dataset"] == "s3" else r for r in summary_records()]
    board = build_board(read(rows))
    assert [s.unranked for s in board.summary if s.unranked] == [{"flaky": ["s3/m/t"]}] * 2
    summary = leaderboard(rows).split("## Summary")[1].split("\n\n- ")[0]
    assert [line.split("|")[1].strip() for line in summary.splitlines() if line.startswith("| ")][1:] == [
        "good", "mid", "bad", "flaky"]


def test_metric_sanity_flags_a_metric_that_ranks_random_above_another_method():
    rows = []
    for task in ("synthetic_a/m/t", "synthetic_b/m/t", "real/m/t"):
        for method, level in (("random", 0.0), ("good", 1.0), ("other", 0.5)):
            rows.append(rec(method, "q_up", level, task=task))
            rows.append(rec(method, "q_down", -level if task == "synthetic_b/m/t" else level, task=task))
    board = build_board(read(rows))
    sanity = {s.metric: s for s in board.sanity}
    assert (sanity["q_up"].last, sanity["q_up"].tasks, sanity["q_up"].flagged) == (2, 2, False)
    assert (sanity["q_down"].last, sanity["q_down"].tasks, sanity["q_down"].flagged) == (1, 2, True)
    assert sanity["q_down"].failures == ["synthetic_a/m/t"]
    text = leaderboard(rows)
    table = text.split("## Metric sanity")[1].split("\n\n")[1].splitlines()
    assert table[2:] == ["| q_up   |         2/2 |      ok |", "| q_down |         1/2 | FLAGGED |"], table
    assert "- q_down: random is not last on synthetic_a/m/t." in text


def test_metric_agreement_in_the_board():
    board = build_board(read(summary_records()))
    agreement = board.agreement
    i, j = agreement.metrics.index("q_up"), agreement.metrics.index("q_down")
    assert agreement.tau[i, j] == pytest.approx(1.0)  # q_down = 1 − level, lower is better: same ranking


# -- partial runs ----------------------------------------------------------------------------------------------
def test_a_partial_run_says_so(tmp_path):
    plan = {"tasks": [TASK, "other/net/out"], "methods": [{"label": m} for m in "ABCDE"],
            "metrics": [{"label": m} for m in ("q_up", "q_down", "gt", "eps", "mem")], "seeds": [0]}
    with RunStore.open(tmp_path / "run", {"suite": {"name": "toy"}, "plan": plan}, resume=False) as store:
        for r in hand_records():
            store.append(r)
    board = build_board(read(tmp_path / "run"))
    assert board.progress == {TASK: (23, 25), "other/net/out": (0, 25)} and board.not_started == ["other/net/out"]
    text = leaderboard(tmp_path / "run")
    assert "PARTIAL RUN: 23 of 50 planned results" in text and "partial: 23/25 results" in text
    assert "Planned but without any record: other/net/out" in text


def test_the_same_run_read_twice_is_complete_and_two_runs_plan_their_union(tmp_path):
    """Planned results are the union of the folders' plans, done where any folder recorded them."""
    plan = {"tasks": [TASK], "methods": [{"label": "A"}], "metrics": [{"label": "q_up"}], "seeds": [0, 1]}
    with RunStore.open(tmp_path / "run", {"suite": {"name": "toy"}, "plan": plan}, resume=False) as store:
        for seed in (0, 1):
            store.append(rec("A", "q_up", 0.5, seed=seed))
    shutil.copytree(tmp_path / "run", tmp_path / "copy")
    assert build_board(read([tmp_path / "run", tmp_path / "copy"])).progress == {TASK: (2, 2)}
    assert "Complete: all 2 planned results" in leaderboard([tmp_path / "run", tmp_path / "copy"])
    more = {**plan, "methods": [{"label": "B"}], "seeds": [0]}
    with RunStore.open(tmp_path / "more", {"suite": {"name": "toy"}, "plan": more}, resume=False) as store:
        store.append(rec("A", "q_up", 0.5, seed=0))  # planned by the first run only: counts there
    assert build_board(read([tmp_path / "run", tmp_path / "more"])).progress == {TASK: (2, 3)}


def test_a_resume_with_other_selections_plans_anew(tmp_path):
    plan = {"tasks": [TASK], "methods": [{"label": "A"}], "metrics": [{"label": "q_up"}], "seeds": [0]}
    with RunStore.open(tmp_path / "run", {"suite": {"name": "toy"}, "plan": plan}, resume=False) as store:
        store.append(rec("A", "q_up", 0.5))
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    manifest["resumed"] = [{"start_time": "later", "plan": {**plan, "seeds": [0, 1, 2]}}]
    (tmp_path / "run" / "manifest.json").write_text(json.dumps(manifest))
    assert build_board(read(tmp_path / "run")).progress == {TASK: (1, 3)}


def test_a_complete_run_says_so(tmp_path):
    plan = {"tasks": [TASK], "methods": [{"label": "A"}], "metrics": [{"label": "q_up"}], "seeds": [0, 1]}
    with RunStore.open(tmp_path / "run", {"suite": {"name": "toy"}, "plan": plan}, resume=False) as store:
        for seed in (0, 1):
            store.append(rec("A", "q_up", 0.5, seed=seed))
    assert "Complete: all 2 planned results are recorded." in leaderboard(tmp_path / "run")


# -- formats -----------------------------------------------------------------------------------------------------
def wide_records():
    metrics = [f"a_rather_long_metric_name_{i}" for i in range(9)]
    rows = []
    for task in ("t1/m/x", "t2/m/x"):
        for method, level in (("integrated_gradients", 1.0), ("kernel_shap", 0.5), ("random", 0.0)):
            rows += [rec(method, m, level + 0.01 * i, task=task) for i, m in enumerate(metrics)]
    return rows


def test_markdown_layout():
    text = leaderboard(hand_records() + hand_records("other/net/out"), "markdown")
    lines = text.splitlines()
    assert lines[0] == "# Leaderboard" and "Provenance: suite toy v1" in text and "commit abc123" in text
    assert text.index("## Summary") < text.index("## Tasks") < text.index("## Notes")
    assert "### toyset / net / out (model quality: test_accuracy = 0.900)" in text
    assert "#### faithfulness" in text and "#### stability" in text and "#### cost" in text
    assert sum("higher is better" in line for line in lines) == 1  # notes once per file
    assert "error in D × q_up on toyset/net/out (seed 0): ValueError: it broke" in text
    assert "Not applicable, hence not shown: gt on 2 tasks" in text
    row_a = task_line(text, "A")
    assert "**0.900 ± " in row_a and "(1)" in row_a


def test_markdown_tables_are_at_most_120_characters_wide():
    text = leaderboard(wide_records())
    widths = [len(line) for line in text.splitlines() if line.startswith("|")]
    assert max(widths) <= WIDTH
    first = next(line for line in text.splitlines() if line.startswith("| method") and "a_rather_long" in line)
    assert first.rstrip().endswith("rank |")  # every split table keeps the method and rank columns
    for i in range(9):
        assert f"a_rather_long_metric_name_{i} ↑" in text


def test_ground_truth_columns_say_whose_truth():
    rows = []
    for method, level in (("A", 1.0), ("B", 0.0)):
        rows.append(rec(method, "gt", level, metric_params={"truth": "process"}))
        rows.append(rec(method, "gt_model", level, metric_params={"truth": "model"}, category="ground_truth"))
    text = leaderboard(rows)
    assert "gt scores against the data-generating process's attributions, realised exactly by the oracle" in text
    assert "gt_model scores against the trained model's own exact Shapley values" in text


def test_latex():
    text = leaderboard(summary_records(), "latex")
    assert "\\toprule" in text and "\\midrule" in text and "\\bottomrule" in text and "\\hline" not in text
    assert "\\caption{s1/m/t: faithfulness (model quality: test\\_accuracy = 0.900)}" in text
    assert "\\label{tab:s1-m-t-faithfulness}" in text and "\\label{tab:summary}" in text
    assert "\\begin{tabular}{lrr}" in text  # method left, numbers right
    assert "\\textbf{1.00 $\\pm$" in text and "q\\_up $\\uparrow$" in text


def test_csv_and_json_carry_provenance_and_quality_as_fields():
    frame = pd.read_csv(io.StringIO(leaderboard(hand_records(), "csv")), dtype={"suite_version": str})
    cells = frame[frame.kind == "cell"]
    assert len(cells) == 5 * 4  # 5 methods × 4 shown columns
    assert set(cells.suite) == {"toy"} and set(cells.suite_version) == {"1"}
    assert set(cells.device) == {"cpu (Test CPU (2 threads))"} and set(cells.git_commit) == {"abc123"}
    assert set(cells.xaibench_version) == {"0.1.0"} and cells["quality.test_accuracy"].tolist() == [0.9] * 20
    up = cells[cells.column == "q_up"].set_index("method")
    assert up.loc["B", "rank"] == 2.5 and up.loc["D", "status"] == "error" and bool(up.loc["A", "top_group"])
    ranks = frame[frame.kind == "category_rank"].set_index(["method", "column"])["value"]
    assert ranks[("A", "rank[faithfulness]")] == 1.0 and pd.isna(ranks[("D", "rank[faithfulness]")])
    rows = json.loads(leaderboard(hand_records(), "json"))
    assert rows[0]["quality"] == {"test_accuracy": 0.9} and rows[0]["code"] == "c0de" * 16
    summary = [r for r in rows if r["kind"] == "summary"]
    assert {r["column"] for r in summary} == {"mean_rank[faithfulness]", "mean_rank[stability]"}


def test_dataframe_input_and_bad_format():
    assert leaderboard(pd.DataFrame(hand_records())) == leaderboard(hand_records())
    mixed = hand_records() + [rec("F", "q_up", 0.3, n_instances=None, task="other/net/out")]
    assert leaderboard(pd.DataFrame(mixed)) == leaderboard(mixed)  # n_instances became a float column
    with pytest.raises(InvalidParameterError, match="choose one of markdown"):
        leaderboard(hand_records(), "html")


# -- reading run folders -----------------------------------------------------------------------------------------
def write_run(tmp_path, rows):
    with RunStore.open(tmp_path / "run", {"suite": {"name": "toy"}}, resume=False) as store:
        for r in rows:
            store.append(r)
    return tmp_path / "run"


def test_reading_a_run_folder_equals_reading_its_records(tmp_path):
    run = write_run(tmp_path, hand_records())
    assert leaderboard(run, "json") == leaderboard(hand_records(), "json")


def test_a_torn_last_line_is_skipped_and_corruption_is_an_error(tmp_path):
    run = write_run(tmp_path, hand_records())
    path = run / "records.jsonl"
    data = path.read_bytes()
    path.write_bytes(data + b'{"key": "torn", "val')
    assert leaderboard(run, "json") == leaderboard(hand_records(), "json")
    lines = data.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3] + [b"{not json}\n"] + lines[3:]))
    with pytest.raises(RecordsError, match=r"records.jsonl:4: not a record \(not valid JSON\)"):
        leaderboard(run)  # the store's own message, whichever reader finds the damage
    path.write_bytes(b"".join(lines[:2] + [lines[2].replace(b'"seed":0', b'"seed":"zero"')] + lines[3:]))
    with pytest.raises(RecordsError, match=r"records.jsonl:3: not a record"):
        leaderboard(run)  # a field of the wrong type
    path.write_bytes(b"".join(lines[:2] + [lines[2].replace(b'"quality":{', b'"quality":[{').replace(
        b'"test_accuracy":0.9}', b'"test_accuracy":0.9}]')] + lines[3:]))
    with pytest.raises(RecordsError, match=r"has quality = .*not a JSON object"):
        leaderboard(run)
    with pytest.raises(ResultsError, match="does not exist"):
        leaderboard(tmp_path / "nowhere")


def test_submit_ranks_say_none_where_no_other_method_has_results():
    from xaibench.submission.ranks import rank_lines  # noqa: PLC0415

    alone = build_board(read([r for r in summary_records() if r["method"] == "good"]))
    assert rank_lines(alone, "good") == ["Ranks of good: none, as no other method has results on these tasks."]
    lines = rank_lines(build_board(read(summary_records())), "good")
    assert lines[0] == "Ranks of good against 3 other method(s):" and "1st of 3" in lines[1]
