"""Cells handed to several workers task by task (:class:`xaibench.backends.dispatch.TaskQueue`)."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from xaibench.backends.dispatch import TaskQueue
from xaibench.suite import TaskRef

TASKS = [TaskRef("d", "m", f"t{i}") for i in range(4)]


def cells(sizes: list[int]) -> list[SimpleNamespace]:
    """Cells in plan order: task by task, numbered within their task."""
    return [SimpleNamespace(task=TASKS[t], i=i) for t, n in enumerate(sizes) for i in range(n)]


def label(cell) -> str:
    return f"{cell.task.target}.{cell.i}"


def test_one_worker_takes_the_plan_in_order():
    queue = TaskQueue(cells([2, 1, 3]))
    taken = []
    while (cell := queue.take("w")) is not None:
        taken.append(label(cell))
    assert taken == ["t0.0", "t0.1", "t1.0", "t2.0", "t2.1", "t2.2"]
    assert len(queue) == 0


def test_workers_keep_their_task_then_take_a_free_one_then_help_the_largest():
    queue = TaskQueue(cells([3, 1, 4]))
    assert label(queue.take("a")) == "t0.0"
    assert label(queue.take("b")) == "t1.0"  # t0 has a worker: b takes the next task nobody is on
    assert label(queue.take("a")) == "t0.1"  # a keeps to its task
    assert label(queue.take("b")) == "t2.0"  # t1 is done; t2 is free
    assert label(queue.take("a")) == "t0.2"
    assert label(queue.take("a")) == "t2.1"  # no free task left: a helps on t2 (the only one left)
    assert [label(queue.take("b")), label(queue.take("a"))] == ["t2.2", "t2.3"]
    assert queue.take("a") is None and queue.take("b") is None


def test_helping_goes_to_the_task_with_most_cells_left():
    queue = TaskQueue(cells([3, 5, 0, 0]))
    queue.take("a"), queue.take("b")  # a on t0 (2 left), b on t1 (4 left)
    queue.take("c")  # no free task: c joins t1, which has more cells left
    assert len(queue) == 5
    assert [label(queue.take("c")) for _ in range(2)] == ["t1.2", "t1.3"]


def test_a_cell_put_back_comes_first_of_its_task():
    plan = cells([3])
    queue = TaskQueue(plan)
    first = queue.take("a")
    queue.put_back(first)
    assert queue.take("b") is first
    assert len(queue) == 2


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(0, 5), min_size=1, max_size=4),
       turns=st.lists(st.sampled_from("abc"), min_size=0, max_size=40))
def test_every_cell_is_taken_once_and_a_worker_leaves_its_task_only_when_it_is_done(sizes, turns):
    plan = cells(sizes)
    queue = TaskQueue(plan)
    taken, on = [], {}
    for worker in turns + ["a"] * len(plan):  # any interleaving, then one worker drains the rest
        left = {c.task: 0 for c in plan}
        for c in plan:
            if all(c is not t for t in taken):
                left[c.task] += 1
        cell = queue.take(worker)
        if cell is None:
            assert not any(left.values())
            continue
        if worker in on and on[worker] != cell.task:
            assert left[on[worker]] == 0, "left a task that still had cells"
        on[worker] = cell.task
        taken.append(cell)
    assert sorted(map(label, taken)) == sorted(map(label, plan))
    assert len({id(c) for c in taken}) == len(plan)
