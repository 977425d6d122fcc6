"""The Ray backend against a local Ray instance (2 CPUs): its records equal the local backend's;
a worker killed mid-run loses no record and duplicates none; time limits, crashes, resume and the
run folder's lock work as locally. Skipped, with the reason, where Ray is not installed or
cannot start."""

from __future__ import annotations

import glob
import json
import logging
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from reliability.conftest import comparable

from xaibench.backends.ray import RayBackend
from xaibench.errors import DeviceError, InvalidParameterError, RunFolderBusyError
from xaibench.runner import run_plan
from xaibench.store import RunStore
from xaibench.suite import load_suite, resolve

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
    assert {r["device_name"].rsplit("(", 1)[1] for r in records.values() if r["device_name"]} == {"1 thread)"}


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


def test_cuda_on_a_cluster_without_gpus_is_refused_before_the_run_folder_is_made(tmp_path, ray_session):
    if ray_session.cluster_resources().get("GPU"):
        pytest.skip("this Ray instance has GPUs")
    out = tmp_path / "run"
    with pytest.raises(DeviceError, match="the Ray cluster has no GPU"):
        run_plan(plan_of(write_suite(tmp_path)), out, backend="ray", device="cuda", progress=False)
    assert not out.exists()


def test_on_cuda_each_worker_asks_for_a_gpu_and_records_equal_the_local_ones(tmp_path, ray_session):
    if not ray_session.cluster_resources().get("GPU") or not torch.cuda.is_available():
        pytest.skip("no GPU here")
    suite = write_suite(tmp_path, suite_text(broken=False))
    local = run_plan(plan_of(suite), tmp_path / "local", device="cuda", workers=1, threads=1, progress=False)
    ray = run_plan(plan_of(suite), tmp_path / "ray", backend="ray", device="cuda", workers=1, progress=False)
    manifest = json.loads((ray.directory / "manifest.json").read_text())
    assert manifest["ray"]["per_worker"] == {"num_cpus": 1, "num_gpus": 1}
    assert {r["device_type"] for r in ray.records} == {"cuda"}
    assert_same_records(ray.directory, local.directory)


class FakeCluster:
    """The few ``ray`` calls :meth:`RayBackend._plan` makes, for a cluster of ``nodes``."""

    def __init__(self, *nodes: dict[str, float]):
        self._nodes = nodes

    def cluster_resources(self) -> dict[str, float]:
        return {k: sum(n.get(k, 0) for n in self._nodes) for k in ("CPU", "GPU")}

    def nodes(self) -> list[dict]:
        return [{"Alive": True, "Resources": dict(n)} for n in self._nodes]

    def get_runtime_context(self):
        return SimpleNamespace(gcs_address="10.0.0.1:6379")


@pytest.mark.parametrize(("device", "workers", "threads", "per_worker", "expected_workers"), [
    ("cuda", None, None, {"num_cpus": 1, "num_gpus": 1}, 3),  # one worker per GPU
    ("cuda", 8, 2, {"num_cpus": 2, "num_gpus": 1}, 8),  # more than fit: the rest wait for resources
    ("cpu", None, None, {"num_cpus": 1}, 24),  # one single-threaded worker per CPU
    ("cpu", None, 4, {"num_cpus": 4}, 6),
])
def test_resources_asked_of_the_cluster(device, workers, threads, per_worker, expected_workers):
    backend = RayBackend(workers=workers, threads=threads)
    backend._plan(FakeCluster({"CPU": 8, "GPU": 2}, {"CPU": 16, "GPU": 1}), device)
    assert backend.resources == per_worker and backend.workers == expected_workers
    assert backend.describe()["ray"]["per_worker"] == per_worker


def test_a_worker_no_node_can_hold_is_refused():
    with pytest.raises(InvalidParameterError, match="no node of the Ray cluster has 32 CPU"):
        RayBackend(threads=32)._plan(FakeCluster({"CPU": 8}, {"CPU": 16}), "cpu")
    with pytest.raises(DeviceError, match="has no GPU"):
        RayBackend()._plan(FakeCluster({"CPU": 8}), "cuda")
