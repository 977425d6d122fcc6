"""The confined worker (:mod:`xaibench.submission.sandbox`): writes, processes and memory, as the
submitted code (``jobs.py``) and as the harness, with and without Landlock."""

from __future__ import annotations

import functools
import logging
import sys

import pytest

from submission import jobs
from xaibench.backends.worker import WorkerProcess, WorkerSetup
from xaibench.dataset import cache_dir
from xaibench.errors import IsolationError
from xaibench.store import atomic_write
from xaibench.submission.sandbox import Confinement, landlock_abi

LANDLOCK = landlock_abi() > 0


@pytest.fixture(scope="module")
def confined(tmp_path_factory):
    """A worker confined with ``jobs.py`` as the submitted file, a 3 GiB memory limit, and its scratch folder."""
    scratch = tmp_path_factory.mktemp("scratch")
    worker = WorkerProcess()
    worker.prepare(WorkerSetup((), frozenset(), logging.INFO, tuple(sys.path),
                               initializer=Confinement(str(scratch), 3072, guarded=(jobs.__file__,))))
    yield worker, scratch
    worker.close()


def test_the_scratch_folder_is_the_working_directory_home_and_tmp(confined):
    worker, scratch = confined
    where = worker.call(jobs.Where(), 60)
    assert where["cwd"] == where["home"] == where["tmp"] == str(scratch.resolve())
    assert where["state"]["memory_mb"] == 3072 and where["state"]["landlock"].startswith(
        "Landlock ABI" if LANDLOCK else "unavailable")


def test_submitted_code_writes_in_its_scratch_folder(confined):
    worker, scratch = confined
    assert worker.call(jobs.WriteFile("inside.txt"), 60) == "written"
    assert (scratch / "inside.txt").read_text() == "x"


def test_submitted_code_cannot_write_outside_and_the_refusal_is_recorded(confined, tmp_path):
    worker, _ = confined
    target = tmp_path / "escaped.txt"
    outcome = worker.call(jobs.WriteFile(str(target)), 60)
    assert outcome.startswith("refused: [Errno 13] xaibench sandbox") and not target.exists()
    last = worker.call(jobs.Where(), 60)["violations"][-1]
    assert last == f"tried to write outside its scratch folder (open {target})"


def test_submitted_code_cannot_write_in_the_cache_but_the_harness_can(confined):
    worker, _ = confined
    mine, theirs = cache_dir() / "sandbox-test-harness.txt", cache_dir() / "sandbox-test-submitted.txt"
    worker.call(functools.partial(atomic_write, mine, "ok"), 60)
    assert mine.read_text() == "ok"
    assert worker.call(jobs.WriteFile(str(theirs)), 60).startswith("refused") and not theirs.exists()
    mine.unlink()


@pytest.mark.skipif(not LANDLOCK, reason="this kernel or container offers no Landlock: compiled code's writes "
                                         "outside the scratch folder are not refused (documented limit)")
def test_compiled_code_cannot_write_outside_either_under_landlock(confined, tmp_path):
    worker, scratch = confined
    target = tmp_path / "c-escaped.txt"
    assert worker.call(jobs.CWrite(str(target)), 60) < 0 and not target.exists()
    assert worker.call(jobs.CWrite(str(scratch / "c-inside.txt")), 60) >= 0


def test_submitted_code_cannot_start_processes(confined):
    worker, _ = confined
    assert worker.call(jobs.Spawn(), 60).startswith("refused")
    assert "tried to start a process" in worker.call(jobs.Where(), 60)["violations"][-1]


def test_memory_past_the_limit_fails_in_the_method_and_the_worker_goes_on(confined):
    worker, _ = confined
    assert worker.call(jobs.Allocate(6), 60) == "failed: RuntimeError"
    assert worker.call(jobs.Allocate(1), 60) == "allocated"


def test_a_worker_that_cannot_be_confined_is_refused():
    worker = WorkerProcess()
    try:
        with pytest.raises(IsolationError, match="could not be set up"):
            worker.prepare(WorkerSetup((), frozenset(), logging.INFO, tuple(sys.path),
                                       initializer=Confinement("/proc/no-such-scratch", None)))
    finally:
        worker.close()
