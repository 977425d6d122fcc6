"""The disk-full scenarios of ``test_disk_full``, run inside a private mount namespace whose
folder ``ROOT`` is a small tmpfs (see that test). Prints one JSON object per scenario."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from harness import toys

from reliability import faults
from reliability.conftest import N_RECORDS, SUITE
from xaibench.cli import main
from xaibench.errors import DiskFullError
from xaibench.store import read_records

PAGE = 4096


def fill(root: Path, leave: int) -> Path:
    """A file taking all of ``root``'s free space but about ``leave`` bytes."""
    filler = root / "filler"
    stats = os.statvfs(root)
    free = stats.f_bavail * stats.f_frsize
    with open(filler, "ab") as handle:
        handle.write(b"\0" * max(0, free - leave))
    return filler


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.tmp")) + sorted(p.name for p in folder.glob(".*.tmp"))


def report(name: str, **values) -> None:
    print(json.dumps({"scenario": name, **values}), flush=True)


def run(*args: str) -> tuple[int, str]:
    """``xaibench ARGS`` in this process; exit code and what it wrote to stderr."""
    import io
    from contextlib import redirect_stderr

    err = io.StringIO()
    with redirect_stderr(err):
        code = main(list(args))
    return code, err.getvalue()


def scenarios(root: Path) -> None:
    suite = Path(sys.argv[2]) / "rel.toml"
    suite.write_text(SUITE, encoding="utf-8")
    out = root / "run"

    # 1. the disk fills up while records are written
    filler = fill(root, leave=6 * PAGE)
    code, err = run("run", "--suite", str(suite), "--out", str(out), "--quiet", "--isolation", "none")
    data = (out / "records.jsonl").read_bytes() if (out / "records.jsonl").exists() else b""
    lines = data.splitlines()
    report("records", code=code, err=err, leftovers=leftovers(out), n_lines=len(lines),
           ends_with_newline=data.endswith(b"\n") or not data, all_parse=_all_parse(lines))

    # 2. resuming on a full disk: the manifest cannot be rewritten
    fill(root, leave=0)
    manifest = (out / "manifest.json").read_bytes()
    code, err = run("run", "--resume", "--out", str(out), "--quiet", "--isolation", "none")
    report("resume", code=code, err=err, leftovers=leftovers(out),
           manifest_unchanged=(out / "manifest.json").read_bytes() == manifest)

    # 3. space again: the resumed run completes, with every record once
    (root / "filler").unlink()
    filler.unlink(missing_ok=True)
    code, err = run("run", "--resume", "--out", str(out), "--quiet", "--isolation", "none")
    records = list(read_records(out))
    report("freed", code=code, err=err, n=len(records), distinct=len({r["key"] for r in records}), expected=N_RECORDS)

    # 4. the leaderboard into a full disk
    fill(root, leave=0)
    target = root / "board.md"
    code, err = run("leaderboard", str(out), "--output", str(target))
    report("leaderboard", code=code, err=err, leftovers=leftovers(root), exists=target.exists())
    try:
        from xaibench.store import atomic_write

        atomic_write(root / "direct.md", "x" * 100_000)
        report("direct", raised=None)
    except DiskFullError as exc:
        report("direct", raised=type(exc).__name__, message=str(exc), leftovers=leftovers(root))


def _all_parse(lines: list[bytes]) -> bool:
    try:
        return all(isinstance(json.loads(line), dict) for line in lines)
    except ValueError:
        return False


if __name__ == "__main__":
    toys.register_all()
    faults.register()
    print(json.dumps({"scenario": "started"}), flush=True)
    scenarios(Path(sys.argv[1]))
