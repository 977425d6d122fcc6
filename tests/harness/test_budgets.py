"""Suite budgets (issue 12 item 1): a method's own seeds, a metric's instance budget and number of
seeds — parsed and checked, resolved, recorded in the manifest and replayed on resume, applied by
the cell (values are the metric's on the first k explained instances), keyed, and counted by the
leaderboard's progress."""

from __future__ import annotations

import pytest
import torch

from xaibench.api import make_plan
from xaibench.errors import SuiteError
from xaibench.records import record_key
from xaibench.recordset import read
from xaibench.registries import metrics as metric_registry
from xaibench.store import read_records
from xaibench.suite import load_suite, parse_suite, resolve
from xaibench.tables import build_board
from xaibench.tasks import load_task

from . import toys
from .test_runner import run

pytestmark = pytest.mark.usefixtures("registered_toys")

BUDGETED = """
name = "budgeted"
version = "1"
description = "budgets"
seeds = [0, 1, 2]
n_instances = 6

methods = [{ name = "toy_exact", seeds = [0] }, { name = "toy_noisy", params = { scale = 0.25 } }]
metrics = [
  "toy_gt_error",
  { name = "toy_gt_error", n_instances = 3, label = "gt@3" },
  { name = "toy_completeness", params = { noise = 0.1 }, label = "completeness", n_seeds = 1 },
]

[[tasks]]
dataset = "toy_linear"
model = "toy_linear_model"
target = "value"
"""


def parse(text: str):
    return parse_suite(text, source="b.toml")


def test_the_budget_keys_parse():
    suite = parse(BUDGETED)
    assert suite.methods[0].seeds == (0,) and suite.methods[1].seeds is None
    assert (suite.metrics[1].n_instances, suite.metrics[1].n_seeds) == (3, None)
    assert (suite.metrics[2].n_instances, suite.metrics[2].n_seeds) == (None, 1)


@pytest.mark.parametrize("old, new, expected", [
    ('label = "gt@3"', 'label = "gt@3", seeds = [0]', "key 'metrics[1].seeds' is not a suite key"),
    ('seeds = [0] }', 'n_seeds = 1 }', "key 'methods[0].n_seeds' is not a suite key; did you mean 'seeds'?"),
    ('n_instances = 3,', 'n_instances = 0,', "key 'metrics[1].n_instances' must be greater than or equal to 1"),
    ('n_instances = 3,', 'n_instances = 7,', "key 'metrics[1].n_instances' = 7 exceeds n_instances = 6"),
    ('seeds = [0] }', 'seeds = [0, 0] }', "key 'methods[0].seeds' repeats a seed"),
    ('seeds = [0] }', 'seeds = [-1] }', "key 'methods[0].seeds[0]' must be greater than or equal to 0"),
    ('n_seeds = 1', 'n_seeds = 1.5', "key 'metrics[2].n_seeds' must be a valid integer, got 1.5"),
])
def test_bad_budgets_name_the_key(old, new, expected):
    assert old in BUDGETED
    with pytest.raises(SuiteError) as info:
        parse(BUDGETED.replace(old, new))
    assert expected in str(info.value) and str(info.value).startswith("b.toml: ")


def test_resolve_applies_budgets_and_overrides():
    plan = resolve(parse(BUDGETED))
    assert [plan.seeds_of(m) for m in plan.methods] == [(0,), (0, 1, 2)]
    assert [(m.label, m.n_instances, m.n_seeds) for m in plan.metrics] == [
        ("toy_gt_error", None, None), ("gt@3", 3, None), ("completeness", None, 1),
        ("explanations_per_second", None, None), ("peak_memory_mb", None, None)]
    assert plan.n_cells == 1 + 3
    # toy_exact: 5 metrics at seed 0; toy_noisy: 4 metrics at 3 seeds, completeness at its first seed only
    assert plan.results_per_task == 5 + 4 * 3 + 1
    specs = [(m.label, s, [e.label for e in metrics]) for _, m, metrics, s in plan.cell_specs()]
    assert specs[1] == ("toy_noisy", 0, ["toy_gt_error", "gt@3", "completeness", "explanations_per_second",
                                         "peak_memory_mb"])
    assert "completeness" not in specs[2][2] and "completeness" not in specs[3][2]
    # --seeds replaces every method's seeds; --n-instances caps budgets (a budget >= it scores everything)
    overridden = resolve(parse(BUDGETED), seeds=[5], n_instances=2)
    assert [overridden.seeds_of(m) for m in overridden.methods] == [(5,), (5,)]
    assert overridden.metrics[1].n_instances is None and overridden.n_instances == 2
    assert resolve(parse(BUDGETED), n_instances=5).metrics[1].n_instances == 3


@pytest.fixture(scope="module")
def budgeted_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("budget")
    run(tmp, BUDGETED)
    return list(read_records(tmp / "run")), tmp / "run"


def test_records_follow_the_budgets(budgeted_run):
    records, _ = budgeted_run
    assert len(records) == resolve(parse(BUDGETED)).results_per_task
    assert {(r["method"], r["seed"]) for r in records} == {("toy_exact", 0), ("toy_noisy", 0), ("toy_noisy", 1),
                                                            ("toy_noisy", 2)}
    assert {r["seed"] for r in records if r["metric"] == "completeness"} == {0}
    for r in records:
        assert r["status"] == "ok" and r["n_instances"] == 6, r
        budget = 3 if r["metric"] == "gt@3" else None
        assert r["metric_n_instances"] == budget
        expected_n = 1 if r["category"] == "cost" else budget or 6
        assert r["n_instances_scored"] == (budget or 6) and len(r["values"]) == expected_n


def test_a_budget_scores_the_first_instances_of_the_explained_set(budgeted_run):
    """The budgeted value is the metric on the first k explained instances, and the first k values
    of the same metric without a budget; its key differs from the unbudgeted record's."""
    records, _ = budgeted_run
    full = {(r["method"], r["seed"]): r for r in records if r["metric"] == "toy_gt_error"}
    for r in (r for r in records if r["metric"] == "gt@3"):
        assert r["values"] == full[(r["method"], r["seed"])]["values"][:3]
        assert r["key"] != full[(r["method"], r["seed"])]["key"]
    task = load_task("toy_linear", "toy_linear_model", "value", n_instances=6, n_background=100)
    method = toys.ToyNoisy(scale=0.25)
    phi = method.explain(task, task.inputs, seed=1)
    direct = metric_registry.get("toy_gt_error")()(task, task.inputs[:3], phi[:3], method, seed=1)
    got = next(r for r in records if r["metric"] == "gt@3" and r["method"] == "toy_noisy" and r["seed"] == 1)
    assert torch.allclose(direct.double(), torch.tensor(got["values"], dtype=torch.float64))


def test_the_key_holds_the_scored_count_only_when_a_budget_cut_it(budgeted_run):
    records, _ = budgeted_run
    for r in records:
        unbudgeted = {**r, "n_instances_scored": None}
        assert (record_key(r) == record_key(unbudgeted)) == (r["n_instances_scored"] == r["n_instances"])
        assert record_key(r) == r["key"]


def test_a_budgeted_run_is_complete_and_resumes_with_nothing_to_do(budgeted_run, tmp_path):
    records, folder = budgeted_run
    board = build_board(read(folder))
    assert board.progress == {"toy_linear/toy_linear_model/value": (len(records), len(records))}
    (table,) = board.tables
    assert not any(table.short_of_seeds(m, c) for m, c in table.cells)  # one seed for toy_exact is the plan
    plan = make_plan(None, out=folder, resume=True)
    assert plan.describe() == resolve(parse(BUDGETED)).describe()
    assert [plan.seeds_of(m) for m in plan.methods] == [(0,), (0, 1, 2)]


def test_budgets_label_columns_apart():
    """Two records of one metric label with different budgets never share a column."""
    base = {"task": "d/m/t", "method": "A", "seed": 0, "status": "ok", "category": "faithfulness",
            "higher_is_better": True, "values": [1.0, 2.0], "n_instances": 4}
    board = build_board(read([{**base, "key": "1", "metric": "q", "metric_n_instances": 2},
                              {**base, "key": "2", "metric": "q", "metric_n_instances": None,
                               "values": [1.0, 2.0, 3.0, 4.0]}]))
    assert sorted(c.label for c in board.tables[0].columns) == ["q {n_instances=2}", "q {n_instances=null}"]


def test_the_standard_suite_is_within_its_budgets():
    plan = resolve(load_suite("standard"))
    assert plan.n_instances is not None
    assert all(m.n_instances is None or m.n_instances < plan.n_instances for m in plan.metrics)


def test_a_tasks_table_sets_its_own_instance_count(tmp_path):
    text = BUDGETED + 'n_instances = 4\n'  # in the [[tasks]] table: these tasks explain 4 instances
    plan = resolve(parse(text))
    (task,) = plan.tasks
    assert task.n_instances == 4 and plan.n_instances_of(task) == 4 and plan.n_instances == 6
    assert plan.describe()["task_n_instances"] == {task.name: 4}
    assert resolve(parse(text), n_instances=2).tasks[0].n_instances is None  # --n-instances replaces it
    run(tmp_path, text, out="own")
    records = list(read_records(tmp_path / "own"))
    assert {(r["n_instances"], r["n_instances_requested"]) for r in records} == {(4, 4)}
    assert {r["n_instances_scored"] for r in records if r["metric"] == "gt@3"} == {2}  # 3 · 4/6, rounded up
    resumed = make_plan(None, out=tmp_path / "own", resume=True)
    assert resumed.tasks[0].n_instances == 4 and resumed.describe() == plan.describe()


def test_a_tasks_own_smaller_count_scales_the_budgets_in_proportion(tmp_path):
    from xaibench.suite import task_budget

    assert task_budget(32, 24, 200) == 4 and task_budget(64, 24, 200) == 8  # ceil(3.84), ceil(7.68)
    assert task_budget(3, 1, 6) == 1 and task_budget(None, 1, 6) is None and task_budget(3, 6, 6) == 3
    assert task_budget(5, None, 6) == 5 and task_budget(5, 2, None) == 5
    text = BUDGETED + 'n_instances = 2\n'  # a third of the suite's 6: gt@3 scores ceil(3 / 3) = 1
    run(tmp_path, text, out="scaled")
    records = list(read_records(tmp_path / "scaled"))
    scaled = [r for r in records if r["metric"] == "gt@3"]
    assert {(r["metric_n_instances"], r["n_instances_scored"], len(r["values"])) for r in scaled} == {(3, 1, 1)}
    assert {r["n_instances_scored"] for r in records if r["metric"] == "toy_gt_error"} == {2}
