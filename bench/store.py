"""The run folder: ``manifest.json`` + ``records.jsonl`` (+ ``leaderboard.md``).

Appends are atomic: each record is one complete line written by a single ``os.write`` on an
``O_APPEND`` descriptor and flushed to disk (``os.fsync``), so concurrent writers never
interleave and a crash leaves at most one torn last line. On reading, a last line without its
newline (or that does not parse) is a torn write: :meth:`RunStore.open` for resuming truncates it
away; :func:`read_records` skips it. A malformed line elsewhere is corruption, not a torn write,
and raises :class:`~xaibench.errors.ResultsError`.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ResultsError
from .records import dumps, jsonable

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
RECORDS = "records.jsonl"
LEADERBOARD = "leaderboard.md"


class RunStore:
    """Append-only records of one run folder."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.records_path = self.directory / RECORDS
        self.manifest_path = self.directory / MANIFEST

    @classmethod
    def create(cls, directory: str | Path, manifest: Mapping[str, Any], *, resume: bool) -> "RunStore":
        """A new run folder, or an existing one when ``resume`` (its torn last line removed)."""
        store = cls(directory)
        has_records = store.records_path.exists() and store.records_path.stat().st_size > 0
        if has_records and not resume:
            raise ResultsError(f"{store.directory} already holds records; pass --resume to continue that run, "
                               "or choose another --out folder")
        store.directory.mkdir(parents=True, exist_ok=True)
        if resume and store.manifest_path.exists():
            previous = store.manifest()
            if previous.get("suite", {}).get("name") != manifest.get("suite", {}).get("name"):
                log.warning("resuming %s, which was started with suite %r, with suite %r", store.directory,
                            previous.get("suite", {}).get("name"), manifest.get("suite", {}).get("name"))
            previous.setdefault("resumed", []).append({k: manifest.get(k) for k in ("start_time", "command_line")})
            manifest = previous
        _atomic_write(store.manifest_path, json.dumps(jsonable(manifest), indent=1, sort_keys=True) + "\n")
        store.discard_torn_tail()
        return store

    def manifest(self) -> dict[str, Any]:
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ResultsError(f"{self.directory} is not a run folder: it has no {MANIFEST}") from None
        except json.JSONDecodeError as exc:
            raise ResultsError(f"{self.manifest_path} is not valid JSON: {exc}") from exc

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record as one line, atomically (see module docstring)."""
        data = (dumps(record) + "\n").encode("utf-8")
        fd = os.open(self.records_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, data)
            if written != len(data):  # regular files do not write short; be loud if one ever does
                raise ResultsError(f"short write to {self.records_path} ({written} of {len(data)} bytes)")
            os.fsync(fd)
        finally:
            os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        """Every record, in the order written (a retried cell appears once per attempt)."""
        return list(read_records(self.records_path))

    def latest(self) -> list[dict[str, Any]]:
        """The last record of each key, in the order of those last records."""
        return latest_per_key(self.records())

    def done_keys(self) -> frozenset[str]:
        """Keys a resumed run skips: those whose latest record is ``ok`` or ``skipped``. A failed cell
        (``error``) is retried, since failures can be transient (memory) or fixed since."""
        return frozenset(r["key"] for r in self.latest() if r["status"] != "error")

    def discard_torn_tail(self) -> None:
        """Truncate a last line that was not completely written (see module docstring)."""
        if not self.records_path.exists():
            return
        data = self.records_path.read_bytes()
        keep = _intact_length(data)
        if keep < len(data):
            log.warning("%s: discarding a torn last line (%d bytes) left by an interrupted run",
                        self.records_path, len(data) - keep)
            with open(self.records_path, "r+b") as handle:
                handle.truncate(keep)


def read_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """Records of a ``records.jsonl`` (or of the run folder holding it); a torn last line is skipped."""
    path = Path(path)
    if path.is_dir():
        path = path / RECORDS
    if not path.exists():
        raise ResultsError(f"{path} does not exist: is {path.parent} a run folder (made by `xaibench run`)?")
    data = path.read_bytes()
    keep = _intact_length(data)
    if keep < len(data):
        log.warning("%s: skipping a torn last line (%d bytes)", path, len(data) - keep)
    for number, line in enumerate(data[:keep].split(b"\n"), 1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ResultsError(f"{path}:{number} is not a JSON record ({exc}); the file is corrupted") from exc


def latest_per_key(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        latest.pop(record["key"], None)
        latest[record["key"]] = record
    return list(latest.values())


def _intact_length(data: bytes) -> int:
    """Bytes up to the end of the last complete line, dropping a last line that is torn: one
    without its newline, or one that does not parse (a crash can leave garbage where it wrote)."""
    keep = data.rfind(b"\n") + 1
    if keep:
        last_start = data.rfind(b"\n", 0, keep - 1) + 1
        if data[last_start:keep].strip() and not _parses(data[last_start:keep]):
            keep = last_start
    return keep


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
        return True
    except json.JSONDecodeError:
        return False


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


# -- provenance -----------------------------------------------------------------------------------
def git_commit() -> str | None:
    """Commit of the checkout xaibench is installed from (``+dirty`` with local changes), if any."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5)
        return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str | None]:
    import numpy  # noqa: PLC0415
    import torch  # noqa: PLC0415

    return {"xaibench": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "numpy": numpy.__version__, "git_commit": git_commit()}


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def command_line() -> list[str]:
    return list(sys.argv)
