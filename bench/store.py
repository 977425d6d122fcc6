"""The run folder: ``manifest.json`` + ``records.jsonl`` (+ ``leaderboard.md``), and its guarantees.

* **One writer.** :meth:`RunStore.open` takes an exclusive lock on the folder (``filelock``, an
  ``flock`` the kernel releases when the process dies, however it dies) and holds it until
  :meth:`RunStore.close`. A second process gets :class:`~xaibench.errors.RunFolderBusyError`
  naming the process that holds it (from ``.xaibench.owner``, written beside the lock).
* **Atomic appends.** Each record is one complete line written by a single ``os.write`` on an
  ``O_APPEND`` descriptor and flushed to disk (``os.fsync``). A crash leaves at most one torn last
  line: one without its newline, or one that does not parse. :func:`read_records` skips it;
  opening the folder to resume truncates it away. A malformed line elsewhere is damage, not a
  torn write: :class:`~xaibench.errors.RecordsError` names the file and the line.
* **Nothing partial on a full disk.** A record that cannot be written completely is cut off
  again; ``manifest.json`` and ``leaderboard.md`` are written to a temporary file that replaces
  the old one only when complete, and is removed when it cannot be. A full disk (or quota)
  raises :class:`~xaibench.errors.DiskFullError`.
* **Resume checks.** A folder with a manifest and no ``records.jsonl`` is a run with nothing done
  yet. Resuming refuses a suite whose name, version or content hash differs from the manifest's
  (:class:`~xaibench.errors.SuiteMismatchError`), and a failed resume writes nothing.
* **Streaming reads.** :func:`read_records` reads one line at a time and can keep only the fields
  asked for; :meth:`RunStore.done_keys` keeps only keys. Memory does not grow with the size of
  the records, only with their number (a key each, for resuming).

``manifest.json`` and ``records.jsonl`` are created with mode ``0o644`` (less the umask): run
folders are shared between people and machines.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import logging
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import __version__
from .errors import DiskFullError, RecordsError, ResultsError, RunFolderBusyError, SuiteMismatchError
from .records import STATUSES, dumps, jsonable

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
RECORDS = "records.jsonl"
LEADERBOARD = "leaderboard.md"
LOCK = ".xaibench.lock"
OWNER = ".xaibench.owner"
FILE_MODE = 0o644
_TAIL_BLOCK = 1 << 16


class RunStore:
    """Append-only records of one run folder; :meth:`open` it to write (it holds the folder's lock)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.records_path = self.directory / RECORDS
        self.manifest_path = self.directory / MANIFEST
        self._lock = None
        self._fd: int | None = None
        self.done: frozenset[str] = frozenset()
        """Keys a resumed run skips (see :meth:`done_keys`), read once by :meth:`open`."""

    # -- opening and closing ---------------------------------------------------------------
    @classmethod
    def open(cls, directory: str | Path, manifest: Mapping[str, Any], *, resume: bool) -> "RunStore":
        """Lock the run folder ``directory`` and write ``manifest`` into it.

        A new run needs a folder without records (it is created if missing). ``resume`` needs a
        folder that exists; when it has a manifest, the suite in ``manifest`` must be the one it
        records (name, version, SHA-256), and the manifest keeps the original plan with this
        resumption appended to its ``resumed`` list; every record is read and checked once (the
        keys done are kept in :attr:`done`), and a torn last record is removed. Nothing is written
        when any check fails. Close the store (or use it in a ``with``) to unlock.
        """
        store = cls(directory)
        store._check_folder(resume=resume)
        try:
            store.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_error(exc, store.directory, "creating the run folder") from None
        store._acquire()  # first: "in use by process N" is the news a second writer needs
        try:
            if resume and store.manifest_path.exists():
                previous = store.manifest()
                check_same_suite(previous, manifest, store.directory)
                resumed = {k: manifest.get(k) for k in ("start_time", "command_line", "plan")}
                if resumed.get("plan") == previous.get("plan"):
                    resumed.pop("plan")
                previous.setdefault("resumed", []).append(resumed)
                manifest = previous
            elif not resume:
                store._check_no_records()
            store.done = store.done_keys() if resume else frozenset()  # every record read and checked first
            store._remove_stale_temporaries()
            store.discard_torn_tail()
            _atomic_write(store.manifest_path, json.dumps(jsonable(manifest), indent=1, sort_keys=True) + "\n")
        except BaseException:
            store.close()  # unlocks, and removes the owner file: a failed open leaves the folder as it was
            raise
        return store

    def close(self) -> None:
        """Release the folder (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock is not None:
            try:
                (self.directory / OWNER).unlink(missing_ok=True)
            except OSError:
                pass
            self._lock.release()
            self._lock = None

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:  # a store dropped without close() must not keep the folder locked
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def _check_folder(self, *, resume: bool) -> None:
        where = self.directory
        if where.exists() and not where.is_dir():
            raise ResultsError(f"--out {where} is a file, not a folder; choose a folder path for the run")
        if self.records_path.is_dir():
            raise RecordsError(f"{self.records_path} is a folder, not a records file: rename or remove it")
        if resume and not where.is_dir():
            raise ResultsError(f"--out {where} does not exist, so there is no run to resume; start one with "
                               f"`xaibench run --suite NAME --out {where}`")
        if where.is_dir() and not os.access(where, os.W_OK | os.X_OK):
            raise ResultsError(f"--out {where}: this folder is not writable by you (Permission denied); "
                               "choose another --out folder or fix its permissions")

    def _check_no_records(self) -> None:
        if self.records_path.exists() and (self.records_path.is_dir() or self.records_path.stat().st_size > 0):
            raise ResultsError(f"{self.directory} already holds records; continue that run with "
                               f"`xaibench run --resume --out {self.directory}`, or choose another --out folder")

    def _acquire(self) -> None:
        from filelock import FileLock, Timeout  # noqa: PLC0415

        lock = FileLock(str(self.directory / LOCK), mode=FILE_MODE)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise RunFolderBusyError(f"{self.directory} is in use by {_owner(self.directory)}; wait for that run to "
                                     "finish (or stop it), or choose another --out folder") from None
        except OSError as exc:
            raise _os_error(exc, self.directory / LOCK, "locking the run folder") from None
        self._lock = lock
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": now(), "command_line": command_line()}
        try:
            _atomic_write(self.directory / OWNER, json.dumps(owner) + "\n")
        except BaseException:
            self.close()
            raise

    def _remove_stale_temporaries(self) -> None:
        """Temporary files of a writer killed mid-write (only ever ours: we hold the lock)."""
        for stale in self.directory.glob(".*.tmp"):
            stale.unlink(missing_ok=True)

    # -- reading ------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        return read_manifest(self.directory)

    def records(self) -> list[dict[str, Any]]:
        """Every record, in the order written (a retried cell appears once per attempt); loads them all."""
        return list(self.iter_records()) if self.records_path.exists() else []

    def iter_records(self, fields: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        """Records streamed from ``records.jsonl``; none when it does not exist yet."""
        if not self.records_path.exists():
            return iter(())
        return read_records(self.records_path, fields)

    def latest(self) -> list[dict[str, Any]]:
        """The last record of each key, in the order of those last records (loads them all)."""
        return latest_per_key(self.iter_records())

    def statuses(self) -> dict[str, str]:
        """Key → status of its latest record, streamed (only keys and statuses are kept)."""
        latest: dict[str, str] = {}
        for record in self.iter_records(("key", "status")):
            latest.pop(record["key"], None)
            latest[record["key"]] = record["status"]
        return latest

    def done_keys(self) -> frozenset[str]:
        """Keys a resumed run skips: those whose latest record is ``ok`` or ``skipped``. A failed cell
        (``error``) is retried, since failures can be transient (memory, time) or fixed since.
        A folder without ``records.jsonl`` has none done."""
        return frozenset(key for key, status in self.statuses().items() if status != "error")

    # -- writing ------------------------------------------------------------------------------
    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record as one line, atomically (see module docstring)."""
        data = (dumps(record) + "\n").encode("utf-8")
        if self._fd is None:
            try:
                self._fd = os.open(self.records_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
            except OSError as exc:
                raise _os_error(exc, self.records_path, "opening the records") from None
        size = os.fstat(self._fd).st_size
        try:
            written = os.write(self._fd, data)
            if written != len(data):  # a regular file writes short only when the disk is full
                raise OSError(errno.ENOSPC, f"only {written} of {len(data)} bytes written")
            os.fsync(self._fd)
        except OSError as exc:
            try:
                os.ftruncate(self._fd, size)  # no partial line stays behind
            except OSError:
                pass
            raise _os_error(exc, self.records_path, "writing a record") from None

    def write_text(self, name: str, text: str) -> Path:
        """Replace the file ``name`` of the folder atomically (the leaderboard)."""
        path = self.directory / name
        _atomic_write(path, text)
        return path

    def discard_torn_tail(self) -> None:
        """Truncate a last line that was not completely written (see module docstring)."""
        if not self.records_path.is_file():
            return
        with open(self.records_path, "r+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            keep = _intact_length(handle, size)
            if keep < size:
                log.warning("%s: discarding a torn last line (%d bytes) left by an interrupted run",
                            self.records_path, size - keep)
                handle.truncate(keep)


def read_manifest(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{directory} is not a run folder: it has no {MANIFEST}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{path} is not valid JSON ({exc}); the run folder is damaged: "
                           "start a new run in another --out folder") from None
    except OSError as exc:
        raise _os_error(exc, path, "reading the manifest") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path} is not a manifest (a JSON object); start a new run in another --out folder")
    return data


def check_same_suite(previous: Mapping[str, Any], manifest: Mapping[str, Any], directory: Path) -> None:
    """Refuse to resume ``directory`` (whose manifest is ``previous``) with another suite."""
    old, new = previous.get("suite") or {}, manifest.get("suite") or {}
    for field, what in (("name", "name"), ("version", "version"), ("sha256", "content (SHA-256)")):
        if old.get(field) != new.get(field):
            raise SuiteMismatchError(
                f"{directory} holds a run of suite {old.get('name')!r} version {old.get('version')!r}; the suite given "
                f"now differs in its {what} ({old.get(field)!r} then, {new.get(field)!r} now), and one folder never "
                f"mixes suites. Resume it with its own suite (`xaibench run --resume --out {directory}`), or start "
                f"a new folder: `xaibench run --suite {new.get('source') or new.get('name') or 'NAME'} "
                "--out NEW_FOLDER`")


# -- reading records, streamed ----------------------------------------------------------------
def read_records(path: str | Path, fields: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
    """Records of a ``records.jsonl`` (or of the run folder holding it), one line at a time.

    Args:
        path: the file, or a run folder.
        fields: keep only these fields of each record (absent ones as ``None``); default: all.

    A torn last line is skipped with a warning (see module docstring).

    Raises:
        ResultsError: ``path`` is not a run folder or a records file.
        RecordsError: a line that is not a record (not JSON, not an object, without ``key`` or
            ``status``, or a field of the wrong type); the message names the file and line.
    """
    path = records_file(path)
    keep = tuple(fields) if fields is not None else None
    validate = _validator()
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed in the finally of this generator
    except OSError as exc:
        raise _os_error(exc, path, "reading the records") from None
    return _stream(path, handle, validate, keep)


def _stream(path: Path, handle, validate, keep: tuple[str, ...] | None) -> Iterator[dict[str, Any]]:
    with handle:
        pending: tuple[int, bytes] | None = None
        number = 0
        for line in handle:
            number += 1
            if pending is not None:
                yield _parse(path, *pending, validate, keep)
            pending = (number, line) if line.strip() else None
        if pending is not None:
            number, line = pending
            if line.endswith(b"\n") and _parses(line):
                yield _parse(path, number, line, validate, keep)
            else:
                log.warning("%s: skipping a torn last line %d (%d bytes) left by an interrupted write",
                            path, number, len(line))


def _parse(path: Path, number: int, line: bytes, validate, keep: tuple[str, ...] | None) -> dict[str, Any]:
    from pydantic import ValidationError  # noqa: PLC0415

    try:
        record = validate(line)
    except ValidationError as exc:
        raise RecordsError(f"{path}:{number}: not a record ({_record_problem(exc)}). The file is damaged: restore it "
                           f"from a copy, or delete line {number} and resume the run (`xaibench run --resume --out "
                           f"{path.parent}`) to compute that record again") from None
    if keep is not None:
        return {name: record.get(name) for name in keep}
    return record


def _record_problem(exc) -> str:
    from .params import describe_error  # noqa: PLC0415

    error = exc.errors()[0]
    if error["type"] == "json_invalid":
        return "not valid JSON"
    if error["type"] in ("dict_type", "model_type", "typed_dict_type"):
        kind = type(error.get("input")).__name__
        return f"a JSON {_JSON_NAMES.get(kind, kind)}, not an object"
    return describe_error(error)


_JSON_NAMES = {"list": "array", "str": "string", "int": "number", "float": "number", "bool": "boolean",
               "NoneType": "null"}


@lru_cache(maxsize=1)
def _validator():
    """``bytes → dict``: the JSON parsed and every typed field of a record checked (pydantic, strict,
    in Rust: faster than ``json.loads``). Every field is checked whatever a reader keeps, so a
    damaged line is found by any reader, resume included."""
    from pydantic import ConfigDict, TypeAdapter  # noqa: PLC0415
    from typing_extensions import NotRequired, Required, TypedDict  # noqa: PLC0415

    spec = {name: (Required if name in ("key", "status") else NotRequired)[kind]
            for name, kind in _record_types().items()}
    schema = TypedDict("Record", spec)  # type: ignore[operator]
    schema.__pydantic_config__ = ConfigDict(strict=True, extra="allow")  # type: ignore[attr-defined]
    return TypeAdapter(schema).validate_json


@lru_cache(maxsize=1)
def _record_types() -> dict[str, Any]:
    from typing import Literal, Optional, Union  # noqa: PLC0415

    number = Optional[float]
    integer = Optional[int]
    text = Optional[str]
    table = Optional[dict]
    return {
        "key": str, "status": Literal[STATUSES], "suite": text, "suite_version": text, "task": text,
        "dataset": text, "model": text, "target": text, "method": text, "method_name": text, "metric": text,
        "metric_name": text, "category": text, "error": text, "error_type": text, "traceback": text,
        "seed": Union[int, None], "n": integer, "n_instances": integer, "n_instances_requested": integer,
        "metric_n_instances": integer, "n_instances_scored": integer,
        "n_background": integer, "model_seed": integer, "value": number, "stderr": number, "ci_low": number,
        "ci_high": number, "seconds": number, "explanations_per_second": number, "peak_memory_mb": number,
        "metric_seconds": number, "explain_cpu_seconds": number, "metric_cpu_seconds": number, "values": Optional[list[number]], "method_params": table, "metric_params": table,
        "quality": table, "extras": table, "versions": table, "higher_is_better": Optional[bool],
        "per_instance": Optional[bool], "stochastic": Optional[bool],
        "heavy_tailed": Optional[bool], "interval": text, "code_sha256": text,  # the leaderboard's fields (issue 12)
    }


def records_file(path: str | Path) -> Path:
    """The ``records.jsonl`` that ``path`` names (itself, or inside a run folder), checked to be a readable file."""
    path = Path(path)
    if path.is_dir() and path.name != RECORDS:
        if not (path / RECORDS).exists() and (path / MANIFEST).is_file():
            raise ResultsError(f"{path} is a run folder with no records yet (nothing has finished); resume it with "
                               f"`xaibench run --resume --out {path}`")
        path = path / RECORDS
    if not path.exists():
        raise ResultsError(f"{path} does not exist: give a run folder (made by `xaibench run`) or its records.jsonl")
    if path.is_dir():
        raise RecordsError(f"{path} is a folder, not a records file; a run folder holds {RECORDS} as a file: "
                           f"rename or remove {path}")
    return path


def latest_per_key(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        latest.pop(record["key"], None)
        latest[record["key"]] = record
    return list(latest.values())


def _intact_length(handle, size: int) -> int:
    """Bytes up to the end of the last complete line, dropping a last line that is torn: one
    without its newline, or one that does not parse (a crash can leave garbage where it wrote).
    Reads only the tail of the file."""
    end = _last_newline_before(handle, size) + 1  # 0 when there is none
    if end == 0 or end < size:
        return end  # no complete line, or a last line without its newline
    start = _last_newline_before(handle, end - 1) + 1
    handle.seek(start)
    line = handle.read(end - start)
    return start if line.strip() and not _parses(line) else end


def _last_newline_before(handle, stop: int) -> int:
    """Offset of the last ``\\n`` in ``[0, stop)``, or -1."""
    position = stop
    while position > 0:
        begin = max(0, position - _TAIL_BLOCK)
        handle.seek(begin)
        found = handle.read(position - begin).rfind(b"\n")
        if found >= 0:
            return begin + found
        position = begin
    return -1


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
        return True
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


# -- writing files whole --------------------------------------------------------------------
def atomic_write(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: a temporary file beside it, fsynced, then
    renamed over it; on any failure the temporary file is removed. Mode ``0o644`` less the umask."""
    _atomic_write(Path(path), text)


def _atomic_write(path: Path, text: str) -> None:
    if not path.parent.is_dir():
        raise ResultsError(f"cannot write {path}: the folder {path.parent} does not exist; create it first "
                           "or choose another path")
    tmp = path.parent / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(fd, "wb", closefd=False) as handle:
                handle.write(text.encode("utf-8"))
                handle.flush()
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _os_error(exc, path, "writing") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _os_error(exc: OSError, path: Path, doing: str) -> ResultsError:
    """A typed error for an ``OSError`` on ``path``, saying what to do."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return DiskFullError(f"disk full while {doing} {path} ({exc.strerror or exc}): nothing partial was kept; "
                             "free some space (or choose a folder on another disk) and run again — an interrupted "
                             "run continues with `xaibench run --resume --out FOLDER`")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ResultsError(f"permission denied while {doing} {path} ({exc.strerror}); choose a folder you can "
                            "write to, or fix its permissions")
    if exc.errno == errno.ENOTDIR:
        return ResultsError(f"{doing} {path} failed: a part of that path is a file, not a folder; choose another path")
    if exc.errno == errno.EISDIR:
        return ResultsError(f"{path} is a folder; {doing} needs a file path there")
    return ResultsError(f"{doing} {path} failed: {exc.strerror or exc}")


def _owner(directory: Path, wait: float = 1.0) -> str:
    """Who holds the folder's lock, from the file it writes right after taking it (waited for
    ``wait`` seconds: a process that has just taken the lock may not have written it yet)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            owner = json.loads((directory / OWNER).read_text(encoding="utf-8"))
            command = " ".join(owner.get("command_line") or [])
            return (f"process {owner['pid']} on {owner.get('host', '?')} (since {owner.get('since', '?')}"
                    f"{': ' + command if command else ''})")
        except (OSError, ValueError, KeyError, TypeError):
            if time.monotonic() >= deadline:
                return "another process"
            time.sleep(0.02)


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
