"""Shared plumbing of the gradient, ablation and control methods.

* :class:`BatchedMethod` explains instances in chunks sized so that the perturbation batch of a
  chunk — ``rows × points_per_instance`` inputs, materialised at once with their gradients — stays
  within ``task.max_batch`` rows. Every draw these methods make is private to its instance
  (:mod:`xaibench.rng`) or shared by all, so chunking never changes a result.
* :func:`reference_point` resolves the ``baseline`` hyper-parameter ("task" or "zero").
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError
from xaibench.method import Method

if TYPE_CHECKING:
    from xaibench.task import Task

BASELINES = ("task", "zero")
"""``"task"``: the task's baseline (its "absent" value); ``"zero"``: the all-zero input."""


def require_choice(method: str, param: str, value: object, choices: tuple) -> None:
    if value not in choices:
        raise InvalidParameterError(f"{method}: {param} must be one of {choices}, got {value!r}")


def require_positive(method: str, param: str, value: int | float, *, minimum: int | float = 1) -> None:
    if value < minimum:
        raise InvalidParameterError(f"{method}: {param} must be at least {minimum}, got {value!r}")


def reference_point(task: "Task", which: str, like: Tensor) -> Tensor:
    """The baseline ``(*F)`` named by ``which`` (see :data:`BASELINES`), on ``like``'s device and dtype."""
    if which == "zero":
        return torch.zeros_like(like[0])
    return task.baseline.to(device=like.device, dtype=like.dtype)


@dataclasses.dataclass(frozen=True)
class BatchedMethod(Method):
    """A method that evaluates ``points_per_instance`` inputs per explained instance.

    Subclasses implement :meth:`explain_chunk`; :meth:`explain` splits the instances into chunks of
    ``max(1, task.max_batch // points_per_instance)`` rows so memory stays bounded.
    """

    @abstractmethod
    def points_per_instance(self, task: "Task") -> int:
        """How many inputs (perturbations, path points, noisy copies) one instance needs."""

    @abstractmethod
    def explain_chunk(self, task: "Task", x: Tensor, *, seed: int) -> Tensor:
        """Attributions for a chunk of instances ``(n, *F)`` → ``(n, *F)``."""

    def explain(self, task: "Task", x: Tensor, *, seed: int = 0) -> Tensor:
        self.check(task)
        rows = max(1, task.max_batch // max(1, self.points_per_instance(task)))
        if x.shape[0] <= rows:
            return self.explain_chunk(task, x, seed=seed)
        return torch.cat([self.explain_chunk(task, x[i : i + rows], seed=seed) for i in range(0, x.shape[0], rows)])
