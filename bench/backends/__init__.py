"""Backends execute cells (:mod:`xaibench.backends.cell`); the runner only orchestrates.

A backend receives the run's cells and the keys already done, executes the cells in any order
and any place, and reports each record (``on_record``) and each finished cell
(``on_cell_done``) back in the calling process, where the runner appends records to the store.
:class:`~xaibench.backends.local.LocalBackend` runs cells in-process, one after the other; a
distributed backend (Ray) implements the same :class:`Backend` interface by shipping cells,
which are picklable, to workers that call :func:`~xaibench.backends.cell.execute_cell`.
"""

from __future__ import annotations

import difflib
import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import InvalidParameterError

if TYPE_CHECKING:
    from .cell import Cell

RecordSink = Callable[[dict[str, Any]], None]
CellSink = Callable[["Cell"], None]

BACKENDS = {"local": "xaibench.backends.local:LocalBackend"}


class Backend(ABC):
    """Executes cells and reports their records."""

    name: ClassVar[str]

    @abstractmethod
    def execute(self, cells: Sequence["Cell"], done: frozenset[str], on_record: RecordSink,
                on_cell_done: CellSink) -> None:
        """Run every cell, skipping records whose key is in ``done``; report in this process."""


def get_backend(name: str, **options: Any) -> Backend:
    if name not in BACKENDS:
        close = difflib.get_close_matches(name, list(BACKENDS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidParameterError(f"unknown backend {name!r}.{hint} Available backends: {', '.join(BACKENDS)}")
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)
