"""Confinement of a submitted method's worker process: memory, files, processes, time.

:class:`Confinement` is the worker's initializer (:class:`xaibench.backends.worker.WorkerSetup`):
it runs in the worker before any submitted code is imported, on every (re)start. What it does,
and its limits — it is a guard rail for honest code with bugs, not a security boundary against
code written to escape it:

* **Time** is the worker's own per-cell (per-call) limit: past it the process is killed.
* **Memory**: ``RLIMIT_AS`` (address space, soft and hard, so the code cannot raise it again).
  An allocation past it fails with ``MemoryError`` / torch's "can't allocate memory" in the
  method, which becomes an error the report names. Not with CUDA: its driver reserves far more
  address space than it uses, so on a GPU the limit is off (``memory_mb=None``).
* **Files**: a private scratch folder becomes the working directory, ``HOME`` and ``TMPDIR`` (so
  ``open("cache.bin", "w")``, ``tempfile`` and library caches land there); bytecode is not written.
  Writes anywhere else are refused two ways:

  - **Landlock** (Linux ≥ 5.13, unprivileged, where the kernel and any container allow it): the
    kernel refuses to create, write, truncate, rename or delete files outside the scratch folder,
    the xaibench cache and ``/dev`` for every thread that plugin code runs on and every process it
    starts — C extensions and ``ctypes`` included. Reading stays allowed.
  - **An audit hook** (:func:`sys.addaudithook`, always): Python-level writes (``open`` for
    writing, ``os.remove``/``rename``/``mkdir``/..., ``shutil``) outside the scratch folder, and
    process creation (``subprocess``, ``os.system``, ``os.exec*``, ``os.fork``), are refused with a
    ``PermissionError`` and recorded, when the submitted file's code is on the call stack. The
    harness's own code (e.g. caching trained weights) is not affected. A hook sees what Python
    does, not what compiled code does directly: without Landlock, a C extension or ``ctypes`` call
    could still write.

  Each refusal is recorded (:func:`violations`) and logged as a warning, so it is reported even
  when the method catches the ``PermissionError``.
* **Exiting**: ``sys.exit`` in a method is caught by the cell (an error record); ``os._exit`` or a
  crash ends the worker, which the driver reports and replaces.

:class:`ConfinedBackend` runs cells in a private worker confined this way (never the shared one:
the limits cannot be lifted again).
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..backends import Backend, CellSink, RecordSink

log = logging.getLogger(__name__)

DEFAULT_MEMORY_MB = 8192
"""Address-space limit of a confined worker (torch itself maps about 0.7 GB)."""

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_PATH_EVENTS = {  # audit event → positions of the paths it writes
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.link": (1,), "os.symlink": (1,),
    "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,), "os.utime": (0,), "os.chflags": (0,),
    "os.mkfifo": (0,), "os.mknod": (0,), "shutil.copyfile": (1,), "shutil.copymode": (1,), "shutil.copystat": (1,),
    "shutil.copytree": (1,), "shutil.move": (0, 1), "shutil.rmtree": (0,), "shutil.unpack_archive": (1,),
    "shutil.make_archive": (0,),
}
_PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                   "pty.spawn")


@dataclass(frozen=True)
class Confinement:
    """Initializer of a confined worker (see the module docstring); picklable and idempotent.

    Attributes:
        scratch: the folder plugin code may write to (created); it becomes the working directory.
        memory_mb: address-space limit in MiB, ``None`` for none.
        guarded: source files whose code is the submission's (the audit hook acts when one is on the stack).
        writable: further folders the harness itself may write to (besides the weights and data
            caches, which are always allowed to it: submitted code is refused there by the hook).
        preload: ``(module name, file)`` of the submission, imported after confining, so that its
            class unpickles (:mod:`xaibench.submission.loader`); ``None`` to import it later.
    """

    scratch: str
    memory_mb: int | None = DEFAULT_MEMORY_MB
    guarded: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()
    preload: tuple[str, str] | None = None

    def __call__(self) -> None:
        global _STATE  # noqa: PLW0603
        if _STATE is None:
            _STATE = self._confine()
        if self.preload is not None:
            from .loader import MethodSource, import_module  # noqa: PLC0415

            name, path = self.preload
            import_module(MethodSource(path, "", name))

    def _confine(self) -> dict[str, Any]:
        from ..dataset import cache_dir, data_dir  # noqa: PLC0415

        caches = [cache_dir(), data_dir()]  # pinned before HOME moves: the harness keeps reading its caches
        os.environ["XAIBENCH_CACHE_DIR"], os.environ["XAIBENCH_DATA_DIR"] = str(caches[0]), str(caches[1])
        for folder in caches:
            folder.mkdir(parents=True, exist_ok=True)
        scratch = Path(self.scratch)
        scratch.mkdir(parents=True, exist_ok=True)
        os.chdir(scratch)
        for name in ("HOME", "TMPDIR", "TMP", "TEMP", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR"):
            os.environ[name] = str(scratch)
        import tempfile  # noqa: PLC0415

        tempfile.tempdir = None  # re-read TMPDIR
        sys.dont_write_bytecode = True
        state: dict[str, Any] = {"scratch": str(scratch.resolve()), "memory_mb": self.memory_mb}
        if self.memory_mb:
            import resource  # noqa: PLC0415

            limit = int(self.memory_mb) << 20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        allowed = [str(scratch.resolve())] + [str(Path(p).resolve()) for p in (*self.writable, *caches)]
        state["landlock"] = landlock_restrict(allowed)
        _HOOK.configure(roots=(str(scratch.resolve()),), guarded=tuple(str(Path(g).resolve()) for g in self.guarded))
        state["audit_hook"] = True
        return state


_STATE: dict[str, Any] | None = None


def state() -> dict[str, Any]:
    """How this process is confined (``{}`` when it is not): scratch, memory limit, Landlock status."""
    return dict(_STATE or {})


def violations(clear: bool = True) -> list[str]:
    """What submitted code was refused in this process since the last call (see the module docstring)."""
    return _HOOK.take(clear)


# -- the audit hook ---------------------------------------------------------------------------------
class _AuditHook:
    """One process-wide hook (hooks cannot be removed), inert until :meth:`configure` is called."""

    def __init__(self) -> None:
        self.roots: tuple[str, ...] = ()
        self.guarded: frozenset[str] = frozenset()
        self.installed = False
        self._seen: list[str] = []
        self._logged: set[str] = set()  # refusals already logged by this process (``_seen`` is taken per job)
        self._lock = threading.Lock()
        self._busy = threading.local()

    def configure(self, roots: tuple[str, ...], guarded: tuple[str, ...]) -> None:
        self.roots, self.guarded = roots, frozenset(guarded)
        if not self.installed:
            sys.addaudithook(self)
            self.installed = True

    def take(self, clear: bool) -> list[str]:
        with self._lock:
            out = list(self._seen)
            if clear:
                self._seen.clear()
        return out

    def __call__(self, event: str, args: tuple) -> None:
        if not self.guarded or getattr(self._busy, "on", False):
            return
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int) or path is None or not (isinstance(flags, int) and flags & _WRITE_FLAGS):
                return
            self._check_paths(event, [path])
        elif event in _PATH_EVENTS:
            self._check_paths(event, [args[i] for i in _PATH_EVENTS[event] if i < len(args)])
        elif event in _PROCESS_EVENTS and self._submitted_code_on_stack():
            what = args[0] if args else ""
            self._refuse(f"tried to start a process ({event} {what!r})", what)

    def _check_paths(self, event: str, paths: list[Any]) -> None:
        outside = [p for p in paths if isinstance(p, (str, bytes, os.PathLike)) and not self._inside(p)]
        if outside and self._submitted_code_on_stack():
            self._refuse(f"tried to write outside its scratch folder ({event} {os.fsdecode(outside[0])})", outside[0])

    def _inside(self, path: Any) -> bool:
        self._busy.on = True  # realpath may itself raise audit events
        try:
            real = os.path.realpath(os.fsdecode(path))
        finally:
            self._busy.on = False
        return any(real == root or real.startswith(root + os.sep) for root in self.roots)

    def _submitted_code_on_stack(self) -> bool:
        frame = sys._getframe()
        while frame is not None:
            if frame.f_code.co_filename in self.guarded:
                return True
            frame = frame.f_back
        return False

    def _refuse(self, text: str, path: Any) -> None:
        with self._lock:
            first = text not in self._logged
            self._logged.add(text)
            self._seen.append(text)
        if first:  # said once per worker, not at every call of a method that writes on each one
            self._busy.on = True
            try:
                log.warning("sandbox: the submitted method %s; refused", text)
            finally:
                self._busy.on = False
        raise PermissionError(errno.EACCES, f"xaibench sandbox: a submitted method {text}, which is not allowed; "
                                            "write only to the working directory or tempfile (a private scratch "
                                            "folder), and start no processes", os.fsdecode(path) if path else None)


_HOOK = _AuditHook()


# -- Landlock ---------------------------------------------------------------------------------------
_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # the same numbers on every architecture
_PR_SET_NO_NEW_PRIVS = 38
_WRITE_FILE, _REMOVE_DIR, _REMOVE_FILE, _MAKE_CHAR, _MAKE_DIR = 1 << 1, 1 << 4, 1 << 5, 1 << 6, 1 << 7
_MAKE_REG, _MAKE_SOCK, _MAKE_FIFO, _MAKE_BLOCK, _MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
_REFER, _TRUNCATE = 1 << 13, 1 << 14  # Landlock ABI 2 and 3


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is unavailable (old kernel, disabled, blocked)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return 0
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(0, int(version))


def landlock_restrict(writable: Sequence[str]) -> str:
    """Restrict this thread (and what it starts) to write only beneath ``writable`` and ``/dev``.

    Returns a description for reports: ``"Landlock ABI N"`` or why it is not in force."""
    abi = landlock_abi()
    if abi < 1:
        return "unavailable (no Landlock in this kernel or container); Python-level writes are still refused"
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    write_file = _WRITE_FILE | (_TRUNCATE if abi >= 3 else 0)
    handled = (write_file | _REMOVE_DIR | _REMOVE_FILE | _MAKE_CHAR | _MAKE_DIR | _MAKE_REG | _MAKE_SOCK | _MAKE_FIFO
               | _MAKE_BLOCK | _MAKE_SYM | (_REFER if abi >= 2 else 0))
    attr = _RulesetAttr(handled)
    ruleset = libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"unavailable ({os.strerror(ctypes.get_errno())}); Python-level writes are still refused"
    try:
        rules = [(p, handled) for p in writable if os.path.isdir(p)] + [("/dev", write_file)]
        if os.path.isdir("/dev/shm"):
            rules.append(("/dev/shm", handled))
        for path, access in rules:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneathAttr(access, fd)
                if libc.syscall(_SYS_ADD_RULE, ruleset, 1, ctypes.byref(rule), ctypes.c_uint32(0)) < 0:
                    return (f"not applied ({path}: {os.strerror(ctypes.get_errno())}); Python-level writes are still "
                            "refused")
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or libc.syscall(_SYS_RESTRICT, ruleset, 0) < 0:
            return f"not applied ({os.strerror(ctypes.get_errno())}); Python-level writes are still refused"
    finally:
        os.close(ruleset)
    return f"Landlock ABI {abi}"


# -- a backend whose worker is confined -------------------------------------------------------------
@dataclass
class ConfinedBackend(Backend):
    """Cells one after the other in a private worker process confined by ``confinement``, each
    within ``cell_timeout`` seconds; the worker is closed at the end (see the module docstring)."""

    name: ClassVar[str] = "local-confined"
    confinement: Confinement
    cell_timeout: float | None = None
    refused: list[str] = field(default_factory=list)
    threads: int | None = None
    """torch CPU threads in the worker (``None``: torch's default); submit uses the published run's
    threads per worker, so that cost columns and float32 values compare like for like."""

    def describe(self) -> dict:
        return {"workers": 1, "threads_per_worker": self.threads}

    def execute(self, cells, done, on_record: RecordSink, on_cell_done: CellSink) -> None:
        from ..backends.worker import WorkerProcess, WorkerSetup, runtime_plugins  # noqa: PLC0415

        worker = WorkerProcess()
        catcher = _Catch(self.refused)
        logging.getLogger(__name__).addHandler(catcher)
        try:
            worker.prepare(WorkerSetup(runtime_plugins(), frozenset(done),
                                       logging.getLogger("xaibench").getEffectiveLevel(), tuple(sys.path),
                                       self.threads, initializer=self.confinement))
            for cell in cells:
                for record in worker.run(cell, self.cell_timeout or None):
                    on_record(record)
                on_cell_done(cell)
        finally:
            logging.getLogger(__name__).removeHandler(catcher)
            worker.close()


class _Catch(logging.Handler):
    """Collects the sandbox's refusals relayed from the worker (logged under this module's name)."""

    def __init__(self, sink: list[str]):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())
