"""Timing helpers for side-by-side comparisons.

Machines are shared and noisy: report medians over repeats, measured in one process, one after
the other, and compare as ratios — never a single absolute time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch


def synchronize(device: torch.device | str | None = None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def median_seconds(fn: Callable[[], object], *, repeats: int = 5, warmup: int = 1, device=None) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(fns: dict[str, Callable[[], object]], *, repeats: int = 7, device=None) -> dict[str, float]:
    """Median seconds of each callable, timed in alternation (one call of each per round, after one warm-up each).

    On a shared, noisy machine the load drifts; alternating a method with its floor exposes both
    to the same drift, so their ratio is far steadier than with back-to-back blocks of repeats.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


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
