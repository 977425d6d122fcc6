"""Wall time of a suite on one worker, on ``--workers 2`` and on a local Ray instance; Ray's start-up.

Skipped by default like every benchmark; run with
``pytest tests/perf/test_perf_scale.py --benchmark-only -s`` (about 15 minutes on a busy 2-core
machine). ``XAIBENCH_PERF_SCALE_ARGS`` chooses the suite (default ``--suite quick``; for a slice
of the standard suite, e.g. ``--suite standard --tasks breast_cancer,digits --seeds 0
--n-instances 16``) and ``XAIBENCH_PERF_SCALE_ROUNDS`` the rounds (default 3).

Each mode is the command a user types (``xaibench run ... --quiet``, a fresh process: worker or
Ray start-up included). The modes run in turn within each round, in alternating order, so that
load drifts on a shared machine hit them alike; reported are the medians, the speed-ups against
one worker, and the load average when each run started. One worker runs with torch's default
threads (one per core) and, separately, with one thread, because on a loaded machine torch's
threads wait on each other and the default can be several times slower than one thread.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

MODES = {
    "1 worker": [],
    "1 worker, 1 thread": ["--threads", "1"],
    "2 workers": ["--workers", "2"],
    "ray, 2 workers": ["--backend", "ray", "--workers", "2"],
}


def suite_times(args: list[str], rounds: int) -> dict:
    """Seconds per mode (medians over ``rounds``), speed-ups against one worker, loads."""
    exe = [sys.executable, "-m", "xaibench.cli"]
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="xaibench-perf-scale-") as folder:
        for i in range(rounds):
            for mode in (list(MODES) if i % 2 == 0 else list(reversed(MODES))):
                out = Path(folder) / f"{i}-{len(times[mode])}-{mode.replace(' ', '').replace(',', '-')}"
                loads.append(os.getloadavg()[0])
                start = time.perf_counter()
                done = subprocess.run([*exe, "run", *args, "--out", str(out), "--quiet", *MODES[mode]],
                                      capture_output=True, text=True)
                times[mode].append(time.perf_counter() - start)
                assert done.returncode == 0, done.stderr[-3000:]
    median = {mode: statistics.median(t) for mode, t in times.items()}
    base = median["1 worker"]
    return {"args": args, "rounds": rounds, "cpus": os.cpu_count(), "load_min_max": [min(loads), max(loads)],
            "median_seconds": {m: round(t, 1) for m, t in median.items()},
            "speed_up_vs_1_worker": {m: round(base / t, 2) for m, t in median.items()},
            "seconds": {m: [round(x, 1) for x in t] for m, t in times.items()}}


def ray_start_up(workers: int = 2) -> dict:
    """Seconds to start a local Ray instance, then ``workers`` actors ready (torch and the
    plugins imported), then to shut it down; in a fresh interpreter."""
    code = f"""
import json, time
start = time.perf_counter()
import ray
from xaibench.backends.ray import CellActor
from xaibench.backends.worker import WorkerSetup
ray.init(num_cpus={workers}, include_dashboard=False, log_to_driver=False)
up = time.perf_counter()
actors = [ray.remote(CellActor).options(num_cpus=1).remote(WorkerSetup(threads=1)) for _ in range({workers})]
ray.get([a.ready.remote() for a in actors])
ready = time.perf_counter()
ray.shutdown()
print(json.dumps({{"ray_init_s": round(up - start, 2), "actors_ready_s": round(ready - up, 2),
                  "shutdown_s": round(time.perf_counter() - ready, 2)}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_suite_on_one_and_two_workers_and_ray(benchmark):
    pytest.importorskip("ray")
    args = shlex.split(os.environ.get("XAIBENCH_PERF_SCALE_ARGS", "--suite quick"))
    rounds = int(os.environ.get("XAIBENCH_PERF_SCALE_ROUNDS", "3"))
    figures = benchmark.pedantic(suite_times, args=(args, rounds), rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    print("\nsuite wall times:", json.dumps(figures, indent=1))


def test_ray_start_up(benchmark):
    pytest.importorskip("ray")
    runs = [ray_start_up() for _ in range(3)]
    figures = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    print("\nRay start-up (medians of 3):", json.dumps(figures))
