"""A full disk: writing records, resuming, writing the leaderboard. Each ends in one typed error
that says "disk full", with no partial line and no temporary file left behind, and the run
resumes once there is space again.

The disk is a real small filesystem: a tmpfs mounted in a private mount namespace (``unshare``;
as root, or as a user where unprivileged user namespaces are allowed), so nothing outside the test
sees it and it disappears with the process. Where no namespace can be made, the test is skipped
and says why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from .conftest import N_RECORDS, TESTS

SIZE = "512k"
SCRIPT = ("import runpy, sys; sys.path.insert(0, {tests!r}); "
          "runpy.run_module('reliability.diskfull_scenario', run_name='__main__')")


def namespace_commands(mountpoint: str) -> list[list[str]]:
    inner = f"mount -t tmpfs -o size={SIZE} tmpfs {mountpoint} && exec \"$0\" \"$@\""
    options = [["unshare", "--mount", "--propagation", "private"]] if os.geteuid() == 0 else []
    options.append(["unshare", "--user", "--map-root-user", "--mount"])
    return [[*prefix, "sh", "-c", inner] for prefix in options]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    if shutil.which("unshare") is None or not sys.platform.startswith("linux"):
        pytest.skip("needs Linux and util-linux's unshare to mount a small tmpfs")
    mountpoint, scratch = tmp_path_factory.mktemp("tiny"), tmp_path_factory.mktemp("scratch")
    tried = []
    for command in namespace_commands(str(mountpoint)):
        done = subprocess.run([*command, sys.executable, "-c", SCRIPT.format(tests=str(TESTS)), str(mountpoint),
                               str(scratch)], capture_output=True, text=True, timeout=300)
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        if lines and lines[0]["scenario"] == "started":
            assert done.returncode == 0, done.stderr
            return {line["scenario"]: line for line in lines}
        tried.append(f"{' '.join(command[:4])}: {done.stderr.strip()[-200:]}")
    pytest.skip("cannot mount a tmpfs in a private namespace here (" + "; ".join(tried) + ")")


def test_disk_full_while_writing_records(outcome):
    records = outcome["records"]
    assert records["code"] == 2 and "disk full while writing a record" in records["err"], records["err"]
    assert "Traceback" not in records["err"] and "resume" in records["err"]
    assert records["leftovers"] == [] and records["ends_with_newline"] and records["all_parse"]
    assert 0 < records["n_lines"] < N_RECORDS  # it failed midway, and kept every complete record


def test_disk_full_while_resuming(outcome):
    resume = outcome["resume"]
    assert resume["code"] == 2 and "disk full while writing" in resume["err"] and "/run/" in resume["err"]
    assert resume["leftovers"] == [] and resume["manifest_unchanged"]


def test_the_run_completes_once_there_is_space(outcome):
    freed = outcome["freed"]
    assert freed["code"] == 0, freed["err"]
    assert freed["n"] == freed["distinct"] == freed["expected"] == N_RECORDS


def test_disk_full_while_writing_the_leaderboard(outcome):
    board = outcome["leaderboard"]
    assert board["code"] == 2 and "disk full while writing" in board["err"] and "board.md" in board["err"]
    assert board["leftovers"] == [] and not board["exists"]
    direct = outcome["direct"]
    assert direct["raised"] == "DiskFullError" and direct["leftovers"] == []
