"""(Re)compute ``results/standard``: run the standard suite, time it, save the results, render them.

    nohup python docs/standard_results.py > standard.log 2>&1 &     # from the repository root

Steps (each can be re-run; an interrupted run resumes where it stopped):

1. ``xaibench run --suite standard --out runs/standard`` (``--resume`` when that folder holds a
   run; ``--workers 2`` when this xaibench has local workers), under ``nice -n 5``. The script
   measures the run's wall time, the CPU time of the run and its workers, and the load average
   every minute, and appends them to ``runs/standard/timing.json`` (one entry per invocation; an
   invocation that is killed leaves its last minute in ``timing.partial.json``, folded in by the
   next). The attributions of the first 8 instances of every cell are saved for the site's gallery.
2. ``xaibench leaderboard runs/standard --save results/standard --render-into results``: the
   records as Parquet with their manifest (and the timing), and ``results/LEADERBOARD.md``,
   ``.tex``, ``.csv``, ``.json`` rendered from them.
3. ``xaibench plan --suite standard --calibrate --from runs/standard``: the calibration table of
   ``xaibench plan`` measured on the full run.
4. ``python docs/samples.py --write``: the README's blocks from the new results.

Options: ``--out DIR`` (default ``runs/standard``), ``--workers N`` (default 2 where supported),
``--no-run`` (steps 2-4 only, from an existing run folder). Datasets that are downloaded (adult,
compas, german) are read from ``XAIBENCH_DATA_DIR`` or the cache; set it first if needed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
XAIBENCH = [str(Path(sys.executable).with_name("xaibench"))]
PARTIAL = "timing.partial.json"
"""The running invocation's timing, rewritten each minute: what is left of it if it is killed."""
"""The command line of the xaibench installed beside this Python (the checkout's .venv)."""


def has_workers() -> bool:
    helped = subprocess.run(XAIBENCH + ["run", "--help"], capture_output=True, text=True, check=True).stdout
    return "--workers" in helped


def timed_run(command: list[str], out: Path) -> dict:
    """Run ``command``, sampling the load average each minute; the measurements as a dict."""
    loads: list[float] = []
    stop = threading.Event()

    partial = out / PARTIAL

    def sample() -> None:  # each minute: the load, and the invocation so far (kept if it is killed)
        while not stop.wait(60):
            loads.append(os.getloadavg()[0])
            if out.is_dir():
                partial.write_text(json.dumps({
                    "command": shown, "started": started.isoformat(timespec="seconds"),
                    "wall_seconds": round(time.perf_counter() - start, 1), "exit_status": "killed before the end",
                    "cpus": os.cpu_count(), "load_average": _loads(loads)}, indent=1) + "\n", encoding="utf-8")

    shown = shlex.join(["xaibench"] + command[command.index(XAIBENCH[0]) + 1:])  # not this checkout's path
    sampler = threading.Thread(target=sample, daemon=True)
    started = dt.datetime.now(dt.timezone.utc)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    loads.append(os.getloadavg()[0])
    sampler.start()
    code = subprocess.call(command, cwd=ROOT)
    stop.set()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"command": shown,
            "started": started.isoformat(timespec="seconds"), "wall_seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1), "exit_status": code, "cpus": os.cpu_count(),
            "load_average": _loads(loads)}


def _loads(loads: list[float]) -> str:
    return f"mean {sum(loads) / len(loads):.1f}, max {max(loads):.1f} (1-minute, sampled each minute)"


def _history(out: Path) -> list[dict]:
    """The timing entries of earlier invocations, with one that was killed (its last minute) folded in."""
    path, partial = out / "timing.json", out / PARTIAL
    previous = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    if partial.is_file():
        previous.append(json.loads(partial.read_text(encoding="utf-8")))
        partial.unlink()
    return previous


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/standard")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--no-run", action="store_true")
    args = parser.parse_args(argv)
    out = ROOT / args.out
    if not args.no_run:
        command = ["nice", "-n", "5"] + XAIBENCH + ["run", "--suite", "standard", "--out", args.out, "--quiet",
                                                    "--save-attributions", "8"]  # for the site's gallery
        if (out / "manifest.json").exists():
            command.append("--resume")
        workers = args.workers if args.workers is not None else (2 if has_workers() else None)
        if workers is not None:
            command += ["--workers", str(workers)]
        print(f"standard_results: {shlex.join(command)}", flush=True)
        previous = _history(out)  # before the run, which rewrites the partial entry each minute
        if previous:  # a killed earlier invocation is kept even if this one is killed too
            (out / "timing.json").write_text(json.dumps(previous, indent=1) + "\n", encoding="utf-8")
        timing = timed_run(command, out)
        timing["workers"] = workers or 1
        (out / PARTIAL).unlink(missing_ok=True)  # this invocation ended: its full entry replaces it
        (out / "timing.json").write_text(json.dumps(previous + [timing], indent=1) + "\n", encoding="utf-8")
        print(f"standard_results: {json.dumps(timing)}", flush=True)
        if timing["exit_status"] not in (0, 1):
            return timing["exit_status"]
    for step in (XAIBENCH + ["leaderboard", args.out, "--save", "results/standard", "--render-into", "results"],
                 XAIBENCH + ["plan", "--suite", "standard", "--calibrate", "--from", args.out],
                 [sys.executable, "docs/samples.py", "--write"]):
        print(f"standard_results: {shlex.join(step)}", flush=True)
        subprocess.run(step, cwd=ROOT, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
