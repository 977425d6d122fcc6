"""Per-cell cost of running cells in a worker process rather than in this one (issue 10, item 2).

Skipped by default like every benchmark; run with
``pytest tests/perf/test_perf_worker.py --benchmark-only -s``.

The same cells (the toy task: one cheap metric and the two cost metrics, a few ms of work each)
run in-process and through the warm worker, alternately, and the difference of the medians per
cell is the overhead of isolation: pickling the cell, the socket both ways, records sent back as
they finish. The comparison runs in a fresh interpreter (:func:`measure`): inside pytest the
in-process cells are slower than in a worker, because ``torch.manual_seed`` formats the caller's
stack (for lazy CUDA seeding) and pytest's stack is deep, which would hide the overhead. Also
reported: starting a worker (an interpreter importing torch and the plugins), paid once per
process and after each time limit or crash.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
N_CELLS = 40
ROUNDS = 9


def measure() -> dict:
    """Milliseconds per cell in-process and in the worker (medians of alternating rounds), worker start."""
    sys.path.insert(0, str(TESTS))
    from harness import toys

    from xaibench.backends.cell import Cell, RunContext
    from xaibench.backends.local import LocalBackend
    from xaibench.backends.worker import WorkerSetup, acquire_worker, runtime_plugins
    from xaibench.suite import parse_suite, resolve

    toys.register_all()
    plan = resolve(parse_suite(toys.TOY_SUITE, source="toy.toml"), methods=["toy_exact"], metrics=["toy_gt_error"],
                   seeds=list(range(N_CELLS)))
    context = RunContext(suite="toy", suite_version="3", n_instances=4, n_background=8, model_seed=0, device="cpu",
                         versions={})
    cells = [Cell(plan.tasks[0], plan.methods[0], plan.metrics, seed, context) for seed in plan.seeds]

    def execute(isolation: str, some) -> None:
        records = []
        LocalBackend(isolation=isolation, cell_timeout=60).execute(some, frozenset(), records.append, lambda c: None)
        assert len(records) == 3 * len(some) and {r["status"] for r in records} == {"ok"}

    start = time.perf_counter()
    worker, release = acquire_worker()
    worker.prepare(WorkerSetup(runtime_plugins(), sys_path=tuple(sys.path)))
    release()
    cold_start = time.perf_counter() - start
    execute("process", cells[:2])
    execute("none", cells[:2])
    times = {"none": [], "process": []}
    for _ in range(ROUNDS):
        for isolation in times:
            start = time.perf_counter()
            execute(isolation, cells)
            times[isolation].append((time.perf_counter() - start) / N_CELLS * 1e3)
    median = {k: statistics.median(v) for k, v in times.items()}
    return {"cells": N_CELLS, "rounds": ROUNDS, "in_process_ms_per_cell": round(median["none"], 2),
            "worker_ms_per_cell": round(median["process"], 2),
            "overhead_ms_per_cell": round(median["process"] - median["none"], 2),
            "worker_start_s": round(cold_start, 2)}


def run_measure() -> dict:
    code = f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); " \
           "from test_perf_worker import measure; print(json.dumps(measure()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_worker_overhead_per_cell(benchmark):
    figures = benchmark.pedantic(run_measure, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    print("\nworker overhead:", json.dumps(figures))
    assert figures["overhead_ms_per_cell"] < 20, "isolation costs more than 20 ms per cell: a worker start per cell?"
