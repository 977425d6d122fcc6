"""``xaibench throughput``: explanations per second over batch sizes, against each method's floor.

For every (method, task) and batch size ``B`` (instances per ``explain`` call), on one device:

* the method's ``explain(task, x[:B], seed=0)`` and its **floor** — the bare forward (and backward)
  passes the method needs at that batch size (:func:`xaibench.perf.floors.floor_spec`,
  :func:`~xaibench.perf.floors.bare_passes`) — are timed in alternation by
  :func:`xaibench.perf.timing.interleaved`: one warm-up round, then up to ``repeats`` rounds,
  stopping after the round that brings the timed seconds to ``budget_s``; medians;
* explanations per second = ``B / median``; **× floor** (the efficiency column) = method median /
  floor median, 1.00 meaning no cost beyond the model's own passes; peak memory of the method's
  first call at that batch size (the warm-up; :mod:`xaibench.memory`);
* the **best batch size** of a pair is the one with the most explanations per second. A batch size
  above the task's number of instances is measured once at all of them.

A pass that fails (out of memory even after :mod:`xaibench.chunking` halved it, or any error) ends
that pair's sweep with the error in the note; so does a batch size whose call would take longer
than ``max_call_s``, extrapolated linearly from the last batch size's median call (it is not run).

Methods and their parameters come from a suite (default: the ``standard`` leaderboard suite, so
the figures describe the leaderboard's settings); tasks are ``dataset/model/target`` patterns of
that suite.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from .errors import InvalidParameterError, NotApplicableError
from .perf.timing import CLOCKS

if TYPE_CHECKING:
    from .method import Method
    from .task import Task

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZES = {"cpu": (1, 4, 16, 64), "cuda": (1, 4, 16, 64, 256, 1024)}
DEFAULT_REPEATS = 5
DEFAULT_BUDGET_S = 10.0
DEFAULT_MAX_CALL_S = 60.0


@dataclass(frozen=True)
class Point:
    """One (method, task, batch size) measurement; ``seconds`` are medians of one ``explain`` call."""

    method: str
    task: str
    batch: int
    seconds: float | None = None
    floor_seconds: float | None = None
    floor: str = ""
    peak_memory_mb: float | None = None
    repeats: int = 0
    note: str = ""

    @property
    def explanations_per_second(self) -> float | None:
        return None if not self.seconds else self.batch / self.seconds

    @property
    def ratio(self) -> float | None:
        """The efficiency column: method median / floor median."""
        return None if not (self.seconds and self.floor_seconds) else self.seconds / self.floor_seconds


@dataclass
class Sweep:
    """The measurements of one ``xaibench throughput`` run and how to reproduce them."""

    device: str
    device_name: str
    command: str
    settings: dict[str, Any]
    points: list[Point] = field(default_factory=list)
    note: str = ""

    def best(self) -> list[Point]:
        """Per (method, task), in order of appearance: the point with the most explanations per second."""
        best: dict[tuple[str, str], Point] = {}
        for p in self.points:
            key = (p.method, p.task)
            current = best.get(key)
            if current is None or (p.explanations_per_second or 0) > (current.explanations_per_second or 0):
                best[key] = p
        return list(best.values())

    def markdown(self) -> str:
        from tabulate import tabulate  # noqa: PLC0415

        s = self.settings
        header = [
            "# Throughput: explanations per second against each method's floor",
            "",
            f"Device: {self.device} ({self.device_name}), torch {torch.__version__}.",
            *([self.note] if self.note else []),
            "",
            f"Reproduce: `{self.command}`",
            "",
            f"Per batch size B the method's `explain(task, x[:B])` and its floor (the bare forward, and backward "
            f"where the method needs gradients, passes over B × rows-per-instance rows, chunked as the method's "
            f"own passes) are timed in alternation: {s['warmup']} warm-up round, then up to {s['repeats']} rounds, "
            f"stopping after the round that brings the timed seconds to {s['budget_s']:g} s; medians of "
            + ("wall-clock seconds. " if s.get("clock", "wall") == "wall" else
               "CPU seconds of the process (all threads summed, `--clock process`: steadier on a shared machine; "
               "expl/s are then per CPU-second). ") +
            "× floor = method / floor (1.00: nothing beyond the model's passes). Below 1: the method needs fewer "
            "rows than the per-instance floor (tabular lime shares its points), or evaluates them in smaller, "
            "cache-friendlier passes than the floor's `task.max_batch` rows (on a CPU). Peak memory: the method's "
            "first call at that batch size, its warm-up (CUDA: allocator peak; CPU: growth of the process's RSS, "
            "a lower bound: memory freed by smaller batch sizes is reused unseen).",
        ]
        best = [(p.task, p.method, p.batch, _num(p.explanations_per_second), _ms(p.seconds), _ms(p.floor_seconds),
                 _ratio(p.ratio), _mib(p.peak_memory_mb), p.floor or "—", p.note) for p in self.best()]
        sweep = [(p.task, p.method, p.batch, _num(p.explanations_per_second), _ms(p.seconds), _ms(p.floor_seconds),
                  _ratio(p.ratio), _mib(p.peak_memory_mb), p.repeats, p.note) for p in self.points]
        fmt = {"tablefmt": "github", "disable_numparse": True}
        return "\n".join([
            *header, "", "## Best batch size per (method, task)", "",
            tabulate(best, headers=["task", "method", "best batch", "expl/s", "ms per call", "floor ms", "× floor",
                                    "peak MiB", "floor per instance", "note"], **fmt),
            "", "## Sweep", "",
            tabulate(sweep, headers=["task", "method", "batch", "expl/s", "median ms", "floor ms", "× floor",
                                     "peak MiB", "rounds", "note"], **fmt),
            "",
        ])

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Sweep":
        """The sweep :meth:`to_json` wrote (to re-render its table)."""
        fields = {f for f in Point.__dataclass_fields__}
        points = [Point(**{k: v for k, v in p.items() if k in fields}) for p in data["points"]]
        return cls(data["device"], data["device_name"], data["command"], data["settings"], points, data.get("note", ""))

    def to_json(self) -> dict[str, Any]:
        return {"device": self.device, "device_name": self.device_name, "torch": torch.__version__,
                "command": self.command, "settings": self.settings, "note": self.note,
                "points": [{**asdict(p), "explanations_per_second": p.explanations_per_second, "ratio": p.ratio}
                           for p in self.points],
                "best": [{**asdict(p), "explanations_per_second": p.explanations_per_second, "ratio": p.ratio}
                         for p in self.best()]}


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:.3g}" if seconds < 0.1 else f"{seconds * 1e3:.0f}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


def _mib(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def measure_pair(method: "Method", label: str, task: "Task", batch_sizes: Sequence[int], *, repeats: int,
                 budget_s: float, max_call_s: float, warmup: int = 1, seed: int = 0,
                 clock: str = "wall") -> list[Point]:
    """The sweep of one (method, task) pair over ``batch_sizes`` (see the module docstring)."""
    from .perf.floors import bare_passes, floor_spec  # noqa: PLC0415
    from .perf.timing import interleaved  # noqa: PLC0415

    try:
        method.check(task)
    except NotApplicableError as exc:
        return [Point(label, task.name, 0, note=f"skipped: {exc}")]
    spec = floor_spec(method, task)
    points: list[Point] = []
    for batch in batch_sizes:
        last = points[-1] if points and points[-1].seconds else None
        if last is not None and last.seconds * batch / last.batch > max_call_s:
            expected = last.seconds * batch / last.batch
            note = f"not run: about {expected:.0f} s a call expected, over the {max_call_s:g} s limit"
            points.append(Point(label, task.name, batch, note=note))
            break
        capped = ""
        if batch > len(task.inputs):  # the largest batch: every instance the task has, once
            if points and points[-1].batch >= len(task.inputs):
                break
            batch, capped = len(task.inputs), f"all {len(task.inputs)} instances of the task"
        x = task.inputs[:batch]
        try:
            fns = {"method": lambda x=x: method.explain(task, x, seed=seed)}
            if spec is not None:
                fns["floor"] = bare_passes(task, x, spec)
            timed = interleaved(fns, repeats=repeats, warmup=warmup, device=x.device, budget_s=budget_s, memory=True,
                                clock=clock)
        except Exception as exc:  # noqa: BLE001 - a failing batch size ends the pair's sweep, not the run
            points.append(Point(label, task.name, batch, note=f"{type(exc).__name__}: {str(exc)[:120]}"))
            break
        ours, floor = timed["method"], timed.get("floor")
        point = Point(label, task.name, batch, ours.median, floor.median if floor else None,
                      spec.describe() if spec else "", ours.peak_memory_mb, ours.repeats, capped)
        points.append(point)
        log.info("%s × %s, batch %d: %s expl/s, × floor %s", task.name, label, batch,
                 _num(point.explanations_per_second), _ratio(point.ratio))
    return points


def run_throughput(*, suite: str = "standard", methods: Sequence[str] | str | None = None,
                   tasks: Sequence[str] | str | None = None, device: str = "cpu",
                   batch_sizes: Sequence[int] | None = None, repeats: int = DEFAULT_REPEATS,
                   budget_s: float = DEFAULT_BUDGET_S, max_call_s: float = DEFAULT_MAX_CALL_S,
                   clock: str = "wall", threads: int | None = None, note: str = "") -> Sweep:
    """Sweep the suite's ``methods`` × ``tasks`` on ``device`` (see the module docstring) into a :class:`Sweep`."""
    from .api import make_plan  # noqa: PLC0415
    from .metrics.cost import device_name  # noqa: PLC0415
    from .runner import check_device  # noqa: PLC0415
    from .tasks import load_task  # noqa: PLC0415

    device = check_device(device)
    sizes = tuple(batch_sizes or DEFAULT_BATCH_SIZES[torch.device(device).type])
    if not sizes or any(b < 1 for b in sizes) or list(sizes) != sorted(set(sizes)):
        raise InvalidParameterError(f"batch sizes {list(sizes)}: expected increasing integers >= 1, e.g. 1,4,16,64")
    if repeats < 1 or not budget_s > 0 or not max_call_s > 0:
        raise InvalidParameterError("repeats must be >= 1, budget and max call seconds > 0")
    if clock not in CLOCKS or (clock == "process" and torch.device(device).type != "cpu"):
        raise InvalidParameterError(f"clock {clock!r}: use one of {CLOCKS}; 'process' (CPU seconds) on the cpu only")
    if threads is not None:
        if threads < 1:
            raise InvalidParameterError(f"threads {threads}: expected an integer >= 1")
        torch.set_num_threads(threads)
    plan = make_plan(suite, out=None, methods=methods, tasks=tasks, n_instances=max(sizes))
    command = " ".join([
        "xaibench throughput", f"--suite {suite}", f"--methods {','.join(m.label for m in plan.methods)}",
        f"--tasks {','.join(t.name for t in plan.tasks)}", f"--device {device}",
        f"--batch-sizes {','.join(map(str, sizes))}", f"--repeats {repeats}", f"--budget {budget_s:g}",
        f"--max-call {max_call_s:g}", *([f"--clock {clock}"] if clock != "wall" else []),
        *([f"--threads {threads}"] if threads is not None else []),
    ])
    settings = {"suite": suite, "batch_sizes": list(sizes), "repeats": repeats, "warmup": 1, "budget_s": budget_s,
                "max_call_s": max_call_s, "threads": torch.get_num_threads(), "clock": clock}
    sweep = Sweep(device, device_name(device), command, settings, note=note)
    for ref in plan.tasks:
        task = load_task(ref.dataset, ref.model, ref.target, seed=plan.model_seed, device=device,
                         n_instances=max(sizes), n_background=plan.n_background)
        for entry in plan.methods:
            sweep.points += measure_pair(entry.method, entry.label, task, sizes, repeats=repeats, budget_s=budget_s,
                                         max_call_s=max_call_s, clock=clock)
    return sweep


def ratio_summary(sweep: Sweep, target: float = math.inf) -> list[str]:
    """One line per (method, task): its best batch size's ratio to the floor, marked against ``target``."""
    lines = []
    for p in sweep.best():
        if p.ratio is None:
            lines.append(f"{p.task} × {p.method}: no floor ratio ({p.note or 'no floor defined'})")
            continue
        verdict = "" if math.isinf(target) else (
            "  within target" if p.ratio <= target else f"  ABOVE target {target:g}")
        lines.append(f"{p.task} × {p.method}: best batch {p.batch}, {_num(p.explanations_per_second)} expl/s, "
                     f"{p.ratio:.2f} × floor{verdict}")
    return lines
