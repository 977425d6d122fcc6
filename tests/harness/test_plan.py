"""``xaibench plan``: the calibration table from records, the cost estimate on hand-computable
cases (budgets, seeds, test splits smaller than asked), the fallbacks, and the command line."""

from __future__ import annotations

import json

import pytest

from xaibench.cli import main
from xaibench.plan import Calibration, calibrate, calibration_plan, entry_id, estimate, render
from xaibench.suite import parse_suite, resolve

from . import toys

pytestmark = pytest.mark.usefixtures("registered_toys")

TASK = "toy_linear/toy_linear_model/value"
EXACT = entry_id("toy_exact", {})
NOISY = entry_id("toy_noisy", {"scale": 0.25})
GT = entry_id("toy_gt_error", {})
COMPLETE = entry_id("toy_completeness", {"noise": 0.1})

SUITE = """
name = "costed"
version = "1"
description = "cost"
seeds = [0]
n_instances = 20

methods = ["toy_exact", { name = "toy_noisy", params = { scale = 0.25 }, seeds = [0, 1, 2] }]
metrics = [{ name = "toy_gt_error", n_instances = 5 },
           { name = "toy_completeness", params = { noise = 0.1 }, label = "completeness", n_seeds = 1 }]

[[tasks]]
dataset = "toy_linear"
model = "toy_linear_model"
target = "value"
"""


def record(method=("toy_exact", {}), metric=("toy_gt_error", {}), seed=0, **fields):
    base = {"task": TASK, "method_name": method[0], "method_params": method[1], "metric_name": metric[0],
            "metric_params": metric[1], "seed": seed, "status": "ok", "category": "ground_truth", "per_instance": True,
            "n_instances": 9, "n_instances_scored": 9, "explain_cpu_seconds": 1.0, "metric_cpu_seconds": 0.9}
    return {**base, **fields}


def test_calibrate_reads_seconds_per_instance_from_records():
    table = calibrate([
        record(),  # explain 1.0 s for 9 instances + the warm-up: 0.1 s each; metric 0.9 s / 9 = 0.1 s each
        record(metric=("toy_completeness", {"noise": 0.1}), n_instances_scored=3, metric_cpu_seconds=0.6),
        record(metric=("set_level", {}), per_instance=False, metric_cpu_seconds=2.5),
        record(method=("toy_noisy", {"scale": 0.25}), explain_cpu_seconds=2.0, metric_cpu_seconds=1.8),
        record(method=("toy_noisy", {"scale": 0.25}), seed=1, explain_cpu_seconds=4.0, metric_cpu_seconds=3.6),
        record(method=("toy_noisy", {"scale": 0.25}), seed=2, explain_cpu_seconds=3.0, metric_cpu_seconds=2.7),
        record(method=("skipped", {}), status="skipped", error_type="NotApplicableError", explain_cpu_seconds=None),
        record(metric=("other", {}), status="error", error_type="ValueError", metric_cpu_seconds=None),
    ])
    assert table.explain[(TASK, EXACT)] == pytest.approx(0.1)
    assert table.metrics[(TASK, EXACT, GT)] == (pytest.approx(0.1), True)
    assert table.metrics[(TASK, EXACT, entry_id("toy_completeness", {"noise": 0.1}))][0] == pytest.approx(0.2)
    assert table.metrics[(TASK, EXACT, entry_id("set_level", {}))] == (2.5, False)
    assert table.explain[(TASK, NOISY)] == pytest.approx(0.3)  # the median over seeds
    assert table.explain[(TASK, entry_id("skipped", {}))] == 0.0  # not applicable: costs nothing
    assert (TASK, EXACT, entry_id("other", {})) not in table.metrics  # a failure measures nothing


def hand_table(**tasks) -> Calibration:
    return Calibration(explain={(TASK, EXACT): 0.1, (TASK, NOISY): 0.5},
                       metrics={(TASK, EXACT, GT): (0.2, True), (TASK, EXACT, COMPLETE): (3.0, False),
                                (TASK, NOISY, GT): (0.4, True), (TASK, NOISY, COMPLETE): (1.0, False)},
                       tasks={TASK: {"load_seconds": 2.0, "n_available": 10, **tasks}})


def test_the_estimate_on_a_hand_computable_plan():
    plan = resolve(parse_suite(SUITE, source="s.toml"))
    (task,) = estimate(plan, hand_table()).tasks
    # 10 instances available (20 asked): toy_exact, one seed: 0.1·11 + 0.2·5 + 3 = 5.1;
    # toy_noisy, 3 seeds: 0.5·11 + 0.4·5 each, completeness (n_seeds = 1) once: 3·7.5 + 1 = 23.5
    assert task.n_explained == 10 and task.cells == 4 and task.records == plan.results_per_task
    assert task.cpu_seconds == pytest.approx(5.1 + 23.5)
    assert task.longest_cell == pytest.approx(8.5) and task.load_seconds == 2.0 and not task.unknown
    result = estimate(plan, hand_table())
    assert result.cpu_seconds == pytest.approx(30.6)
    assert result.wall_seconds(1) == pytest.approx(30.6)
    assert result.wall_seconds(2) == pytest.approx((28.6 + 3.0) / 2)  # a task may load on both workers
    bigger = resolve(parse_suite(SUITE, source="s.toml"), n_instances=4)
    assert estimate(bigger, hand_table()).tasks[0].n_explained == 4


def test_missing_costs_are_estimated_from_other_tasks_or_reported_unknown():
    table = hand_table()
    table.explain[("other/toy_linear_model/value", EXACT)] = table.explain.pop((TASK, EXACT))
    plan = resolve(parse_suite(SUITE, source="s.toml"))
    (task,) = estimate(plan, table).tasks
    assert task.estimated == 1 and task.cpu_seconds == pytest.approx(5.1 + 23.5)
    del table.metrics[(TASK, NOISY, GT)]
    (task,) = estimate(plan, table).tasks
    assert task.unknown == ["toy_noisy × toy_gt_error"]
    text = render(plan, estimate(plan, table), workers=2, calibration=table)
    assert "no calibration at all" in text and "toy_noisy × toy_gt_error" in text


def test_render_compares_with_the_budget():
    plan = resolve(parse_suite(SUITE, source="s.toml"))
    text = render(plan, estimate(plan, hand_table()), workers=2, calibration=hand_table(), budget=10.0)
    assert "OVER the 10 s budget" in text and "| toy_linear/toy_linear_model/value" in text
    assert "within the 2.00 h budget" in render(plan, estimate(plan, hand_table()), workers=2,
                                                calibration=hand_table())


def test_the_table_round_trips_and_new_measurements_replace_old(tmp_path):
    path = tmp_path / "calibration.json"
    path.write_text(hand_table().to_json())
    loaded = Calibration.load(path)
    assert loaded.explain == hand_table().explain and loaded.metrics == hand_table().metrics
    merged = loaded.merge(Calibration(explain={(TASK, EXACT): 0.7}, tasks={TASK: {"load_seconds": 1.0}}))
    assert merged.explain[(TASK, EXACT)] == 0.7 and merged.explain[(TASK, NOISY)] == 0.5
    assert merged.tasks[TASK] == {"load_seconds": 1.0, "n_available": 10}


def test_a_source_calibrated_again_keeps_one_note():
    notes = [{"date": d, "source": s} for d, s in (("1", "runs/a"), ("2", "runs/b"), ("3", "runs/a"))]
    merged = Calibration(measured=notes[:2]).merge(Calibration(measured=notes[2:]))
    assert merged.measured == [notes[1], notes[2]]


def test_the_calibration_plan_runs_each_method_once_on_few_instances():
    small = calibration_plan(resolve(parse_suite(SUITE, source="s.toml")), 3)
    assert small.n_instances == 3 and [small.seeds_of(m) for m in small.methods] == [(0,), (0,)]
    assert small.metrics[0].n_instances is None  # the budget of 5 covers all 3


def test_plan_command_calibrates_then_estimates(tmp_path, capsys):
    suite = tmp_path / "costed.toml"
    suite.write_text(SUITE)
    table = tmp_path / "calibration.json"
    assert main(["plan", "--suite", str(suite), "--calibrate", "--out", str(tmp_path / "calib"), "--n-instances", "3",
                 "--output", str(table), "--quiet"]) == 0
    out = capsys.readouterr().out
    data = json.loads(table.read_text())
    assert {tuple(e[:2]) for e in data["explain"]} == {(TASK, EXACT), (TASK, NOISY)}
    assert data["tasks"][TASK]["n_available"] == toys.N_TEST
    assert "Total:" in out and "no calibration at all" not in out and "~" not in out.split("Total")[0]
    assert main(["plan", "--suite", str(suite), "--calibration", str(table), "--workers", "1"]) == 0
    assert "on 1 worker of one thread" in capsys.readouterr().out
    assert main(["plan", "--suite", str(suite), "--calibrate"]) == 2
    assert "--calibrate needs --out DIR" in capsys.readouterr().err


def test_the_standard_suite_is_calibrated_and_within_two_hours():
    """The shipped table covers every cost of the standard suite, and the estimate is within budget."""
    from xaibench.plan import BUDGET_SECONDS
    from xaibench.suite import load_suite

    plan = resolve(load_suite("standard"))
    result = estimate(plan, Calibration.load())
    assert not [t.task for t in result.tasks if t.unknown or t.estimated], "calibrate the standard suite"
    assert result.wall_seconds(2) <= BUDGET_SECONDS
