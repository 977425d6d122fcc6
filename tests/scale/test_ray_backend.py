"""The Ray backend against a local Ray instance (2 CPUs): its records equal the local backend's;
a worker killed mid-run loses no record and duplicates none; time limits, crashes, resume and the
run folder's lock work as locally. Skipped, with the reason, where Ray is not installed or
cannot start."""

from __future__ import annotations

import glob
import logging
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from xaibench.errors import DeviceError, RunFolderBusyError
from xaibench.runner import run_plan
from xaibench.store import RunStore
from xaibench.suite import load_suite, resolve

from reliability.conftest import comparable

from .conftest import assert_same_records, keyed, suite_text, write_suite
from .test_local_workers import FAULTS

pytestmark = pytest.mark.usefixtures("ray_session")


def plan_of(path: Path):
    return resolve(load_suite(str(path)))


def test_quick_suite_records_on_ray_equal_the_local_ones(tmp_path):
    """Every task, method and metric of the quick suite, on 4 instances instead of 16 (time)."""
    plan = resolve(load_suite("quick"), n_instances=4)
    local = run_plan(plan, tmp_path / "local", workers=1, threads=1, progress=False)
    ray = run_plan(plan, tmp_path / "ray", backend="ray", workers=2, progress=False)
    records = keyed(ray.directory)
    assert len(records) == len(plan.tasks) * len(plan.methods) * len(plan.metrics)
    assert local.statuses()["ok"] > len(records) // 2 and not local.statuses()["error"]
    assert_same_records(ray.directory, local.directory)
    assert {r["device_name"].rsplit("(", 1)[1] for r in records.values() if r["device_name"]} == {"1 threads)"}


def busy_actors() -> list[int]:
    """Pids of Ray workers running a cell now (their process title is ``ray::CellActor.run``)."""
    pids = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as handle:
                if handle.read().startswith(b"ray::CellActor.run"):
                    pids.append(int(path.split("/")[2]))
        except OSError:
            continue
    return pids


def test_a_worker_killed_mid_run_loses_no_record(tmp_path, caplog):
    suite = write_suite(tmp_path, suite_text(delay=0.5, broken=False))  # cells of ~1 s: the kill lands mid-cell
    reference = run_plan(plan_of(suite), tmp_path / "local", workers=1, threads=1, progress=False)
    out, killed = tmp_path / "ray", []

    def kill_one() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            written = (out / "records.jsonl").read_bytes().count(b"\n") if (out / "records.jsonl").exists() else 0
            pids = busy_actors() if written >= 1 else []
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append((pids[0], written))
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one)
    killer.start()
    with caplog.at_level(logging.WARNING, logger="xaibench"):
        run_plan(plan_of(suite), out, backend="ray", workers=2, progress=False)
    killer.join()
    assert killed, "no busy Ray worker was found to kill"
    assert "the cell runs again on a new worker" in caplog.text
    assert_same_records(out, reference.directory)  # all there, once each, and every one ok
    assert {r["status"] for r in keyed(out).values()} == {"ok"}


def test_time_limits_and_crashes_give_the_local_records(tmp_path):
    """A hung cell: a CellTimeoutError record, as locally. A cell whose worker dies every time:
    retried once, then WorkerCrashedError records (their message says Ray). The rest is equal."""
    suite = write_suite(tmp_path, FAULTS)
    local = keyed(run_plan(plan_of(suite), tmp_path / "local", workers=1, threads=1, progress=False).directory)
    ray = keyed(run_plan(plan_of(suite), tmp_path / "ray", backend="ray", workers=2, progress=False).directory)
    assert set(ray) == set(local)
    errors = {r["method"]: r["error_type"] for r in ray.values() if r["status"] == "error"}
    assert errors == {"toy_hang": "CellTimeoutError", "toy_crash": "WorkerCrashedError", "toy_exit": "SystemExit"}
    crashed = {k for k, r in ray.items() if r["error_type"] == "WorkerCrashedError"}
    assert all("Ray worker" in ray[k]["error"] and "2 times" in ray[k]["error"] for k in crashed)
    for key in ray:
        drop = {"error"} if key in crashed else set()
        assert {k: v for k, v in comparable(ray[key]).items() if k not in drop} == \
               {k: v for k, v in comparable(local[key]).items() if k not in drop}, ray[key]["method"]


def test_a_run_started_locally_resumes_on_ray(tmp_path):
    suite = write_suite(tmp_path, suite_text(broken=False))
    reference = run_plan(plan_of(suite), tmp_path / "local", workers=1, threads=1, progress=False).directory
    out = tmp_path / "resumed"
    shutil.copytree(reference, out)
    lines = (out / "records.jsonl").read_bytes().splitlines(keepends=True)
    (out / "records.jsonl").write_bytes(b"".join(lines[:10]))
    result = run_plan(plan_of(suite), out, backend="ray", workers=2, resume=True, progress=False)
    assert result.written == len(lines) - 10
    assert_same_records(out, reference)


def test_the_run_folder_lock_holds_for_ray_runs(tmp_path):
    suite = write_suite(tmp_path, suite_text(broken=False))
    out = tmp_path / "run"
    with RunStore.open(out, {"suite": {}}, resume=False):
        with pytest.raises(RunFolderBusyError):
            run_plan(plan_of(suite), out, backend="ray", progress=False)
    assert not (out / "records.jsonl").exists()


def test_cuda_on_a_cluster_without_gpus_is_refused_before_the_run_folder_is_made(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(DeviceError, match="the Ray cluster has no GPU"):
        run_plan(plan_of(write_suite(tmp_path)), out, backend="ray", device="cuda", progress=False)
    assert not out.exists()
