"""The embedded default: cells run one after the other in this process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from . import Backend, CellSink, RecordSink
from .cell import Cell, clear_task_cache, execute_cell


class LocalBackend(Backend):
    """In-process execution; records are reported as each metric finishes (an interrupted run
    keeps everything finished before the interruption). Cells arrive task by task, so each task
    is loaded once."""

    name: ClassVar[str] = "local"

    def execute(self, cells: Sequence[Cell], done: frozenset[str], on_record: RecordSink,
                on_cell_done: CellSink) -> None:
        try:
            for cell in cells:
                for record in execute_cell(cell, done):
                    on_record(record)
                on_cell_done(cell)
        finally:
            clear_task_cache()
