"""Shared set-up of the reliability tests: the toy and fault plugins, a small suite, and ways to
run the command line as another process (forked from this one, or a fresh interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness import toys

from reliability import faults
from xaibench.records import TIMING_FIELDS

TESTS = Path(__file__).resolve().parents[1]

SUITE = """
name = "rel"
version = "1"
description = "reliability test suite"
seeds = [0, 1, 2]
n_instances = 4
n_background = 8
cell_timeout = 60

methods = ["toy_exact", { name = "toy_noisy", params = { scale = 0.25 } }]
metrics = ["toy_gt_error", { name = "toy_completeness", params = { noise = 0.1 }, label = "completeness" },
           { name = "toy_slow", params = { delay = 0.005 } }]

[[tasks]]
dataset = "toy_linear"
model = "toy_linear_model"
target = "value"
"""
N_RECORDS = 2 * 3 * (3 + 2)  # methods × seeds × (metrics + 2 cost metrics)

# Ctrl-C's handler is installed explicitly: a test run started in the background (``cmd &``) inherits
# SIGINT ignored, and Python then installs no KeyboardInterrupt handler of its own.
LAUNCH = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
          "import sys; sys.path.insert(0, {tests!r}); from harness import toys; from reliability import faults; "
          "toys.register_all(); faults.register(); from xaibench.cli import main; sys.exit(main(sys.argv[1:]))")


@pytest.fixture(scope="package", autouse=True)
def plugins():
    """The toy task and the fault plugins, registered for the reliability tests."""
    toys.register_all()
    faults.register()
    yield
    faults.unregister()
    toys.unregister_all()


def write_suite(folder: Path, text: str = SUITE, name: str = "rel.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def comparable(record: dict) -> dict:
    """A record without what legitimately differs between two runs of one cell (timings, cost values)."""
    drop = set(TIMING_FIELDS) | {"device_name"}
    if record["category"] == "cost":
        drop |= {"value", "values", "stderr", "ci_low", "ci_high", "n"}
    return {k: v for k, v in record.items() if k not in drop}


def fork_cli(*args: str, stderr: Path | None = None) -> int:
    """``xaibench ARGS`` in a forked child of this process (plugins already registered); its pid.
    ``stderr``: a file that receives the child's standard error."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 70
        try:
            if stderr is not None:
                fd = os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 2)
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            from xaibench.cli import main

            code = main(list(args))
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001
                    pass
            os._exit(code)
    return pid


def wait_exit_code(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def launch(*args: str, **kwargs) -> subprocess.Popen:
    """``xaibench ARGS`` in a fresh interpreter with the toy and fault plugins registered."""
    return subprocess.Popen([sys.executable, "-c", LAUNCH.format(tests=str(TESTS)), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)
