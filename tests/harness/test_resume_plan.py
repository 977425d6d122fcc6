"""Resuming rebuilds exactly the plan that ran — labels, names, params, tasks, seeds, sizes — for
every shipped suite (issue 15, item 1: labelled entries such as ``global_distillation@5`` were read
back as registry names)."""

from __future__ import annotations

import json

import pytest

from xaibench.api import make_plan
from xaibench.backends.cell import RunContext
from xaibench.runner import manifest
from xaibench.suite import builtin_suites, load_suite, resolve

from .test_runner import run


def write_manifest(folder, plan):
    context = RunContext(suite=plan.suite.name, suite_version=plan.suite.version, n_instances=plan.n_instances,
                         n_background=plan.n_background, model_seed=plan.model_seed, device="cpu", versions={})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(manifest(plan, context, "local")), encoding="utf-8")


def same_plan(a, b) -> None:
    assert a.describe() == b.describe()
    assert [(m.label, m.method) for m in a.methods] == [(m.label, m.method) for m in b.methods]
    assert [(m.label, m.metric) for m in a.metrics] == [(m.label, m.metric) for m in b.metrics]
    assert (a.suite.name, a.suite.version, a.suite.sha256) == (b.suite.name, b.suite.version, b.suite.sha256)


@pytest.mark.parametrize("name", sorted(builtin_suites()))
def test_resume_rebuilds_the_plan_of_every_shipped_suite(tmp_path, name):
    suite = load_suite(name)
    full = resolve(suite)
    first_task = full.tasks[0].name
    for i, selection in enumerate([{}, {"tasks": [first_task], "n_instances": 4, "seeds": [0]},
                                   {"metrics": [full.metrics[-3].label], "methods": [full.methods[-1].label]}]):
        plan = resolve(suite, **selection)
        folder = tmp_path / str(i)
        write_manifest(folder, plan)
        same_plan(make_plan(None, out=folder, resume=True), plan)  # `xaibench run --resume --out DIR`
        same_plan(make_plan(name, out=folder, resume=True), plan)  # the same, naming the suite


def test_the_standard_suite_command_of_the_issue(tmp_path):
    plan = resolve(load_suite("standard"), tasks=["breast_cancer/logreg/logit"], n_instances=4, seeds=[0])
    labelled = [m.label for m in plan.metrics if m.label != m.metric.name]
    assert labelled, "the standard suite labels some metric (e.g. global_distillation@5)"
    write_manifest(tmp_path, plan)
    same_plan(make_plan(None, out=tmp_path, resume=True), plan)


def test_a_selection_given_on_resume_replaces_its_part_only(tmp_path):
    suite = load_suite("quick")
    plan = resolve(suite, tasks=[resolve(suite).tasks[0].name], seeds=[0], n_instances=2)
    write_manifest(tmp_path, plan)
    resumed = make_plan(None, out=tmp_path, resume=True, seeds=[3])
    assert resumed.seeds == (3,) and resumed.tasks == plan.tasks and resumed.n_instances == 2
    assert resumed.describe()["metrics"] == plan.describe()["metrics"]


LABELLED = """
name = "labelled"
version = "1"
description = "entries with labels"
seeds = [0]
n_instances = 3
n_background = 8
methods = [{ name = "toy_noisy", params = { scale = 0.1 }, label = "noisy@0.1" }, "toy_exact"]
metrics = [{ name = "toy_completeness", params = { noise = 0.0 }, label = "completeness@0" }, "toy_gt_error"]

[[tasks]]
dataset = "toy_linear"
model = "toy_linear_model"
target = "value"
"""


def test_resume_of_a_labelled_run_end_to_end(tmp_path, registered_toys):
    from xaibench.cli import main

    first = run(tmp_path, LABELLED, isolation="none")
    (tmp_path / "run" / "records.jsonl").write_text("")  # as if stopped before its first record
    assert main(["run", "--resume", "--out", str(tmp_path / "run"), "--quiet", "--isolation", "none"]) == 0
    from xaibench.store import read_records

    again = list(read_records(tmp_path / "run"))
    assert sorted(r["key"] for r in again) == sorted(first.key)
    assert {r["method"] for r in again} == {"noisy@0.1", "toy_exact"}
    assert {r["metric"] for r in again} >= {"completeness@0", "toy_gt_error"}
