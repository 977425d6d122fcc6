"""The local backend: cells one after the other on this machine, in a worker process by default.

``isolation="process"`` (the default) runs each cell in a :class:`~xaibench.backends.worker.WorkerProcess`:
a cell past ``cell_timeout`` seconds is stopped and recorded as a timeout, a crash or ``os._exit``
in plugin code costs only that cell, and the worker (with its loaded tasks) is kept warm from cell
to cell. ``isolation="none"`` runs cells in this process: no time limit and no crash containment,
but a debugger and print statements see the plugin code directly, and plugins need not be
importable (a notebook's classes); use it for debugging. Both record the same values, and both
catch exceptions, ``SystemExit`` and in-place edits of inputs or attributions
(:mod:`xaibench.backends.cell`).
"""

from __future__ import annotations

import logging
import sys
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

    def __init__(self, isolation: str = "process", cell_timeout: float | None = None):
        if isolation not in ISOLATIONS:
            raise InvalidParameterError(f"isolation {isolation!r}: expected one of {', '.join(ISOLATIONS)} "
                                        "(process: a worker process with a time limit; none: in this process)")
        self.isolation = isolation
        self.cell_timeout = cell_timeout or None

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
        from .worker import WorkerSetup, acquire_worker, runtime_plugins  # noqa: PLC0415

        worker, release = acquire_worker()
        try:
            worker.prepare(WorkerSetup(runtime_plugins(), frozenset(done),
                                       logging.getLogger("xaibench").getEffectiveLevel(), tuple(sys.path)))
            for cell in cells:
                for record in worker.run(cell, self.cell_timeout):
                    on_record(record)
                on_cell_done(cell)
        finally:
            release()
