"""Test-only plugins that misbehave on purpose, registered through the public decorators.

Each does one bad thing a third-party plugin can do: hang, call ``sys.exit``, kill its process,
edit the tensors it was given in place, return only NaN; ``toy_slow`` just takes a known time,
so that a run's records are spread over time for the kill tests. They run on the toy task of
:mod:`harness.toys` (register both)."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import ClassVar

import torch
from harness.toys import ToyExact

from xaibench.method import Method, register_method
from xaibench.metric import Metric, register_metric
from xaibench.registries import methods, metrics


@dataclasses.dataclass(frozen=True)
class ToyHang(Method):
    name: ClassVar[str] = "toy_hang"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "test-only method that never returns"

    def explain(self, task, x, *, seed=0):
        while True:
            time.sleep(0.05)


@dataclasses.dataclass(frozen=True)
class ToyExit(Method):
    name: ClassVar[str] = "toy_exit"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "test-only method that calls sys.exit(0)"

    def explain(self, task, x, *, seed=0):
        sys.exit(0)


@dataclasses.dataclass(frozen=True)
class ToyCrash(Method):
    name: ClassVar[str] = "toy_crash"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "test-only method that kills its process (os._exit)"

    def explain(self, task, x, *, seed=0):
        os._exit(3)


@dataclasses.dataclass(frozen=True)
class ToyMutateInput(Method):
    """Exact attributions, but it zeroes the instances it was given (``x.mul_(0)``) afterwards."""

    name: ClassVar[str] = "toy_mutate_input"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "test-only method that edits its input in place"

    def explain(self, task, x, *, seed=0):
        phi = ToyExact().explain(task, x)
        x.mul_(0)
        return phi


@dataclasses.dataclass(frozen=True)
class ToyMutateBackground(Method):
    name: ClassVar[str] = "toy_mutate_background"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "test-only method that edits task.background in place"

    def explain(self, task, x, *, seed=0):
        task.background.add_(1.0)
        return ToyExact().explain(task, x)


@dataclasses.dataclass(frozen=True)
class ToyZeroAttributions(Metric):
    """Scores |φ| and then zeroes the attributions it was given."""

    name: ClassVar[str] = "toy_zero_attributions"
    category: ClassVar[str] = "complexity"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "test-only metric that edits the attributions in place"

    def __call__(self, task, x, attributions, method, *, seed=0):
        value = attributions.abs().reshape(len(x), -1).sum(1)
        attributions.zero_()
        return value


@dataclasses.dataclass(frozen=True)
class ToyAllNaN(Metric):
    name: ClassVar[str] = "toy_all_nan"
    category: ClassVar[str] = "complexity"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "test-only metric returning only NaN"

    def __call__(self, task, x, attributions, method, *, seed=0):
        return torch.full((len(x),), float("nan"))


@dataclasses.dataclass(frozen=True)
class ToySlow(Metric):
    """Σ|φ| + mean(background) after sleeping ``delay`` seconds: spreads a run's records over time,
    and changes when the instances (through φ) or the background are edited."""

    name: ClassVar[str] = "toy_slow"
    category: ClassVar[str] = "complexity"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "test-only metric that takes a known time"
    delay: float = 0.02

    def __call__(self, task, x, attributions, method, *, seed=0):
        time.sleep(self.delay)
        return attributions.abs().reshape(len(x), -1).sum(1) + task.background.mean()


METHODS = (ToyHang, ToyExit, ToyCrash, ToyMutateInput, ToyMutateBackground)
METRICS = (ToyZeroAttributions, ToyAllNaN, ToySlow)


def register() -> None:
    for cls in METHODS:
        register_method(cls)
    for cls in METRICS:
        register_metric(cls)


def unregister() -> None:
    for cls in METHODS:
        methods.remove(cls.name)
    for cls in METRICS:
        metrics.remove(cls.name)
