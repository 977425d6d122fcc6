"""The local backend: cells on this machine, in worker processes by default.

``isolation="process"`` (the default) runs each cell in a :class:`~xaibench.backends.worker.WorkerProcess`:
a cell past ``cell_timeout`` seconds is stopped and recorded as a timeout, a crash or ``os._exit``
in plugin code costs only that cell, and the worker (with its loaded tasks) is kept warm from cell
to cell. ``isolation="none"`` runs cells in this process: no time limit and no crash containment,
but a debugger and print statements see the plugin code directly, and plugins need not be
importable (a notebook's classes); use it for debugging. Both record the same values, and both
catch exceptions, ``SystemExit`` and in-place edits of inputs or attributions
(:mod:`xaibench.backends.cell`).

``workers=N`` runs N worker processes side by side, each with ``threads`` torch CPU threads
(default: the CPUs this process may use, divided by N, at least one), fed task by task
(:class:`~xaibench.backends.dispatch.TaskQueue`: each worker keeps its task loaded). Cells are
independent and each reseeds everything, so the records are those of one worker with the same
``threads`` — bit for bit; with a different thread count, float32 values can differ in their
last bits, because torch splits its CPU reductions by thread. Only the driver (this process)
writes records; the workers' threads here only relay them. Why our worker processes rather than
a local Ray instance (``--backend ray`` also runs on one machine): no extra dependency, no Ray
start-up (about 7 s on a shared 2-core machine, against about 3 s for a worker), and the same
per-cell time limit and crash containment as one worker (:mod:`~xaibench.backends.worker`).
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Sequence
from typing import ClassVar

from ..errors import InvalidParameterError
from . import Backend, CellSink, RecordSink
from .cell import Cell, clear_task_cache, execute_cell

log = logging.getLogger(__name__)

ISOLATIONS = ("process", "none")


class LocalBackend(Backend):
    """Cells arrive task by task, so each task is loaded once; records are reported as each metric
    finishes (an interrupted run keeps everything finished before the interruption)."""

    name: ClassVar[str] = "local"

    def __init__(self, isolation: str = "process", cell_timeout: float | None = None, workers: int | None = None,
                 threads: int | None = None):
        if isolation not in ISOLATIONS:
            raise InvalidParameterError(f"isolation {isolation!r}: expected one of {', '.join(ISOLATIONS)} "
                                        "(process: a worker process with a time limit; none: in this process)")
        workers, threads = check_count("workers", workers), check_count("threads", threads)
        if isolation == "none" and (workers or 1) > 1:
            raise InvalidParameterError(f"--workers {workers} needs worker processes; drop --isolation none")
        self.isolation = isolation
        self.cell_timeout = cell_timeout or None
        self.workers = workers or 1
        self.threads = threads if threads or self.workers == 1 else max(1, available_cpus() // self.workers)
        """torch threads per worker; ``None``: torch's default (one worker)."""

    def describe(self) -> dict:
        return {"workers": self.workers, "threads_per_worker": self.threads}

    def execute(self, cells: Sequence[Cell], done: frozenset[str], on_record: RecordSink,
                on_cell_done: CellSink) -> None:
        if self.isolation == "none":
            self._in_process(cells, done, on_record, on_cell_done)
        else:
            self._in_worker(cells, done, on_record, on_cell_done)

    def _in_process(self, cells, done, on_record, on_cell_done) -> None:
        if self.cell_timeout:
            log.debug("isolation none: the cell time limit (%g s) is not enforced in-process", self.cell_timeout)
        try:
            for cell in cells:
                for record in execute_cell(cell, done):
                    on_record(record)
                on_cell_done(cell)
        finally:
            clear_task_cache()

    def _in_worker(self, cells, done, on_record, on_cell_done) -> None:
        from .worker import WorkerSetup, acquire_workers, runtime_plugins  # noqa: PLC0415

        workers, release = acquire_workers(self.workers)
        setup = WorkerSetup(runtime_plugins(), frozenset(done), logging.getLogger("xaibench").getEffectiveLevel(),
                            tuple(sys.path), self.threads, cwd=os.getcwd())
        try:
            if len(workers) == 1:
                workers[0].prepare(setup)
                for cell in cells:
                    for record in workers[0].run(cell, self.cell_timeout):
                        on_record(record)
                    on_cell_done(cell)
            else:
                _side_by_side(workers, setup, cells, self.cell_timeout, on_record, on_cell_done)
        finally:
            release()


def _side_by_side(workers, setup, cells, timeout, on_record, on_cell_done) -> None:
    """Run ``cells`` on several workers at once: one relaying thread per worker puts records on
    a queue, and this thread (the driver's) alone reports them. On any exception here (Ctrl-C,
    SIGTERM, a worker that cannot start) every worker is killed, and records still in flight
    are dropped: they were never written, so a resumed run computes them again."""
    from .dispatch import TaskQueue  # noqa: PLC0415

    cells_left = TaskQueue(cells)
    events: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def relay(worker) -> None:
        try:
            worker.prepare(setup)
            while not stop.is_set() and (cell := cells_left.take(worker)) is not None:
                for record in worker.run(cell, timeout):
                    if stop.is_set():
                        return
                    events.put(("record", record))
                events.put(("cell", cell))
        except BaseException as exc:  # noqa: BLE001 - re-raised by the driver's thread
            events.put(("raise", exc))
        finally:
            events.put(("exit", None))

    threads = [threading.Thread(target=relay, args=(w,), name=f"xaibench-relay-{i}", daemon=True)
               for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    try:
        running = len(threads)
        while running:
            try:
                kind, item = events.get(timeout=1.0)  # wakes up for signal handlers
            except queue.Empty:
                continue
            if kind == "record":
                on_record(item)
            elif kind == "cell":
                on_cell_done(item)
            elif kind == "raise":
                raise item
            else:
                running -= 1
    except BaseException:
        stop.set()
        for worker in workers:
            worker.kill()
        raise
    finally:
        for thread in threads:
            thread.join(10)


def check_count(option: str, value: int | None) -> int | None:
    """``value`` if it is a positive integer or ``None``; else a typed error naming ``--option``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError(f"--{option} {value!r}: expected a positive whole number")
    return value


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1
