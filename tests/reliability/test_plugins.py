"""Misbehaving plugins cost only their own records, in the worker process and in-process alike:
a method that hangs (stopped at the cell time limit), calls ``sys.exit``, kills its process, or
edits its input in place; a metric that zeroes the attributions or returns only NaN."""

from __future__ import annotations

import time

import pytest
import torch

import xaibench
from xaibench.store import read_records

from . import faults
from .conftest import comparable, write_suite

SUITE = """
name = "plugins"
version = "1"
description = "misbehaving plugins"
seeds = [0]
n_instances = 4
n_background = 8
cell_timeout = {timeout}

methods = [{methods}]
metrics = [{metrics}]

[[tasks]]
dataset = "toy_linear"
model = "toy_linear_model"
target = "value"
"""


def run(tmp_path, methods, metrics='"toy_gt_error"', *, out="run", timeout=60, isolation="process"):
    names = ", ".join(f'"{m}"' for m in methods)
    suite = write_suite(tmp_path, SUITE.format(methods=names, metrics=metrics, timeout=timeout), name=f"{out}.toml")
    xaibench.run(suite, out=tmp_path / out, progress=False, isolation=isolation)
    return list(read_records(tmp_path / out))


def by_method(records):
    out = {}
    for r in records:
        out.setdefault(r["method"], {})[r["metric"]] = r
    return out


def test_hung_exiting_and_crashing_methods_become_error_records_and_the_run_goes_on(tmp_path):
    start = time.monotonic()
    records = by_method(run(tmp_path, ["toy_hang", "toy_exit", "toy_crash", "toy_exact"], timeout=3))
    hang = records["toy_hang"]["toy_gt_error"]
    assert (hang["status"], hang["error_type"]) == ("error", "CellTimeoutError")
    assert "time limit of 3 s" in hang["error"]
    assert {r["error_type"] for r in records["toy_hang"].values()} == {"CellTimeoutError"}  # cost records too
    exits = records["toy_exit"]["toy_gt_error"]
    assert (exits["status"], exits["error_type"]) == ("error", "SystemExit") and "sys.exit(0)" in exits["error"]
    crash = records["toy_crash"]["toy_gt_error"]
    assert (crash["error_type"], crash["status"]) == ("WorkerCrashedError", "error") and "exit code 3" in crash["error"]
    assert {r["status"] for r in records["toy_exact"].values()} == {"ok"}  # the run went on
    assert records["toy_exact"]["toy_gt_error"]["values"] == [0.0] * 4
    assert time.monotonic() - start < 120


def test_a_timed_out_cell_keeps_the_keys_of_its_records_so_resume_retries_exactly_it(tmp_path):
    records = run(tmp_path, ["toy_exact", "toy_hang"], timeout=2)
    hang = [r for r in records if r["method"] == "toy_hang"]
    exact = [r for r in records if r["method"] == "toy_exact"]
    # the timed-out records carry the task's identity (it had loaded): the same keys an ok record would have
    assert {r["weights_sha256"] for r in hang} == {exact[0]["weights_sha256"]} and len(hang) == 3


def test_sys_exit_in_process_is_an_error_record_too(tmp_path):
    records = by_method(run(tmp_path, ["toy_exit", "toy_exact"], isolation="none"))
    assert records["toy_exit"]["toy_gt_error"]["error_type"] == "SystemExit"
    assert records["toy_exact"]["toy_gt_error"]["status"] == "ok"


@pytest.mark.parametrize("isolation", ["process", "none"])
def test_a_method_editing_its_input_is_blamed_and_cannot_change_the_next_ones_values(tmp_path, isolation):
    # the fault is real: this method zeroes the tensor it is given
    x = torch.ones(2, 6)
    faults.ToyMutateInput().explain(xaibench.load_task("toy_linear", "toy_linear_model", "value"), x)
    assert x.abs().sum() == 0
    metrics = '"toy_gt_error", { name = "toy_slow", params = { delay = 0.0 } }'
    clean = by_method(run(tmp_path, ["toy_exact", "toy_noisy"], metrics, out="clean", isolation=isolation))
    dirty = by_method(run(tmp_path, ["toy_mutate_input", "toy_exact", "toy_mutate_background", "toy_noisy"], metrics,
                          out="dirty", isolation=isolation))
    for culprit, what in (("toy_mutate_input", "inputs"), ("toy_mutate_background", "background")):
        record = dirty[culprit]["toy_gt_error"]
        assert (record["status"], record["error_type"]) == ("error", "MutationError")
        assert f"method {culprit} modified {what} in place" in record["error"]
    for method in ("toy_exact", "toy_noisy"):
        for metric in ("toy_gt_error", "toy_slow"):
            assert comparable(dirty[method][metric]) == comparable(clean[method][metric]), (method, metric)


def test_a_metric_editing_the_attributions_is_blamed_and_cannot_change_the_next_metric(tmp_path):
    clean = by_method(run(tmp_path, ["toy_exact", "toy_noisy"], '"toy_gt_error"', out="clean"))
    dirty = by_method(run(tmp_path, ["toy_exact", "toy_noisy"], '"toy_zero_attributions", "toy_gt_error"', out="dirty"))
    for method in ("toy_exact", "toy_noisy"):
        culprit = dirty[method]["toy_zero_attributions"]
        assert culprit["error_type"] == "MutationError"
        assert "metric toy_zero_attributions modified attributions in place" in culprit["error"]
        assert comparable(dirty[method]["toy_gt_error"]) == comparable(clean[method]["toy_gt_error"])
    assert dirty["toy_noisy"]["toy_gt_error"]["value"] > 0  # the noisy attributions were scored, not zeros


def test_a_metric_returning_only_nan_is_an_error_record(tmp_path):
    records = by_method(run(tmp_path, ["toy_exact"], '"toy_all_nan", "toy_gt_error"'))
    nan = records["toy_exact"]["toy_all_nan"]
    assert (nan["status"], nan["error_type"]) == ("error", "MetricValueError")
    assert "no finite value" in nan["error"] and nan["value"] is None
    assert records["toy_exact"]["toy_gt_error"]["status"] == "ok"


def test_a_script_without_a_main_guard_runs_in_a_worker(tmp_path):
    """The worker is a fresh interpreter that never imports the user's main script (unlike
    multiprocessing's spawn), so a plain script calling ``xaibench.run`` works as written."""
    import subprocess
    import sys

    from .conftest import TESTS

    suite = write_suite(tmp_path, SUITE.format(methods='"toy_exact"', metrics='"toy_gt_error"', timeout=60))
    script = tmp_path / "plain.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(TESTS)!r})\nfrom harness import toys\ntoys.register_all()\n"
                      f"import xaibench\nframe = xaibench.run({str(suite)!r}, out={str(tmp_path / 'run')!r}, "
                      "progress=False)\nprint(sorted(set(frame.status)))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['ok']"
