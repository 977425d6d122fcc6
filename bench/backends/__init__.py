"""Backends execute cells (:mod:`xaibench.backends.cell`); the runner only orchestrates.

A backend receives the run's cells and the keys already done, executes the cells in any order
and any place, and reports each record (``on_record``) and each finished cell
(``on_cell_done``) back in the calling process, where the runner appends records to the store.
:class:`~xaibench.backends.local.LocalBackend` runs cells in worker processes on this machine
(or in-process); :class:`~xaibench.backends.ray.RayBackend` ships cells, which are picklable,
to Ray actors on a cluster that call :func:`~xaibench.backends.cell.execute_cell`. A backend that
needs set-up (connecting to a cluster) does it in :meth:`Backend.session`, which the runner
enters before it creates the run folder: a backend that cannot start leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import InvalidParameterError

if TYPE_CHECKING:
    from .cell import Cell

RecordSink = Callable[[dict[str, Any]], None]
CellSink = Callable[["Cell"], None]

BACKENDS = {"local": "xaibench.backends.local:LocalBackend", "ray": "xaibench.backends.ray:RayBackend"}


class Backend(ABC):
    """Executes cells and reports their records."""

    name: ClassVar[str]
    runs_here: ClassVar[bool] = True
    """Cells run on this machine, so ``--device`` must exist here (a cluster checks its own)."""

    @contextlib.contextmanager
    def session(self, device: str) -> Iterator[None]:
        """Set up what :meth:`execute` needs for cells on ``device`` (raising a typed error when
        that is impossible), and tear it down after the block."""
        yield

    def describe(self) -> dict[str, Any]:
        """What the run's manifest records about this backend, inside a :meth:`session`."""
        return {}

    @abstractmethod
    def execute(self, cells: Sequence["Cell"], done: frozenset[str], on_record: RecordSink,
                on_cell_done: CellSink) -> None:
        """Run every cell, skipping records whose key is in ``done``; report in this process."""


def get_backend(name: str, **options: Any) -> Backend:
    """The backend ``name`` built with ``options``; an option that is ``None`` is left to the
    backend's default, and one the backend does not take is a typed error naming its flag."""
    if name not in BACKENDS:
        close = difflib.get_close_matches(name, list(BACKENDS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidParameterError(f"unknown backend {name!r}.{hint} Available backends: {', '.join(BACKENDS)}")
    module, cls = BACKENDS[name].split(":")
    backend = getattr(importlib.import_module(module), cls)
    given = {key: value for key, value in options.items() if value is not None}
    accepted = inspect.signature(backend).parameters
    foreign = [key for key in given if key not in accepted]
    if foreign:
        flags = ", ".join("--" + key.replace("_", "-") for key in foreign)
        raise InvalidParameterError(f"{flags} does not apply to the {name} backend; drop it, or choose a backend "
                                    f"that takes it ({', '.join(b for b in BACKENDS if b != name)})")
    return backend(**given)
