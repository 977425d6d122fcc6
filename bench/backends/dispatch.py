"""Handing cells to several workers so that each keeps its loaded task warm.

Loading a task (data, model weights, background) is the one cost cells share, and a worker
caches the tasks it loaded (:func:`~xaibench.backends.cell.load_cached_task`). So a worker
keeps to one task while that task has cells left; then it takes the next task in the plan that
no worker is on; only when every task left has a worker does it join the one with the most
cells left (so that the last task does not run on one worker while the others wait).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable, Iterable

from ..suite import TaskRef
from .cell import Cell


class TaskQueue:
    """Cells by task, taken by workers (any hashable id); safe to use from several threads."""

    def __init__(self, cells: Iterable[Cell]):
        self._cells: dict[TaskRef, deque[Cell]] = {}
        for cell in cells:
            self._cells.setdefault(cell.task, deque()).append(cell)
        self._on: dict[Hashable, TaskRef] = {}
        self._lock = threading.Lock()

    def take(self, worker: Hashable) -> Cell | None:
        """The next cell for ``worker``; ``None`` when no cell is left."""
        with self._lock:
            task = self._on.get(worker)
            if not self._cells.get(task):
                task = self._choose()
                if task is None:
                    self._on.pop(worker, None)
                    return None
                self._on[worker] = task
            return self._cells[task].popleft()

    def put_back(self, cell: Cell) -> None:
        """Queue ``cell`` again, first of its task (a retry)."""
        with self._lock:
            self._cells.setdefault(cell.task, deque()).appendleft(cell)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(cells) for cells in self._cells.values())

    def _choose(self) -> TaskRef | None:
        left = [task for task, cells in self._cells.items() if cells]
        if not left:
            return None
        busy = set(self._on.values())
        free = [task for task in left if task not in busy]
        if free:
            return free[0]
        return max(left, key=lambda task: len(self._cells[task]))  # first of the largest: ties by plan order
