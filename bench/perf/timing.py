"""Timing a pass: warm-up, repeats, medians — the one place that does it.

Used by the side-by-side tables (``python -m xaibench.perf``), the throughput sweep
(``xaibench throughput``) and the leaderboard's cost columns (:func:`xaibench.metrics.cost.timed_explain`),
so all three report the same measurement. Machines are shared and noisy: report medians over
repeats, measured in one process, one after the other, and compare as ratios — never a single
absolute time. CUDA work is synchronised before the clock starts and before it stops.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from time import perf_counter, process_time

import torch

from ..memory import PeakMemory


def synchronize(device: torch.device | str | None = None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize()


@dataclass(frozen=True)
class Timing:
    """The timed calls of one callable: ``seconds`` of each, what its first timed call returned
    (``result``), and the peak memory of its first call (``peak_memory_mb``, when asked for; see
    :mod:`xaibench.memory` and :func:`interleaved`)."""

    seconds: tuple[float, ...]
    result: object = None
    peak_memory_mb: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def repeats(self) -> int:
        return len(self.seconds)


CLOCKS = ("wall", "process")
"""``"wall"``: elapsed seconds (``time.perf_counter``), what a user waits; ``"process"``: CPU seconds
of this process, all threads summed (``time.process_time``), steadier on a shared CPU because time
spent waiting for a core is not counted (CPU only: GPU work is not CPU time)."""


def interleaved(fns: Mapping[str, Callable[[], object]], *, repeats: int = 7, warmup: int = 1, device=None,
                budget_s: float = math.inf, before: Callable[[], None] | None = None,
                memory: bool = False, clock: str = "wall") -> dict[str, Timing]:
    """Time each callable in alternation: ``warmup`` untimed rounds, then up to ``repeats`` timed rounds.

    A round calls every callable once, in order. On a shared, noisy machine the load drifts;
    alternating a method with its floor exposes both to the same drift, so their ratio is far
    steadier than with back-to-back blocks of repeats.

    Args:
        repeats: the most timed rounds.
        budget_s: stop after the first round that brings the timed seconds (all callables
            together) to ``budget_s`` or more; at least one round is always timed.
        before: called before every timed call, outside the clock (the runner reseeds there).
        memory: measure the peak memory of each callable's first call (the warm-up call when there is
            one — on a CPU the first call at a size is the one whose allocations grow the process —
            else the first timed call, whose time then includes the probe's small overhead).
        clock: :data:`CLOCKS`; the budget counts the same seconds.
    """
    now = perf_counter if clock == "wall" else process_time if clock == "process" else None
    if now is None:
        raise ValueError(f"clock must be one of {CLOCKS}, got {clock!r}")
    peaks: dict[str, float | None] = dict.fromkeys(fns)
    for round_ in range(warmup):
        for name, fn in fns.items():
            with PeakMemory(device or "cpu") if memory and round_ == 0 else nullcontext() as peak:
                fn()
            if peak is not None:
                peaks[name] = peak.mib
    times: dict[str, list[float]] = {name: [] for name in fns}
    results: dict[str, object] = {}
    spent = 0.0
    for round_ in range(max(1, repeats)):
        for name, fn in fns.items():
            if before is not None:
                before()
            synchronize(device)
            first = memory and round_ == 0 and warmup == 0
            with PeakMemory(device or "cpu") if first else nullcontext() as peak:
                start = now()
                out = fn()
                synchronize(device)
                seconds = now() - start
            times[name].append(seconds)
            spent += seconds
            if round_ == 0:
                results[name] = out
            if peak is not None:
                peaks[name] = peak.mib
        if spent >= budget_s:
            break
    return {name: Timing(tuple(times[name]), results[name], peaks[name]) for name in fns}


def time_calls(fn: Callable[[], object], *, repeats: int = 5, warmup: int = 1, device=None, budget_s: float = math.inf,
               before: Callable[[], None] | None = None, memory: bool = False) -> Timing:
    """One callable timed as :func:`interleaved` times several: warm-up, up to ``repeats`` calls, a time budget."""
    return interleaved({"fn": fn}, repeats=repeats, warmup=warmup, device=device, budget_s=budget_s, before=before,
                       memory=memory)["fn"]


def median_seconds(fn: Callable[[], object], *, repeats: int = 5, warmup: int = 1, device=None) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    return time_calls(fn, repeats=repeats, warmup=warmup, device=device).median


def interleaved_medians(fns: dict[str, Callable[[], object]], *, repeats: int = 7, device=None) -> dict[str, float]:
    """Median seconds of each callable, timed in alternation (see :func:`interleaved`), after one warm-up each."""
    return {name: t.median for name, t in interleaved(fns, repeats=repeats, device=device).items()}


@dataclass
class Comparison:
    """Rows of (name, median seconds) against a floor, printed as a table with ratios."""

    title: str
    floor_name: str
    floor_seconds: float
    rows: list[tuple[str, float, str]] = field(default_factory=list)

    def add(self, name: str, seconds: float, note: str = "") -> None:
        self.rows.append((name, seconds, note))

    def ratio(self, name: str, other: str | None = None) -> float:
        """``seconds(other) / seconds(name)``; with ``other=None``, ``seconds(name) / floor``."""
        times = {n: s for n, s, _ in self.rows}
        return times[name] / self.floor_seconds if other is None else times[other] / times[name]

    def table(self) -> str:
        from tabulate import tabulate  # noqa: PLC0415

        body = [(self.floor_name + " (floor)", f"{self.floor_seconds * 1e3:.1f}", "1.00", "")]
        body += [(n, f"{s * 1e3:.1f}", f"{s / self.floor_seconds:.2f}", note) for n, s, note in self.rows]
        return f"### {self.title}\n\n" + tabulate(body, headers=["", "median ms", "× floor", "note"], tablefmt="github")
