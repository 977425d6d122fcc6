"""Kill a run at random moments, resume it, and get exactly the uninterrupted run's records.

Each trial starts a run in another process and kills it (SIGKILL: no handler runs) at a random
moment: before it has written anything, between records, or while it writes one (the delay after
the k-th record is drawn at random); some resumptions are killed again. Then ``xaibench run
--resume`` — the command the interruption message prints — finishes the run, and its records must
be the uninterrupted run's: none lost, none duplicated, none changed (timings aside). The runs
are forked from this process, in-process cells (``--isolation none``), so that 30+ kills take
seconds; one trial per signal uses a fresh interpreter and the default worker process.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from xaibench.cli import main
from xaibench.store import read_records

from .conftest import N_RECORDS, comparable, fork_cli, launch, wait_exit_code, write_suite

N_TRIALS = 32
RNG_SEED = 20261130


def lines(out: Path) -> int:
    try:
        return (out / "records.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def kill_after(pid: int, out: Path, k: int, delay: float) -> bool:
    """SIGKILL ``pid`` ``delay`` seconds after ``out`` holds ``k`` records; False if it finished first."""
    deadline = time.monotonic() + 60
    while lines(out) < k:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.0005)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return True


def resume_args(suite: Path, out: Path) -> list[str]:
    """The command that continues the run: the one the interruption message prints once the folder
    has a manifest; before that nothing was recorded, and the run starts again."""
    if (out / "manifest.json").exists():
        return ["run", "--resume", "--out", str(out), "--quiet", "--isolation", "none"]
    if out.exists():  # killed between creating the folder and writing the manifest
        return ["run", "--suite", str(suite), "--resume", "--out", str(out), "--quiet", "--isolation", "none"]
    return ["run", "--suite", str(suite), "--out", str(out), "--quiet", "--isolation", "none"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    suite = write_suite(folder)
    # in this process: it also imports and builds everything once, so that the forked runs start warm
    assert main(["run", "--suite", str(suite), "--out", str(folder / "run"), "--quiet", "--isolation", "none"]) == 0
    records = list(read_records(folder / "run"))
    assert len(records) == N_RECORDS
    return suite, records


def assert_same_records(out: Path, reference: list[dict]) -> None:
    records = list(read_records(out))
    keys = Counter(r["key"] for r in records)
    assert not [k for k, n in keys.items() if n > 1], "duplicated records"
    assert set(keys) == {r["key"] for r in reference}, "lost or foreign records"
    expected = {r["key"]: comparable(r) for r in reference}
    assert all(comparable(r) == expected[r["key"]] for r in records), "changed records"
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


def test_kills_at_random_moments_then_resume_gives_the_uninterrupted_records(tmp_path, reference):
    suite, expected = reference
    rng = random.Random(RNG_SEED)
    # kill points: after k = 0, 0, 1, ..., N_RECORDS - 1 records (k = 0 with no delay: before anything
    # is written), each plus a random part of the time one record takes (~10 ms)
    points = [(0, 0.0), (0, rng.uniform(0, 0.02))] + [(k, rng.uniform(0, 0.01)) for k in range(N_RECORDS)]
    assert len(points) >= 30
    before_first = 0
    for trial, (k, delay) in enumerate(points):
        out = tmp_path / f"t{trial}"
        pid = fork_cli("run", "--suite", str(suite), "--out", str(out), "--quiet", "--isolation", "none")
        assert kill_after(pid, out, k, delay) or k > 0
        before_first += lines(out) == 0
        if rng.random() < 0.3:  # kill the resumption too
            pid = fork_cli(*resume_args(suite, out))
            kill_after(pid, out, lines(out) + rng.randrange(0, 3), rng.uniform(0, 0.03))
        assert wait_exit_code(fork_cli(*resume_args(suite, out))) == 0, f"trial {trial}: resume failed"
        assert_same_records(out, expected)
    assert before_first >= 2, "no kill landed before the first record"


@pytest.mark.parametrize("sig, code, message", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                 (signal.SIGINT, 130, "interrupted")])
def test_sigterm_and_ctrl_c_stop_with_a_message_and_resume_exactly(tmp_path, reference, sig, code, message):
    suite, expected = reference
    for attempt in range(5):  # on a loaded machine the run may end before the signal lands: try again
        out = tmp_path / f"run{attempt}"
        process = launch("run", "--suite", str(suite), "--out", str(out), "--quiet", "--isolation", "none")
        deadline = time.monotonic() + 120
        while lines(out) < 7 and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(sig)
        _, err = process.communicate(timeout=60)
        if not (process.returncode == 0 and lines(out) == N_RECORDS):
            break
    assert process.returncode == code, err
    assert f"xaibench: {message}; records written so far are kept. Resume with: `xaibench run --resume --out {out}`" \
        in err and "Traceback" not in err
    assert 7 <= lines(out) < N_RECORDS
    assert not (out / ".xaibench.owner").exists()  # the folder was released
    resumed = launch("run", "--resume", "--out", str(out), "--quiet", "--isolation", "none")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert_same_records(out, expected)


def test_a_killed_driver_takes_its_worker_down_and_the_run_resumes(tmp_path, reference):
    """The default isolation: SIGKILL the driver while its worker process computes a cell."""
    suite, expected = reference
    slow = write_suite(tmp_path, suite.read_text().replace("delay = 0.005", "delay = 0.3"), name="slow.toml")
    out = tmp_path / "run"
    process = launch("run", "--suite", str(slow), "--out", str(out), "--quiet")
    deadline = time.monotonic() + 120
    while lines(out) < 2:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1]
        time.sleep(0.01)
    workers = _children(process.pid)
    assert workers, "no worker process"
    process.kill()
    process.communicate()
    gone = time.monotonic() + 10
    while any(_alive(w) for w in workers):
        assert time.monotonic() < gone, "the worker outlived its driver"
        time.sleep(0.1)
    resumed = launch("run", "--resume", "--out", str(out), "--quiet")
    _, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    records = list(read_records(out))
    assert len(records) == len({r["key"] for r in records}) == N_RECORDS
    slow_expected = {r["key"] for r in expected}  # toy_slow's delay is a param: its records have other keys
    assert len({r["key"] for r in records} & slow_expected) == N_RECORDS - 6


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().split(")")[-1].split()[1]) == pid:
                out.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"
