"""The driver's view of a cell that runs in another process (a worker process, a Ray actor).

A remote cell reports, in order: ``("pending", records)`` once its task is loaded (the records
still to come: identity and key, no result), then ``("record", record)`` as each metric
finishes, with ``("log", name, level, text)`` in between. :class:`CellProgress` follows those
messages and keeps what the driver needs when the cell never finishes: the deadline of the
current phase (loading its task; then explaining and scoring: ``timeout`` seconds each), and the
records still owed, which become error records with the right keys — a cell stopped or crashed
mid-way loses no record and duplicates none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Container
from typing import Any

from ..errors import CellTimeoutError
from .cell import Cell, failure_records


class CellProgress:
    """One cell in flight elsewhere. ``done``: keys not to run (a resumed run's); ``timeout``:
    seconds per phase (``None``: no limit)."""

    def __init__(self, cell: Cell, done: Container[str], timeout: float | None):
        self.cell = cell
        self.done = done
        self.timeout = timeout or None
        self.pending: list[dict[str, Any]] | None = None
        """The records the cell owes, known once its task is loaded."""
        self.written: set[str] = set()
        """Keys of the records received (and handed to the driver's store)."""
        self.deadline = _deadline(self.timeout)

    def receive(self, message: tuple) -> dict[str, Any] | None:
        """Take in one ``pending``, ``record`` or ``log`` message; the record to write, if any."""
        kind = message[0]
        if kind == "record":
            self.written.add(message[1]["key"])
            return message[1]
        if kind == "pending":
            if self.pending is None:  # a retry reports fewer; the first list names them all
                self.pending = message[1]
            self.deadline = _deadline(self.timeout)
        elif kind == "log":
            relog(message)
        return None

    def restart(self) -> None:
        """The cell starts again elsewhere (a retry): a new deadline for its first phase."""
        self.deadline = _deadline(self.timeout)

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    @property
    def phase(self) -> str:
        return "explaining and scoring" if self.pending is not None else "loading its task"

    def timeout_error(self) -> CellTimeoutError:
        return CellTimeoutError(f"cell {self.cell.name} ran past its time limit of {self.timeout:g} s ({self.phase}); "
                                "its worker was stopped. Allow more with --cell-timeout SECONDS "
                                "(or cell_timeout in the suite)")

    def failure(self, exc: BaseException) -> list[dict[str, Any]]:
        """Error records (``exc``) for every record the cell still owes."""
        missing = None if self.pending is None else [r for r in self.pending if r["key"] not in self.written]
        return failure_records(self.cell, exc, self.done, missing)


def relog(message: tuple) -> None:
    """Log a worker's ``("log", name, level, text)`` message here, in the driver."""
    _, name, level, text = message
    logging.getLogger(name).log(level, "%s", text)


def _deadline(timeout: float | None) -> float | None:
    return time.monotonic() + timeout if timeout else None
