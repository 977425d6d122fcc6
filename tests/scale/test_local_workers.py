"""``--workers N`` on the local backend: N worker processes side by side give the records of one
worker with the same threads, bit for bit — on toy tasks, on real models, and when cells hang,
crash or exit — and a parallel run stopped by SIGTERM resumes to the same records."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from reliability.conftest import fork_cli, wait_exit_code

from xaibench.backends import worker as worker_module
from xaibench.cli import main
from xaibench.runner import run_plan
from xaibench.suite import load_suite, resolve

from .conftest import N_RECORDS, assert_same_records, keyed, suite_text, write_suite

FAULTS = """
name = "faults"
version = "1"
description = "cells that hang, crash and exit, beside good ones"
seeds = [0]
n_instances = 4
n_background = 8
cell_timeout = 3

methods = ["toy_exact", "toy_hang", "toy_crash", "toy_exit", "toy_noisy"]
metrics = ["toy_gt_error"]

[[tasks]]
dataset = "toy_linear"
model = "toy_linear_model"
target = "value"
"""


def run(suite, out, *extra: str) -> None:
    assert main(["run", "--suite", str(suite), "--out", str(out), "--quiet", *extra]) == 0


def test_two_workers_give_the_records_of_one(tmp_path):
    suite = write_suite(tmp_path)
    run(suite, tmp_path / "one", "--workers", "1", "--threads", "1")
    run(suite, tmp_path / "two", "--workers", "2")  # 2 CPUs here: 1 thread each
    assert len(keyed(tmp_path / "two")) == N_RECORDS
    assert_same_records(tmp_path / "two", tmp_path / "one")
    manifest = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert manifest["workers"] == 2 and manifest["threads_per_worker"] == max(1, len(os.sched_getaffinity(0)) // 2)
    assert len(worker_module._SHARED) == 2 and len({w.pid for w in worker_module._SHARED}) == 2


def test_on_real_models_two_workers_give_the_records_of_one(tmp_path):
    """A slice of the quick suite (two tasks with trained models; gradient, perturbation and
    sampling methods; faithfulness and robustness metrics), 4 instances."""
    plan = resolve(load_suite("quick"), tasks=["breast_cancer/mlp/logit", "digits/autoencoder/recon_error"],
                   methods=["saliency", "integrated_gradients", "occlusion", "kernel_shap_ref"],
                   metrics=["deletion_auc", "max_sensitivity"], n_instances=4)
    one = run_plan(plan, tmp_path / "one", workers=1, threads=1, progress=False)
    two = run_plan(plan, tmp_path / "two", workers=2, threads=1, progress=False)
    assert one.statuses()["ok"] == len(one.records) == 2 * 4 * (2 + 2)
    assert_same_records(two.directory, one.directory)


def test_hung_crashed_and_exiting_cells_give_the_same_records_side_by_side(tmp_path):
    suite = write_suite(tmp_path, FAULTS)
    run(suite, tmp_path / "one", "--workers", "1", "--threads", "1")
    run(suite, tmp_path / "two", "--workers", "2")
    assert_same_records(tmp_path / "two", tmp_path / "one")
    errors = {r["method"]: r["error_type"] for r in keyed(tmp_path / "two").values() if r["status"] == "error"}
    assert errors == {"toy_hang": "CellTimeoutError", "toy_crash": "WorkerCrashedError", "toy_exit": "SystemExit"}


def test_a_parallel_run_stopped_by_sigterm_resumes_to_the_same_records(tmp_path):
    suite = write_suite(tmp_path, suite_text(delay=0.3, broken=False))  # error records would be retried
    run(suite, tmp_path / "reference", "--workers", "1", "--threads", "1")
    out = tmp_path / "stopped"
    pid = fork_cli("run", "--suite", str(suite), "--out", str(out), "--quiet", "--workers", "2")
    deadline = time.monotonic() + 120
    while not (out / "records.jsonl").exists() or (out / "records.jsonl").read_bytes().count(b"\n") < 6:
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.01)
    os.kill(pid, signal.SIGTERM)
    assert wait_exit_code(pid) == 143
    kept = keyed(out)
    assert 6 <= len(kept) < len(keyed(tmp_path / "reference"))
    run(suite, out, "--resume", "--workers", "2")
    assert_same_records(out, tmp_path / "reference")


@pytest.fixture(autouse=True, scope="module")
def _cold_workers():
    """Leave no worker processes of this module behind (other tests expect one shared worker)."""
    yield
    worker_module.shutdown_worker()
