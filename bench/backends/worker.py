"""Cells in a worker process: a time limit per cell, and plugin crashes contained.

The driver (the process running :func:`xaibench.runner.run_plan`) alone writes the run folder; a
worker only computes. :class:`WorkerProcess` starts a worker — a fresh interpreter running
:func:`main` in its own session, talking over a socket pair (safe with CUDA and thread pools,
and, unlike ``multiprocessing``'s spawn, it never re-runs the user's main script, so a script
that calls ``xaibench.run`` needs no ``if __name__ == "__main__"`` guard) — sends it one cell at
a time and receives the cell's records as each metric finishes. The worker stays up between
cells, and between runs in the same process, so its caches stay warm (a model loads once per
task, the interpreter and torch start once); it is replaced only after a time limit or a crash.

* **Time limit.** A cell may take ``cell_timeout`` seconds to load its task and again
  ``cell_timeout`` seconds to explain and score (0: no limit). Past it the worker is killed
  (SIGKILL: it writes nothing, so there is nothing to clean up) and the cell's missing records
  become ``CellTimeoutError`` records; the next cell starts a new worker.
* **Crashes.** A worker that dies (a segfault, ``os._exit``, the out-of-memory killer) gives
  ``WorkerCrashedError`` records in the same way, and the run goes on.
* **Signals.** The worker ignores SIGINT and runs in its own session, so Ctrl-C reaches only
  the driver, which stops the worker; a worker whose driver died exits by itself within a second.
* **Plugins.** Cells travel by pickle: built-in and entry-point plugins are found by the worker's
  own registries; plugins registered at run time (a test's or a script's ``@register_method``
  classes) are sent by reference (module and class name), so they must be importable — a class
  defined in a notebook cell is not, and such a cell gets an error record saying to use
  ``--isolation none`` (in-process, no time limit).
* **Confinement.** ``WorkerSetup.initializer``, a picklable callable, runs in the worker before
  its plugins are installed, on every start (a replaced worker too): submissions use it to set
  memory and file-system limits (:mod:`xaibench.submission.sandbox`). :meth:`WorkerProcess.call`
  runs any picklable callable in the worker under a time limit and returns its result.

Reuse: :func:`run_cell` is the whole worker-side job for one cell (messages out through a
callback), and :func:`apply_setup` the whole set-up (log level, import path, torch threads,
plugins); the Ray backend's actors (:mod:`xaibench.backends.ray`) call both, and the driver
follows a cell's messages with the same :class:`~xaibench.backends.progress.CellProgress`.
Several workers side by side: :func:`acquire_workers` (``--workers N``).

Messages (tuples over a ``multiprocessing`` pipe): driver → worker ``("setup", WorkerSetup)``,
``("cell", Cell)``, ``("call", fn)``, ``("stop",)``; worker → driver ``("ready", problems)``,
``("log", name, level, text)``, ``("pending", records)``, ``("record", record)``, ``("done",)``,
``("result", value)``, ``("raised", text)``, ``("interrupted",)``, ``("failed", text)``.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import CellTimeoutError, IsolationError, WorkerCallError, WorkerCrashedError
from .cell import Cell, execute_cell, failure_records
from .progress import CellProgress, relog

log = logging.getLogger(__name__)

START_TIMEOUT = 600.0
"""Seconds a new worker may take to start (import torch and the plugins) and load its plugins."""
_PARENT_POLL = 1.0


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs besides cells: run-time plugins (pickled), keys already done, log level."""

    plugins: tuple[tuple[str, str, bytes], ...] = ()
    done: frozenset[str] = frozenset()
    log_level: int = logging.INFO
    sys_path: tuple[str, ...] = ()
    """The driver's import path, so that run-time plugins import in the worker as they did there."""
    threads: int | None = None
    """torch's CPU threads in the worker (``None``: torch's default, one per core). Values in
    float32 can differ in their last bits between thread counts (torch splits reductions by
    thread), so records are bit-identical between runs with the same threads per worker."""
    initializer: Callable[[], None] | None = None
    """Run in the worker before the plugins are installed, at each set-up (so it must be idempotent)."""
    cwd: str | None = None
    """The driver's working directory, entered at each set-up where it exists (a reused worker
    may have been started elsewhere): a suite's relative ``file.py:factory`` model paths are taken
    from it."""


def runtime_plugins() -> tuple[tuple[str, str, bytes], ...]:
    """Entries registered at run time (not built in, not entry points), pickled by reference."""
    from .. import registries  # noqa: PLC0415

    out = []
    for kind in ("datasets", "models", "methods", "metrics"):
        registry = getattr(registries, kind)
        for name, entry in registry.runtime_entries():
            try:
                out.append((kind, name, pickle.dumps(entry)))
            except Exception as exc:  # noqa: BLE001 - its cells will say so, with the fix
                log.debug("%s %r cannot be pickled for a worker process: %s", registry.kind, name, exc)
    return tuple(out)


# -- the worker side ------------------------------------------------------------------------------
_INSTALLED: dict[tuple[str, str], Any] = {}


def install_plugins(plugins: tuple[tuple[str, str, bytes], ...]) -> list[str]:
    """Make this process's registries hold exactly the driver's run-time ``plugins``; returns problems."""
    from .. import registries  # noqa: PLC0415

    problems: list[str] = []
    wanted = {(kind, name) for kind, name, _ in plugins}
    for kind, name in [k for k in _INSTALLED if k not in wanted]:
        getattr(registries, kind).remove(name)
        del _INSTALLED[(kind, name)]
    for kind, name, payload in plugins:
        try:
            entry = pickle.loads(payload)
            getattr(registries, kind).add(name, entry)
            _INSTALLED[(kind, name)] = entry
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{kind[:-1]} {name!r}: {type(exc).__name__}: {exc}")
    return problems


def apply_setup(setup: WorkerSetup) -> list[str]:
    """Make this process ready for the driver's cells: log level, import path, working directory,
    torch threads, run-time plugins; returns the plugins that could not be loaded."""
    import torch  # noqa: PLC0415

    global _DEFAULT_THREADS  # noqa: PLW0603
    logging.getLogger("xaibench").setLevel(setup.log_level)
    sys.path[:0] = [p for p in setup.sys_path if p not in sys.path]
    if setup.cwd and os.path.isdir(setup.cwd):
        os.chdir(setup.cwd)
    if _DEFAULT_THREADS is None:
        _DEFAULT_THREADS = torch.get_num_threads()
    torch.set_num_threads(setup.threads or _DEFAULT_THREADS)
    return install_plugins(setup.plugins)


_DEFAULT_THREADS: int | None = None


def run_cell(cell: Cell, done: Container[str], emit: Callable[[tuple], None]) -> None:
    """Execute ``cell`` here, emitting ``("pending", records)`` once the task is loaded and
    ``("record", record)`` as each metric finishes."""
    for record in execute_cell(cell, done, on_pending=lambda pending: emit(("pending", pending))):
        emit(("record", record))


def main() -> None:
    """The worker process (``python -c "from xaibench.backends.worker import main; main()" FD``):
    serve the driver on the socket ``FD``."""
    from multiprocessing.connection import Connection  # noqa: PLC0415

    serve(Connection(int(sys.argv[1])))


def serve(conn) -> None:
    """The worker's main loop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    _exit_with_parent(os.getppid())
    lock = threading.Lock()

    def emit(message: tuple) -> None:
        with lock:
            conn.send(message)

    forward_logs(emit)
    done: Container[str] = frozenset()
    while True:
        try:
            payload = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the driver is gone
        try:
            message = pickle.loads(payload)
        except Exception as exc:  # noqa: BLE001 - e.g. a cell naming a class this process cannot import
            emit(("failed", f"{type(exc).__name__}: {exc}"))
            continue
        kind = message[0]
        if kind == "stop":
            return
        if kind == "setup":
            setup: WorkerSetup = message[1]
            done = setup.done
            if setup.initializer is not None:
                try:
                    setup.initializer()
                except Exception as exc:  # noqa: BLE001 - the driver refuses this worker
                    emit(("failed", f"{type(exc).__name__}: {exc}"))
                    continue
            emit(("ready", apply_setup(setup)))
        elif kind == "cell":
            try:
                run_cell(message[1], done, emit)
            except KeyboardInterrupt:  # raised by plugin code (a real Ctrl-C goes to the driver)
                emit(("interrupted",))
                continue
            emit(("done",))
        elif kind == "call":
            try:
                result = message[1]()
            except KeyboardInterrupt:
                emit(("interrupted",))
                continue
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                emit(("raised", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-6))))
                continue
            emit(("result", result))


def _exit_with_parent(parent: int) -> None:
    def watch() -> None:
        while True:
            time.sleep(_PARENT_POLL)
            if os.getppid() != parent:
                os._exit(1)  # the driver died (SIGKILL): nobody will read our results

    threading.Thread(target=watch, name="xaibench-parent-watch", daemon=True).start()


class _PipeHandler(logging.Handler):
    def __init__(self, emit: Callable[[tuple], None]):
        super().__init__()
        self._emit = emit

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit(("log", record.name, record.levelno, record.getMessage()))
        except Exception:  # noqa: BLE001 - logging must never fail a cell
            pass


def forward_logs(emit: Callable[[tuple], None]) -> None:
    logger = logging.getLogger("xaibench")
    logger.addHandler(_PipeHandler(emit))
    logger.propagate = False


# -- the driver side ------------------------------------------------------------------------------
class WorkerProcess:
    """One worker process, started on demand and restarted after a time limit or a crash."""

    def __init__(self) -> None:
        self._process = None
        self._conn = None
        self._setup: WorkerSetup | None = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def prepare(self, setup: WorkerSetup) -> None:
        """Start the worker if needed and give it ``setup`` (plugins, keys done, log level)."""
        self._setup = setup
        if not self.alive:
            self._start()
        self._send(("setup", setup))
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            message = self._receive(deadline)
            if message in (_TIMEOUT, _GONE):
                code = self._stop()
                raise WorkerCrashedError(f"the worker process did not start ({_exit_text(code)}); run with "
                                         "--isolation none to see the error in this process")
            if message[0] == "log":
                relog(message)
            elif message[0] == "failed":
                self._stop()
                raise IsolationError(f"the worker process could not be set up: {message[1]}")
            elif message[0] == "ready":
                warn_plugin_problems(message[1])
                return

    def run(self, cell: Cell, timeout: float | None) -> Iterator[dict[str, Any]]:
        """The records of ``cell``, computed by the worker; a cell past ``timeout`` seconds (per
        phase: loading, then explaining and scoring) or whose worker died gets error records."""
        assert self._setup is not None, "prepare() first"
        if not self.alive:
            self.prepare(self._setup)
        done = self._setup.done
        try:
            payload = pickle.dumps(("cell", cell))
        except Exception as exc:  # noqa: BLE001
            yield from failure_records(cell, unreceivable(cell, f"{type(exc).__name__}: {exc}", sent=False), done)
            return
        progress = CellProgress(cell, done, timeout)
        finished = False
        try:
            self._conn.send_bytes(payload)
            while True:
                message = self._receive(progress.deadline)
                if message in (_TIMEOUT, _GONE):
                    code = self._stop()
                    exc = (progress.timeout_error() if message is _TIMEOUT else
                           WorkerCrashedError(f"the worker process running cell {cell.name} died "
                                              f"({_exit_text(code)}); the run goes on with a new worker"))
                    yield from progress.failure(exc)
                    finished = True
                    return
                kind = message[0]
                if kind == "done":
                    finished = True
                    return
                if kind == "interrupted":
                    finished = True
                    raise KeyboardInterrupt
                if kind == "failed":
                    finished = True
                    yield from failure_records(cell, unreceivable(cell, message[1]), done)
                    return
                record = progress.receive(message)
                if record is not None:
                    yield record
        finally:
            if not finished:  # interrupted mid-cell: the worker is still busy with it
                self._stop()

    def kill(self) -> None:
        """Stop the worker at once (SIGKILL), from any thread; the thread running a cell on it
        sees the worker gone."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()

    def call(self, fn: Callable[[], Any], timeout: float | None) -> Any:
        """``fn()`` computed in the worker (``fn`` and its result are pickled), within ``timeout`` seconds.

        Raises:
            CellTimeoutError: ``fn`` ran past ``timeout``; the worker was stopped (the next call starts a new one).
            WorkerCrashedError: the worker died meanwhile (``os._exit``, ``sys.exit``, a crash, out of memory).
            WorkerCallError: ``fn`` raised an exception (its traceback is in the message).
        """
        assert self._setup is not None, "prepare() first"
        if not self.alive:
            self.prepare(self._setup)
        finished = False
        try:
            self._send(("call", fn))
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                message = self._receive(deadline)
                if message in (_TIMEOUT, _GONE):
                    code = self._stop()
                    finished = True
                    if message is _TIMEOUT:
                        raise CellTimeoutError(f"the worker did not finish within {timeout:g} s and was stopped")
                    raise WorkerCrashedError(f"the worker process died ({_exit_text(code)})")
                kind = message[0]
                if kind == "log":
                    relog(message)
                elif kind == "result":
                    finished = True
                    return message[1]
                elif kind in ("raised", "failed"):
                    finished = True
                    raise WorkerCallError(message[1])
                elif kind == "interrupted":
                    finished = True
                    raise KeyboardInterrupt
        finally:
            if not finished:
                self._stop()

    def close(self) -> None:
        """Ask the worker to exit; kill it if it does not."""
        if self._conn is not None and self.alive:
            try:
                self._send(("stop",))
            except (OSError, ValueError):
                pass
            try:
                self._process.wait(2)
            except subprocess.TimeoutExpired:
                pass
        self._stop()

    # -- internals -------------------------------------------------------------------------------
    def _start(self) -> None:
        from multiprocessing.connection import Connection  # noqa: PLC0415

        if sys.platform == "win32":  # pragma: no cover - no descriptor passing
            raise IsolationError("worker processes need a POSIX system (Linux, macOS); run with --isolation none")

        ours, theirs = socket.socketpair()
        with ours, theirs:
            command = [sys.executable, "-c", "from xaibench.backends.worker import main; main()", str(theirs.fileno())]
            self._process = subprocess.Popen(command, pass_fds=(theirs.fileno(),), start_new_session=True)
            self._conn = Connection(ours.detach())

    def _send(self, message: tuple) -> None:
        self._conn.send_bytes(pickle.dumps(message))

    def _receive(self, deadline: float | None) -> tuple:
        """The next message; ``_TIMEOUT`` when ``deadline`` passed first, ``_GONE`` when the worker died."""
        while True:
            wait = _PARENT_POLL if deadline is None else min(_PARENT_POLL, max(0.0, deadline - time.monotonic()))
            try:
                if self._conn.poll(wait):
                    return self._conn.recv()
            except (EOFError, OSError):
                return _GONE
            if not self.alive:
                return _GONE
            if deadline is not None and time.monotonic() >= deadline:
                return _TIMEOUT

    def _stop(self) -> int | None:
        """Kill the worker (if running); its exit code."""
        process, self._process = self._process, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if process is None:
            return None
        if process.poll() is None:
            process.kill()
        try:
            return process.wait(5)
        except subprocess.TimeoutExpired:
            return None


def warn_plugin_problems(problems: list[str]) -> None:
    for problem in problems:
        log.warning("a plugin could not be loaded in the worker process: %s; its cells will fail "
                    "(define it in an importable module, or run with --isolation none)", problem)


def unreceivable(cell: Cell, reason: str, *, sent: bool = True) -> IsolationError:
    """The error of a cell that could not be pickled (``sent=False``) or unpickled by its worker."""
    what = "could not be received by its worker" if sent else "cannot be sent to a worker process"
    return IsolationError(f"cell {cell.name} {what} ({reason}); define the plugin in an importable module, or run "
                          "with --isolation none (in-process, no time limit)")


_TIMEOUT = ("<timeout>",)
_GONE = ("<gone>",)


def _exit_text(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


# -- the workers shared by the runs of this process ----------------------------------------------
_SHARED: list[WorkerProcess] = []
_SHARED_LOCK = threading.Lock()


def acquire_workers(n: int = 1) -> tuple[list[WorkerProcess], Callable[[], None]]:
    """``n`` process-wide workers (warm caches across runs; more are closed) and their release
    function; private ones (closed on release) when another thread is using them."""
    if _SHARED_LOCK.acquire(blocking=False):
        while len(_SHARED) < n:
            _SHARED.append(WorkerProcess())
        for extra in _SHARED[n:]:
            extra.close()
        del _SHARED[n:]
        return list(_SHARED), _SHARED_LOCK.release
    private = [WorkerProcess() for _ in range(n)]

    def close() -> None:
        for worker in private:
            worker.close()

    return private, close


def acquire_worker() -> tuple[WorkerProcess, Callable[[], None]]:
    """:func:`acquire_workers` for one worker."""
    (worker,), release = acquire_workers(1)
    return worker, release


def shutdown_worker() -> None:
    """Stop the shared workers (at exit; tests that want a cold start)."""
    with _SHARED_LOCK:
        for worker in _SHARED:
            worker.close()
        _SHARED.clear()


atexit.register(shutdown_worker)
