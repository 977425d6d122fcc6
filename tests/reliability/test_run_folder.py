"""One run folder, one writer: the lock, resuming a folder with nothing done yet, refusing another
suite, and a failed ``--resume`` that writes nothing."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from xaibench.cli import main
from xaibench.errors import RunFolderBusyError
from xaibench.store import RunStore, read_manifest, read_records

from .conftest import N_RECORDS, SUITE, fork_cli, wait_exit_code, write_suite

SLOW = SUITE.replace("delay = 0.005", "delay = 0.1")


def cli(capsys, *args):
    code = main(list(args))
    return code, capsys.readouterr().err


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` with its bytes and mode (nothing may change)."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mode) for p in sorted(folder.rglob("*"))
            if p.is_file()}


def wait_for_records(out: Path, n: int, pid: int) -> None:
    deadline = time.monotonic() + 60
    while not (out / "records.jsonl").exists() or (out / "records.jsonl").read_bytes().count(b"\n") < n:
        assert os.waitpid(pid, os.WNOHANG) == (0, 0), "the run ended early"
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_two_runs_started_together_on_one_folder(tmp_path):
    suite, out = write_suite(tmp_path, SLOW), tmp_path / "run"
    args = ("run", "--suite", str(suite), "--out", str(out), "--quiet", "--isolation", "none")
    first, second = fork_cli(*args, stderr=tmp_path / "1.err"), fork_cli(*args, stderr=tmp_path / "2.err")
    codes = {first: wait_exit_code(first), second: wait_exit_code(second)}
    errs = {pid: (tmp_path / f"{i}.err").read_text() for i, pid in enumerate((first, second), 1)}
    assert sorted(codes.values()) == [0, 2], (codes, errs)
    winner = next(pid for pid, code in codes.items() if code == 0)
    loser_err = errs[second if winner == first else first]
    # the loser found the folder locked; on a machine so loaded that it started only after the winner
    # had finished, it found the winner's records instead — either way it wrote nothing
    assert (f"is in use by process {winner} on " in loser_err and "choose another --out folder" in loser_err) \
        or "already holds records" in loser_err, errs
    assert "Traceback" not in loser_err
    records = list(read_records(out))
    assert len(records) == len({r["key"] for r in records}) == N_RECORDS


def test_a_second_run_or_resume_beside_a_running_run_is_refused(tmp_path, capsys):
    suite, out = write_suite(tmp_path, SLOW), tmp_path / "run"
    pid = fork_cli("run", "--suite", str(suite), "--out", str(out), "--quiet", "--isolation", "none")
    wait_for_records(out, 2, pid)
    code, err = cli(capsys, "run", "--suite", str(suite), "--out", str(out), "--quiet")
    assert code == 2 and f"is in use by process {pid} on " in err, err
    code, err = cli(capsys, "run", "--resume", "--out", str(out), "--quiet")
    assert code == 2 and f"is in use by process {pid} on " in err and "wait for that run to finish" in err
    with pytest.raises(RunFolderBusyError):
        RunStore.open(out, read_manifest(out), resume=True)
    assert wait_exit_code(pid) == 0
    records = list(read_records(out))
    assert len(records) == len({r["key"] for r in records}) == N_RECORDS  # the refused resume wrote nothing


def test_a_folder_with_a_manifest_and_no_records_has_nothing_done_yet(tmp_path, capsys):
    suite, out = write_suite(tmp_path), tmp_path / "run"
    assert cli(capsys, "run", "--suite", str(suite), "--out", str(out), "--quiet", "--isolation", "none")[0] == 0
    complete = sorted(r["key"] for r in read_records(out))
    (out / "records.jsonl").unlink()  # as if stopped before its first record
    code, err = cli(capsys, "run", "--resume", "--out", str(out), "--quiet", "--isolation", "none")
    assert code == 0, err
    assert sorted(r["key"] for r in read_records(out)) == complete


def test_resume_refuses_another_suite_and_writes_nothing(tmp_path, capsys):
    suite, out = write_suite(tmp_path), tmp_path / "run"
    assert cli(capsys, "run", "--suite", str(suite), "--out", str(out), "--quiet", "--isolation", "none")[0] == 0
    before = snapshot(out)
    changes = {
        "version": SUITE.replace('version = "1"', 'version = "2"'),
        "content (SHA-256)": SUITE.replace('methods = ["toy_exact", ', 'methods = ["toy_exact", "toy_nan", '),
        "name": SUITE.replace('name = "rel"', 'name = "rel2"'),
    }
    for what, text in changes.items():
        changed = write_suite(tmp_path, text, name=f"changed-{len(what)}.toml")
        code, err = cli(capsys, "run", "--suite", str(changed), "--resume", "--out", str(out), "--quiet")
        assert code == 2 and f"differs in its {what}" in err, err
        assert f"start a new folder: `xaibench run --suite {changed} --out NEW_FOLDER`" in err
        assert snapshot(out) == before, f"a refused resume ({what}) changed the folder"
    # the same suite file resumes (nothing left to do) and records the resumption
    assert cli(capsys, "run", "--suite", str(suite), "--resume", "--out", str(out), "--quiet")[0] == 0


def test_a_failed_resume_creates_nothing(tmp_path, capsys):
    missing = tmp_path / "missing"
    code, err = cli(capsys, "run", "--resume", "--out", str(missing))
    assert code == 2 and "nothing to resume" in err and not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = cli(capsys, "run", "--resume", "--out", str(empty))
    assert code == 2 and "has no manifest.json" in err and list(empty.iterdir()) == []


def test_manifest_and_records_share_one_mode_and_no_temporary_file_survives(tmp_path, capsys):
    suite, out = write_suite(tmp_path), tmp_path / "run"
    stale = out / ".manifest.json.12345.abcd.tmp"
    out.mkdir()
    stale.write_text("left by a writer killed mid-write")
    assert cli(capsys, "run", "--suite", str(suite), "--out", str(out), "--quiet", "--isolation", "none")[0] == 0
    modes = {name: stat.S_IMODE((out / name).stat().st_mode) for name in ("manifest.json", "records.jsonl",
                                                                          "leaderboard.md")}
    umask = os.umask(0)
    os.umask(umask)
    assert set(modes.values()) == {0o644 & ~umask}, modes
    assert not stale.exists() and not list(out.glob("*.tmp")) and not (out / ".xaibench.owner").exists()
